package ingest

import (
	"encoding/binary"
	"net/netip"
	"strings"
)

// fillCodes takes the SMTP basic and enhanced codes from the start of the
// reply when the source did not give them separately. The full reply parser
// lives in analyze; this is only the cheap leading-code read ingest needs.
func fillCodes(ev *Event) {
	if ev.SMTPCode != 0 && ev.EnhancedCode != "" {
		return
	}
	s := ev.Reply
	for _, p := range []string{"smtp;", "SMTP;", "Smtp;"} {
		if strings.HasPrefix(s, p) {
			s = strings.TrimLeft(s[len(p):], " ")
			break
		}
	}
	if len(s) >= 3 && isDigit(s[0]) && isDigit(s[1]) && isDigit(s[2]) && (len(s) == 3 || s[3] == ' ' || s[3] == '-') {
		if ev.SMTPCode == 0 && s[0] >= '2' && s[0] <= '5' {
			ev.SMTPCode = int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0')
		}
		s = strings.TrimLeft(s[3:], " -")
	}
	if ev.EnhancedCode == "" {
		if c, ok := leadingEnhanced(s); ok {
			ev.EnhancedCode = c
		}
	} else if !validEnhanced(ev.EnhancedCode) {
		ev.EnhancedCode = ""
	}
}

// leadingEnhanced reads an RFC 3463 class.subject.detail at the start of s.
func leadingEnhanced(s string) (string, bool) {
	end := 0
	for end < len(s) && (isDigit(s[end]) || s[end] == '.') {
		end++
	}
	if end < len(s) && s[end] != ' ' && s[end] != ';' && s[end] != ',' {
		return "", false
	}
	c := s[:end]
	return c, validEnhanced(c)
}

func validEnhanced(c string) bool {
	// class "." subject "." detail, without strings.Split's allocation:
	// this runs for every record.
	if len(c) < 5 || (c[0] != '2' && c[0] != '4' && c[0] != '5') || c[1] != '.' {
		return false
	}
	n, digits := 0, 0
	for i := 2; i < len(c); i++ {
		switch {
		case isDigit(c[i]):
			digits++
			if digits > 3 {
				return false
			}
		case c[i] == '.' && digits > 0 && n == 0:
			n, digits = 1, 0
		default:
			return false
		}
	}
	return n == 1 && digits > 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// enhancedInt encodes x.y.z as x*100000 + y*1000 + z, the events table's form.
func enhancedInt(c string) (int64, bool) {
	if c == "" {
		return 0, false
	}
	var parts [3]int64
	k := 0
	for i := 0; i < len(c); i++ {
		switch ch := c[i]; {
		case ch == '.':
			k++
			if k > 2 {
				return 0, false
			}
		case isDigit(ch):
			parts[k] = parts[k]*10 + int64(ch-'0')
		default:
			return 0, false
		}
	}
	if k != 2 || parts[1] > 99 || parts[2] > 999 {
		return 0, false
	}
	return parts[0]*100000 + parts[1]*1000 + parts[2], true
}

// isSuccess reports whether the codes say 2xx: such replies are not grouped.
func (e *Event) isSuccess() bool {
	if e.SMTPCode != 0 {
		return e.SMTPCode < 300
	}
	return strings.HasPrefix(e.EnhancedCode, "2.")
}

// normalizeIP accepts an IPv4 or IPv6 address, optionally with a port or in
// brackets, and returns its canonical text.
func normalizeIP(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().String(), true
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "", false
	}
	return a.Unmap().String(), true
}

// replyIPCues are the phrases after which Microsoft quotes the sending IP in
// brackets; the IP is only trusted there, never anywhere in the text.
var replyIPCues = []string{
	"the mail server [", "messages from [", "banned sending ip [", "please try again later from [",
	"banned sender[", "banned sender [", "access denied, [",
}

// ipFromReply finds the sending IP a receiver quoted in its reply, for sources
// (CSV without an ip column, Postfix) that do not log it.
func ipFromReply(reply string) string {
	if len(reply) < 20 || strings.IndexByte(reply, '[') < 0 {
		return ""
	}
	lower := strings.ToLower(reply)
	for _, cue := range replyIPCues {
		i := strings.Index(lower, cue)
		if i < 0 {
			continue
		}
		rest := reply[i+len(cue):]
		j := strings.IndexByte(rest, ']')
		if j <= 0 || j > 45 {
			continue
		}
		if ip, ok := normalizeIP(rest[:j]); ok {
			return ip
		}
	}
	return ""
}

// key builds a dedupe key: FNV-1a over typed parts with separators, folded
// to 63 bits so it fits SQLite's signed integers. Stable across runs and
// platforms, which a dedupe key must be.
type key uint64

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func newKey(kind string) key { return key(fnvOffset).str(kind) }

func (h key) str(s string) key {
	for i := 0; i < len(s); i++ {
		h ^= key(s[i])
		h *= fnvPrime
	}
	h ^= 0xff
	h *= fnvPrime
	return h
}

// bytes hashes a line buffer without converting it to a string, eight
// bytes per step: whole log lines are hashed, and byte-wise FNV was a sixth
// of the Postfix parser's time. The multiply carries low bits up and the
// shift brings high bits down, so every input bit reaches the key.
func (h key) bytes(b []byte) key {
	for len(b) >= 8 {
		h ^= key(binary.LittleEndian.Uint64(b))
		h *= 0x9e3779b97f4a7c15
		h ^= h >> 29
		b = b[8:]
	}
	for _, c := range b {
		h ^= key(c)
		h *= fnvPrime
	}
	h ^= key(len(b)) | 0xff00
	h *= fnvPrime
	return h
}

func (h key) u64(v uint64) key {
	for i := 0; i < 8; i++ {
		h ^= key(byte(v >> (8 * i)))
		h *= fnvPrime
	}
	return h
}

func (h key) sum() uint64 { return uint64(h) >> 1 }

// hashFields keys a record by string parts.
func hashFields(kind string, parts ...string) uint64 {
	h := newKey(kind)
	for _, p := range parts {
		h = h.str(p)
	}
	return h.sum()
}

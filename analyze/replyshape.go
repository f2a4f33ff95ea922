package analyze

import (
	"net/netip"
	"strings"
)

// ReplyShape folds what varies from message to message in an SMTP reply, so
// that replies of one kind count as one group: addresses become <address>,
// IP addresses <ip>, and every word holding a digit (queue ids, MxId values,
// server names, timestamps) "#". It keeps what carries meaning: three-digit
// reply codes (451), enhanced status codes (4.7.650) and short upper-case
// provider codes (S775, AS843, TSS04).
//
// Ingest groups replies by the normalizer it is given; a store written
// without one holds a group per distinct reply, and the report regroups them
// with this. It is idempotent, so applying it to keys that were already
// normalized only merges what differs in such ids.
func ReplyShape(s string) string {
	s = replaceAddresses(s, func(_, _ string) string { return "<address>" })
	fields := strings.Fields(s)
	for i, f := range fields {
		fields[i] = shapeToken(f)
	}
	return strings.Join(fields, " ")
}

// shapeToken shapes one whitespace-separated token, keeping the punctuation
// around it: "[203.0.113.10]" becomes "[<ip>]".
func shapeToken(t string) string {
	a, b := 0, len(t)
	for a < b && !alnumByte(t[a]) && t[a] != '<' {
		a++
	}
	for b > a && !alnumByte(t[b-1]) && t[b-1] != '>' {
		b--
	}
	core := t[a:b]
	if core == "" || core == "<address>" || core == "<ip>" || !containsDigit(core) {
		return t
	}
	if strings.Contains(core, ":") {
		if ip, err := netip.ParseAddr(strings.TrimPrefix(strings.TrimPrefix(core, "IPv6:"), "ipv6:")); err == nil && ip.IsValid() {
			return t[:a] + "<ip>" + t[b:]
		}
	}
	parts := strings.Split(core, "-")
	for i, p := range parts {
		parts[i] = shapePart(p, len(parts) == 1)
	}
	return t[:a] + strings.Join(parts, "-") + t[b:]
}

// shapePart shapes one dash-separated part of a token: "550-5.1.1" keeps
// both its codes. Codes are kept only where they stand alone: "(S775)" is a
// code, the EUR07 in "eop-EUR07.prod.protection.outlook.com" a server name.
func shapePart(p string, whole bool) string {
	if isEnhancedCode(p) {
		return p
	}
	if ip, err := netip.ParseAddr(p); err == nil && ip.Is4() {
		return "<ip>"
	}
	var b strings.Builder
	for i := 0; i < len(p); {
		if !alnumByte(p[i]) {
			b.WriteByte(p[i])
			i++
			continue
		}
		j := i
		for j < len(p) && alnumByte(p[j]) {
			j++
		}
		if w := p[i:j]; !containsDigit(w) || (w == p && keepWord(w, whole)) {
			b.WriteString(w)
		} else {
			b.WriteByte('#')
		}
		i = j
	}
	return b.String()
}

// keepWord is a three-digit reply code or, when it is the whole token, a
// short upper-case code.
func keepWord(w string, whole bool) bool {
	if len(w) == 3 && digitsOnly(w) {
		return true
	}
	if !whole {
		return false
	}
	letters := 0
	for letters < len(w) && w[letters] >= 'A' && w[letters] <= 'Z' {
		letters++
	}
	digits := len(w) - letters
	return letters >= 1 && letters <= 4 && digits >= 1 && digits <= 5 && digitsOnly(w[letters:])
}

// isEnhancedCode matches an RFC 3463 status code: class.subject.detail.
func isEnhancedCode(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || strings.IndexByte("245", parts[0][0]) < 0 {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) == 0 || len(p) > 3 || !digitsOnly(p) {
			return false
		}
	}
	return true
}

func alnumByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func containsDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}

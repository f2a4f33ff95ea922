package checks

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// macroToken is one piece of an RFC 7208 section 7 macro-string: a literal
// run, or one %{...} expansion.
type macroToken struct {
	literal string // used when letter == 0
	letter  byte   // lower-case macro letter
	upper   bool   // URL-escape the expansion (7.3)
	digits  int    // keep this many right-hand parts; 0 = all
	reverse bool
	delims  string // split characters; "" = "."
}

// Where a macro-string appears decides which letters it may use: c, r and t
// only in explanation text (RFC 7208 7.2).
type macroContext int

const (
	macroDomain macroContext = iota
	macroExplain
)

const maxMacroDigits = 128 // more parts than a 253-octet name can have

// parseMacroString tokenizes s and reports the first syntax error.
func parseMacroString(s string, mc macroContext) ([]macroToken, error) {
	var toks []macroToken
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			toks = append(toks, macroToken{literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			if c < 0x21 || c > 0x7e {
				if !(mc == macroExplain && c == ' ') {
					return nil, fmt.Errorf("character %q is not allowed in a macro-string", c)
				}
			}
			lit.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return nil, errors.New(`"%" at the end of a macro-string`)
		}
		i++
		switch s[i] {
		case '%':
			lit.WriteByte('%')
		case '_':
			lit.WriteByte(' ')
		case '-':
			lit.WriteString("%20")
		case '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return nil, errors.New(`unterminated "%{"`)
			}
			tok, err := parseMacroExpand(s[i+1:i+end], mc)
			if err != nil {
				return nil, err
			}
			flush()
			toks = append(toks, tok)
			i += end
		default:
			return nil, fmt.Errorf(`"%%" followed by %q: only "{", "%%", "_" or "-" may follow`, s[i])
		}
	}
	flush()
	return toks, nil
}

// parseMacroExpand parses the inside of %{...}: letter, digits, "r", delimiters.
func parseMacroExpand(body string, mc macroContext) (macroToken, error) {
	if body == "" {
		return macroToken{}, errors.New(`empty macro "%{}"`)
	}
	tok := macroToken{}
	l := body[0]
	lower := l | 0x20
	switch lower {
	case 's', 'l', 'o', 'd', 'i', 'p', 'h', 'v':
	case 'c', 'r', 't':
		if mc != macroExplain {
			return tok, fmt.Errorf("macro letter %q is allowed only in explanation text", l)
		}
	default:
		return tok, fmt.Errorf("unknown macro letter %q", l)
	}
	tok.letter = lower
	tok.upper = l >= 'A' && l <= 'Z'
	rest := body[1:]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	if j > 0 {
		n, err := strconv.Atoi(rest[:j])
		if err != nil || n > maxMacroDigits {
			n = maxMacroDigits
		}
		if n == 0 {
			return tok, errors.New("macro transformer digit 0 is not allowed (RFC 7208 7.3)")
		}
		tok.digits = n
	}
	rest = rest[j:]
	if rest != "" && (rest[0] == 'r' || rest[0] == 'R') {
		tok.reverse = true
		rest = rest[1:]
	}
	for k := 0; k < len(rest); k++ {
		if !strings.ContainsRune(".-+,/_=", rune(rest[k])) {
			return tok, fmt.Errorf("invalid macro delimiter %q", rest[k])
		}
	}
	tok.delims = rest
	return tok, nil
}

// endsWithMacro reports whether the last token is a macro-expand; "%%",
// "%_" and "%-" count too (RFC 7208 7.1 domain-end, macro-expand).
func endsWithMacro(s string) bool {
	for _, suffix := range []string{"%%", "%_", "%-"} {
		if strings.HasSuffix(s, suffix) && !escapedPercent(s, len(s)-2) {
			return true
		}
	}
	if strings.HasSuffix(s, "}") {
		i := strings.LastIndex(s, "%{")
		return i >= 0 && !escapedPercent(s, i) && !strings.Contains(s[i:len(s)-1], "}")
	}
	return false
}

// escapedPercent reports whether the "%" at s[i] is the second half of "%%".
func escapedPercent(s string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && s[j] == '%'; j-- {
		n++
	}
	return n%2 == 1
}

// validDomainSpec checks the RFC 7208 7.1 domain-spec grammar: a macro-string
// that ends in "." toplabel [ "." ] or in a macro-expand.
func validDomainSpec(s string) error {
	if s == "" {
		return errors.New("empty domain-spec")
	}
	if _, err := parseMacroString(s, macroDomain); err != nil {
		return err
	}
	if endsWithMacro(s) {
		return nil
	}
	t := strings.TrimSuffix(s, ".")
	i := strings.LastIndexByte(t, '.')
	if i < 0 {
		return fmt.Errorf("domain-spec %q has no dot before its top label", s)
	}
	if !validTopLabel(t[i+1:]) {
		return fmt.Errorf("domain-spec %q ends in an invalid top label %q", s, t[i+1:])
	}
	return nil
}

// validTopLabel: ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum ).
func validTopLabel(l string) bool {
	if l == "" {
		return false
	}
	alpha, dash := false, false
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			alpha = true
		case c >= '0' && c <= '9':
		case c == '-':
			dash = true
		default:
			return false
		}
	}
	if dash {
		return l[0] != '-' && l[len(l)-1] != '-'
	}
	return alpha
}

// macroEnv holds the values macros expand to.
type macroEnv struct {
	sender       string // s
	local        string // l
	senderDomain string // o
	domain       string // d
	ip           netip.Addr
	helo         string // h
	receiver     string // r
	now          time.Time
	validated    func() string // p, computed only when used
}

func (env *macroEnv) value(letter byte) string {
	switch letter {
	case 's':
		return env.sender
	case 'l':
		return env.local
	case 'o':
		return env.senderDomain
	case 'd':
		return env.domain
	case 'i':
		return dottedIP(env.ip)
	case 'c':
		return env.ip.String()
	case 'v':
		if env.ip.Is4() {
			return "in-addr"
		}
		return "ip6"
	case 'h':
		return env.helo
	case 'r':
		if env.receiver == "" {
			return "unknown"
		}
		return env.receiver
	case 't':
		return strconv.FormatInt(env.now.Unix(), 10)
	case 'p':
		if env.validated == nil {
			return "unknown"
		}
		return env.validated()
	}
	return ""
}

// dottedIP is the "i" macro: dotted quad, or 32 dot-separated nibbles for
// IPv6. The nibbles are upper-case like the OpenSPF suite expects in
// explanation text; DNS does not care about case.
func dottedIP(ip netip.Addr) string {
	if ip.Is4() {
		return ip.String()
	}
	b := ip.As16()
	const hexdigits = "0123456789ABCDEF"
	out := make([]byte, 0, 63)
	for i, x := range b {
		if i > 0 {
			out = append(out, '.')
		}
		out = append(out, hexdigits[x>>4], '.', hexdigits[x&0xf])
	}
	return string(out)
}

// expand renders tokens with env.
func expandMacros(toks []macroToken, env *macroEnv) string {
	var b strings.Builder
	for _, t := range toks {
		if t.letter == 0 {
			b.WriteString(t.literal)
			continue
		}
		v := env.value(t.letter)
		delims := t.delims
		if delims == "" {
			delims = "."
		}
		parts := splitAny(v, delims)
		if t.reverse {
			slices.Reverse(parts)
		}
		if t.digits > 0 && t.digits < len(parts) {
			parts = parts[len(parts)-t.digits:]
		}
		s := strings.Join(parts, ".")
		if t.upper {
			s = urlEscape(s)
		}
		b.WriteString(s)
	}
	return b.String()
}

func splitAny(s, delims string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(delims, s[i]) >= 0 {
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// urlEscape escapes every octet outside RFC 3986 "unreserved" (RFC 7208 7.3).
func urlEscape(s string) string {
	const hexdigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdigits[c>>4])
		b.WriteByte(hexdigits[c&0xf])
	}
	return b.String()
}

// ExpandSPFMacros expands an SPF macro-string as it would appear in a
// domain-spec (explain=false) or in exp= text (explain=true). It is exported
// for tools and fuzzing; p expands to "unknown" here.
func ExpandSPFMacros(s string, explain bool, ip netip.Addr, sender, helo, domain string) (string, error) {
	mc := macroDomain
	if explain {
		mc = macroExplain
	}
	toks, err := parseMacroString(s, mc)
	if err != nil {
		return "", fmt.Errorf("spf macro: %w", err)
	}
	local, senderDomain := splitSender(sender)
	env := &macroEnv{sender: sender, local: local, senderDomain: senderDomain, domain: domain, ip: ip.Unmap(), helo: helo}
	return expandMacros(toks, env), nil
}

// splitSender splits local-part and domain at the last "@"; an empty local
// part becomes "postmaster" (RFC 7208 4.3).
func splitSender(sender string) (local, domain string) {
	i := strings.LastIndexByte(sender, '@')
	if i < 0 {
		return "postmaster", sender
	}
	local, domain = sender[:i], sender[i+1:]
	if local == "" {
		local = "postmaster"
	}
	return local, domain
}

// targetName turns an expanded domain-spec into a query name: trailing dot
// dropped, and names over 253 octets shortened from the left a label at a
// time (RFC 7208 7.3).
func targetName(s string) string {
	s = strings.TrimSuffix(s, ".")
	for len(s) > 253 {
		i := strings.IndexByte(s, '.')
		if i < 0 {
			return s
		}
		s = s[i+1:]
	}
	return s
}

package checks

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// SPFResult is one of the RFC 7208 section 2.6 results.
type SPFResult string

// The seven SPF results.
const (
	SPFPass      SPFResult = "pass"
	SPFFail      SPFResult = "fail"
	SPFSoftFail  SPFResult = "softfail"
	SPFNeutral   SPFResult = "neutral"
	SPFNone      SPFResult = "none"
	SPFPermError SPFResult = "permerror"
	SPFTempError SPFResult = "temperror"
)

// spfTerm is one mechanism or modifier of a parsed record.
type spfTerm struct {
	raw string
	// mechanism
	qualifier byte   // '+', '-', '~', '?'
	mech      string // all include a mx ptr ip4 ip6 exists; "" for a modifier
	domain    string // unexpanded domain-spec, "" when absent
	prefix    netip.Prefix
	cidr4     int // -1 when absent
	cidr6     int
	// modifier
	name  string // lower-case modifier name
	value string
}

// lookupTerm reports whether evaluating the term costs one of the 10 DNS
// lookups (RFC 7208 4.6.4).
func (t spfTerm) lookupTerm() bool {
	switch t.mech {
	case "include", "a", "mx", "ptr", "exists":
		return true
	}
	return t.name == "redirect"
}

func (t spfTerm) result() SPFResult {
	switch t.qualifier {
	case '-':
		return SPFFail
	case '~':
		return SPFSoftFail
	case '?':
		return SPFNeutral
	}
	return SPFPass
}

// SPFRecord is a parsed "v=spf1" record.
type SPFRecord struct {
	Raw        string
	directives []spfTerm
	modifiers  []spfTerm
	redirect   *spfTerm
	exp        *spfTerm
}

// SPFSyntaxError is a permerror found while parsing a record.
type SPFSyntaxError struct {
	Term   string
	Reason string
}

func (e *SPFSyntaxError) Error() string {
	if e.Term == "" {
		return "spf syntax: " + e.Reason
	}
	return fmt.Sprintf("spf syntax: %q: %s", e.Term, e.Reason)
}

// isSPFRecord reports whether a TXT string is an SPF version 1 record: it
// starts with "v=spf1" (any case) followed by a space or the end (RFC 7208 4.5).
func isSPFRecord(s string) bool {
	if len(s) < 6 || !strings.EqualFold(s[:6], "v=spf1") {
		return false
	}
	return len(s) == 6 || s[6] == ' '
}

// ParseSPF parses a whole record; any syntax error anywhere is reported,
// since RFC 7208 4.6 makes the whole record a permerror.
func ParseSPF(record string) (*SPFRecord, error) {
	if !isSPFRecord(record) {
		return nil, &SPFSyntaxError{Reason: `record does not start with "v=spf1"`}
	}
	for i := 0; i < len(record); i++ {
		if c := record[i]; c < 0x20 || c > 0x7e {
			return nil, &SPFSyntaxError{Reason: fmt.Sprintf("byte 0x%02x at offset %d: records are printable 7-bit ASCII separated by spaces (RFC 7208 3.1, 4.6.1)", c, i)}
		}
	}
	rec := &SPFRecord{Raw: record}
	for _, raw := range strings.Split(record[6:], " ") {
		if raw == "" {
			continue
		}
		t, err := parseTerm(raw)
		if err != nil {
			return nil, &SPFSyntaxError{Term: raw, Reason: err.Error()}
		}
		if t.mech != "" {
			rec.directives = append(rec.directives, t)
			continue
		}
		switch t.name {
		case "redirect":
			if rec.redirect != nil {
				return nil, &SPFSyntaxError{Term: raw, Reason: "redirect appears more than once (RFC 7208 6)"}
			}
			rec.redirect = &t
		case "exp":
			if rec.exp != nil {
				return nil, &SPFSyntaxError{Term: raw, Reason: "exp appears more than once (RFC 7208 6)"}
			}
			rec.exp = &t
		}
		rec.modifiers = append(rec.modifiers, t)
	}
	return rec, nil
}

// modifierName returns the name of a name "=" term, or "" when the term is
// not a modifier.
func modifierName(raw string) string {
	eq := strings.IndexByte(raw, '=')
	if eq <= 0 {
		return ""
	}
	name := raw[:eq]
	c := name[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return ""
	}
	for i := 1; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return ""
		}
	}
	return name
}

func parseTerm(raw string) (spfTerm, error) {
	t := spfTerm{raw: raw, cidr4: -1, cidr6: -1}
	if name := modifierName(raw); name != "" {
		t.name = strings.ToLower(name)
		t.value = raw[len(name)+1:]
		switch t.name {
		case "redirect", "exp":
			if err := validDomainSpec(t.value); err != nil {
				return t, err
			}
		default:
			if _, err := parseMacroString(t.value, macroDomain); err != nil {
				return t, err
			}
		}
		return t, nil
	}
	if strings.HasPrefix(raw, "=") {
		return t, fmt.Errorf("modifier without a name")
	}

	body := raw
	t.qualifier = '+'
	if strings.IndexByte("+-~?", body[0]) >= 0 {
		t.qualifier = body[0]
		body = body[1:]
	}
	n := 0
	for n < len(body) && body[n] != ':' && body[n] != '/' {
		n++
	}
	mech, rest := strings.ToLower(body[:n]), body[n:]
	t.mech = mech
	switch mech {
	case "all":
		if rest != "" {
			return t, fmt.Errorf(`"all" takes no argument`)
		}
	case "include", "exists":
		if !strings.HasPrefix(rest, ":") {
			return t, fmt.Errorf("%q needs \":\" and a domain", mech)
		}
		t.domain = rest[1:]
		if err := validDomainSpec(t.domain); err != nil {
			return t, err
		}
	case "a", "mx":
		arg := rest
		if strings.HasPrefix(arg, ":") {
			arg = arg[1:]
			if arg == "" {
				return t, fmt.Errorf("%q with \":\" needs a domain", mech)
			}
		} else if arg != "" && arg[0] != '/' {
			return t, fmt.Errorf("unexpected %q after %q", arg, mech)
		}
		domain, c4, c6, err := splitDualCIDR(arg)
		if err != nil {
			return t, err
		}
		t.cidr4, t.cidr6 = c4, c6
		if strings.HasPrefix(rest, ":") {
			if err := validDomainSpec(domain); err != nil {
				return t, err
			}
			t.domain = domain
		} else if domain != "" {
			return t, fmt.Errorf("unexpected %q after %q", domain, mech)
		}
	case "ptr":
		if rest == "" {
			break
		}
		if !strings.HasPrefix(rest, ":") {
			return t, fmt.Errorf(`"ptr" takes no CIDR length`)
		}
		t.domain = rest[1:]
		if err := validDomainSpec(t.domain); err != nil {
			return t, err
		}
	case "ip4", "ip6":
		if !strings.HasPrefix(rest, ":") {
			return t, fmt.Errorf("%q needs \":\" and an address", mech)
		}
		p, err := parseIPNetwork(rest[1:], mech == "ip6")
		if err != nil {
			return t, err
		}
		t.prefix = p
	default:
		return t, fmt.Errorf("unknown mechanism %q", body[:n])
	}
	return t, nil
}

// splitDualCIDR removes a trailing [ "/" ip4-cidr ] [ "//" ip6-cidr ] from s.
func splitDualCIDR(s string) (rest string, c4, c6 int, err error) {
	c4, c6 = -1, -1
	if i := strings.LastIndex(s, "//"); i >= 0 && allDigits(s[i+2:]) {
		if c6, err = cidrLength(s[i+2:], 128); err != nil {
			return "", 0, 0, err
		}
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '/'); i >= 0 && allDigits(s[i+1:]) {
		if c4, err = cidrLength(s[i+1:], 32); err != nil {
			return "", 0, 0, err
		}
		s = s[:i]
	}
	return s, c4, c6, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// cidrLength parses a prefix length: no leading zeros, at most max.
func cidrLength(s string, max int) (int, error) {
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("CIDR length %q has a leading zero", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > max {
		return 0, fmt.Errorf("CIDR length /%s is out of range 0-%d", s, max)
	}
	return n, nil
}

// parseIPNetwork parses ip4-network/ip6-network with an optional length.
func parseIPNetwork(s string, v6 bool) (netip.Prefix, error) {
	addr, length := s, ""
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		addr, length = s[:i], s[i+1:]
		if !allDigits(length) {
			return netip.Prefix{}, fmt.Errorf("bad CIDR length in %q", s)
		}
	}
	if strings.ContainsAny(addr, "%/") {
		return netip.Prefix{}, fmt.Errorf("bad address %q", addr)
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad address %q", addr)
	}
	bits := 32
	if v6 {
		bits = 128
		if a.Is4() {
			return netip.Prefix{}, fmt.Errorf("ip6 needs an IPv6 address, not %q", addr)
		}
	} else if !a.Is4() {
		return netip.Prefix{}, fmt.Errorf("ip4 needs an IPv4 address, not %q", addr)
	}
	if length != "" {
		if bits, err = cidrLength(length, bits); err != nil {
			return netip.Prefix{}, err
		}
	}
	return a.Prefix(bits)
}

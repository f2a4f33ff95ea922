package checks

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// RDNSResult is the reverse DNS of one sending IP.
type RDNSResult struct {
	IP          string   `json:"ip"`
	ReverseName string   `json:"reverse_name"`
	Status      Status   `json:"status"`
	PTR         []string `json:"ptr,omitempty"`
	// Confirmed are the PTR names whose A/AAAA records include the IP
	// (forward-confirmed reverse DNS).
	Confirmed []string `json:"confirmed,omitempty"`
	// Generic maps a PTR name to why it looks like an ISP's generic or
	// dynamic name.
	Generic     map[string]string `json:"generic,omitempty"`
	HELO        string            `json:"helo,omitempty"`
	HELOMatches bool              `json:"helo_matches,omitempty"` // HELO is one of the confirmed names
	Findings    []Finding         `json:"findings"`
}

// genericKeywords mark names ISPs give to end-user or dynamic ranges.
func genericKeywords() []string {
	return []string{"dynamic", "dyn", "dhcp", "dsl", "adsl", "vdsl", "xdsl", "pool", "cable", "ppp", "pppoe",
		"dial", "dialup", "dialin", "broadband", "cust", "customer", "client", "clients", "res", "resident",
		"residential", "user", "users", "home", "mobile", "wireless", "ftth", "fttx", "fttc", "static", "unassigned", "generic"}
}

// GenericReason says why a PTR name looks generic for ip, or "".
func GenericReason(name string, ip netip.Addr) string {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	sep := func(r rune) bool { return r == '.' || r == '-' || r == '_' }
	tokens := strings.FieldsFunc(name, sep)
	// the zone part (last two labels) is the ISP's name, not a hint
	labels := strings.Split(name, ".")
	host := tokens
	if len(labels) > 2 {
		host = strings.FieldsFunc(strings.Join(labels[:len(labels)-2], "."), sep)
	}
	// "host45" and "pool12" hide numbers in words: look at letter and digit runs too
	fine, hostFine := splitRuns(tokens), splitRuns(host)
	ip = ip.Unmap()
	if ip.Is4() {
		b := ip.As4()
		oct := []string{strconv.Itoa(int(b[0])), strconv.Itoa(int(b[1])), strconv.Itoa(int(b[2])), strconv.Itoa(int(b[3]))}
		rev := []string{oct[3], oct[2], oct[1], oct[0]}
		for _, seq := range [][]string{oct, rev} {
			if containsRun(fine, seq) {
				return "contains the address " + strings.Join(seq, "-")
			}
		}
		padded := fmt.Sprintf("%03d%03d%03d%03d", b[0], b[1], b[2], b[3])
		hexed := fmt.Sprintf("%02x%02x%02x%02x", b[0], b[1], b[2], b[3])
		for _, t := range tokens {
			if strings.Contains(t, padded) || strings.Contains(t, hexed) {
				return "contains the address in the form " + t
			}
		}
	} else {
		b := ip.As16()
		var groups []string
		for i := 0; i < 16; i += 2 {
			groups = append(groups, strconv.FormatUint(uint64(b[i])<<8|uint64(b[i+1]), 16))
		}
		hexed := fmt.Sprintf("%x", b[8:])
		for _, t := range tokens {
			if len(t) >= 16 && strings.Contains(t, hexed) {
				return "contains the interface identifier " + hexed
			}
		}
		if containsRun(tokens, groups[4:]) {
			return "contains the address groups " + strings.Join(groups[4:], "-")
		}
	}
	for _, t := range hostFine {
		for _, k := range genericKeywords() {
			if t == k {
				return "has the word \"" + k + "\""
			}
		}
	}
	return ""
}

// splitRuns cuts tokens into runs of letters and runs of digits.
func splitRuns(tokens []string) []string {
	var out []string
	for _, t := range tokens {
		start := 0
		for i := 1; i <= len(t); i++ {
			if i == len(t) || isDigitByte(t[i]) != isDigitByte(t[i-1]) {
				out = append(out, t[start:i])
				start = i
			}
		}
	}
	return out
}

func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }

func containsRun(tokens, seq []string) bool {
	for i := 0; i+len(seq) <= len(tokens); i++ {
		if slices.Equal(tokens[i:i+len(seq)], seq) {
			return true
		}
	}
	return false
}

// InspectRDNS checks the PTR of ip: present, forward-confirmed, not
// generic-looking, and matching helo when given.
func InspectRDNS(ctx context.Context, r Resolver, ip netip.Addr, helo string) RDNSResult {
	ip = ip.Unmap()
	res := RDNSResult{IP: ip.String(), ReverseName: reverseName(ip), HELO: helo}
	f := &findings{check: CheckRDNS}
	subject := res.IP
	ans, err := r.Lookup(ctx, res.ReverseName, TypePTR)
	res.Status = ans.Status
	ev := ans.Evidence()
	switch {
	case err != nil:
		f.add("rdns.dns_error", SeverityWarn, subject, "the PTR of %s could not be read: %s", res.IP, ans.Status).with(ev...)
		res.Findings = f.list
		return res
	case ans.Status.Void():
		f.add("rdns.missing", SeverityFail, subject, "%s has no PTR record; Microsoft refuses mail from hosts without valid reverse DNS and Google requires it", res.IP).with(ev...)
		res.Findings = f.list
		return res
	}
	for _, rec := range ans.Records {
		res.PTR = append(res.PTR, rec.Target)
	}
	if len(res.PTR) > 1 {
		f.add("rdns.multiple_ptr", SeverityInfo, subject, "%s has %d PTR records; receivers may pick any of them", res.IP, len(res.PTR)).with(ev...)
	}
	qt := TypeA
	if !ip.Is4() {
		qt = TypeAAAA
	}
	var fwdEvidence []string
	for _, name := range res.PTR {
		a, err := r.Lookup(ctx, name, qt)
		fwdEvidence = append(fwdEvidence, a.Evidence()...)
		if err != nil {
			continue
		}
		if slices.ContainsFunc(a.Addrs(), func(x netip.Addr) bool { return x.Unmap() == ip }) {
			res.Confirmed = append(res.Confirmed, name)
		}
		if why := GenericReason(name, ip); why != "" {
			if res.Generic == nil {
				res.Generic = map[string]string{}
			}
			res.Generic[name] = why
		}
	}
	ev = append(ev, fwdEvidence...)
	if len(res.Confirmed) == 0 {
		f.add("rdns.not_confirmed", SeverityFail, subject, "the PTR name(s) of %s (%s) do not resolve back to it: forward-confirmed reverse DNS fails", res.IP, strings.Join(res.PTR, ", ")).with(ev...)
	} else {
		f.add("rdns.confirmed", SeverityOK, subject, "%s has forward-confirmed reverse DNS: %s", res.IP, strings.Join(res.Confirmed, ", ")).with(ev...)
	}
	for _, name := range res.PTR {
		if why, ok := res.Generic[name]; ok {
			f.add("rdns.generic", SeverityWarn, subject, "PTR %s looks like a generic or dynamic address name (%s); Microsoft may refuse such hosts (DY-001) and filters score them", name, why).with(ev...)
		}
	}
	if helo != "" {
		h := strings.TrimSuffix(helo, ".")
		for _, c := range res.Confirmed {
			if strings.EqualFold(strings.TrimSuffix(c, "."), h) {
				res.HELOMatches = true
			}
		}
		if res.HELOMatches {
			f.add("rdns.helo_match", SeverityOK, subject, "HELO %s matches the PTR of %s", helo, res.IP)
		} else {
			hf, err := r.Lookup(ctx, h, qt)
			resolves := err == nil && slices.ContainsFunc(hf.Addrs(), func(x netip.Addr) bool { return x.Unmap() == ip })
			if resolves {
				f.add("rdns.helo_mismatch", SeverityWarn, subject, "HELO %s resolves to %s but is not its PTR name (%s)", helo, res.IP, strings.Join(res.PTR, ", ")).with(hf.Evidence()...)
			} else {
				f.add("rdns.helo_mismatch", SeverityWarn, subject, "HELO %s neither matches the PTR of %s (%s) nor resolves to it", helo, res.IP, strings.Join(res.PTR, ", ")).with(hf.Evidence()...)
			}
		}
	}
	res.Findings = f.list
	return res
}

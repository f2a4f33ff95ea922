package checks

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// DNSBLListing is the answer of one block list for one IP.
type DNSBLListing struct {
	Zone  string `json:"zone"`
	Name  string `json:"name"`
	Query string `json:"query,omitempty"`
	// Status is listed, not_listed, refused (the list would not answer
	// this resolver, e.g. Spamhaus 127.255.255.254 for public resolvers),
	// error, unhealthy (the zone failed its RFC 5782 test points) or
	// skipped (no IPv6 support).
	Status   string   `json:"status"`
	Codes    []string `json:"codes,omitempty"`
	Meanings []string `json:"meanings,omitempty"`
	Reason   string   `json:"reason,omitempty"` // the list's TXT explanation
	Detail   string   `json:"detail,omitempty"`
}

// DNSBLResult groups the listings of one IP.
type DNSBLResult struct {
	IP       string         `json:"ip"`
	Listings []DNSBLListing `json:"listings"`
}

// DNSBLHealth is the RFC 5782 section 5 test of one zone: 127.0.0.2 must be
// listed and 127.0.0.1 must not.
type DNSBLHealth struct {
	Zone    string `json:"zone"`
	Healthy bool   `json:"healthy"`
	Detail  string `json:"detail,omitempty"`
}

// DNSBLReport is the block-list part of a report.
type DNSBLReport struct {
	Zones    []DNSBLZone   `json:"zones"`
	Health   []DNSBLHealth `json:"health"`
	Results  []DNSBLResult `json:"results"`
	Findings []Finding     `json:"findings"`
}

// dnsblName is the query name: reversed octets, or reversed nibbles for
// IPv6 (RFC 5782 2.1, 2.4), under the zone.
func dnsblName(ip netip.Addr, zone string) string {
	r := reverseName(ip)
	r = strings.TrimSuffix(strings.TrimSuffix(r, "in-addr.arpa"), "ip6.arpa")
	return r + zone
}

// classifyDNSBLAnswer decodes A records from a list.
func classifyDNSBLAnswer(z DNSBLZone, addrs []netip.Addr) (status string, codes, meanings []string, detail string) {
	refused := netip.MustParsePrefix("127.255.255.0/24")
	loop := netip.MustParsePrefix("127.0.0.0/8")
	status = "listed"
	for _, a := range addrs {
		s := a.String()
		codes = append(codes, s)
		switch {
		case refused.Contains(a):
			status = "refused"
			detail = refusedMeaning(s)
		case !loop.Contains(a):
			// a resolver that answers everything (ISP "search" pages) or a
			// dead list's wildcard: not a listing
			status = "error"
			detail = "answer " + s + " is outside 127.0.0.0/8: the resolver or the list is broken"
		default:
			m := z.Codes[s]
			if m == "" {
				m = "listed (code " + s + ")"
			}
			meanings = append(meanings, m)
		}
	}
	if status != "listed" {
		meanings = nil
	}
	return status, codes, meanings, detail
}

func refusedMeaning(code string) string {
	switch code {
	case "127.255.255.252":
		return "127.255.255.252: the zone name is mistyped"
	case "127.255.255.254":
		return "127.255.255.254: queries through public or open resolvers are refused; use your own resolver (--resolver)"
	case "127.255.255.255":
		return "127.255.255.255: too many queries from this resolver"
	}
	return code + ": the list refused the query"
}

// zoneHealth runs the RFC 5782 test points against a zone.
func zoneHealth(ctx context.Context, r Resolver, z DNSBLZone) DNSBLHealth {
	h := DNSBLHealth{Zone: z.Zone}
	pos, err := r.Lookup(ctx, "2.0.0.127."+z.Zone, TypeA)
	if err != nil {
		h.Detail = "test point 127.0.0.2: " + string(pos.Status)
		return h
	}
	st, _, _, detail := classifyDNSBLAnswer(z, pos.Addrs())
	if pos.Status.Void() || st != "listed" {
		if detail == "" {
			detail = "test point 127.0.0.2 is not listed"
		}
		h.Detail = detail
		return h
	}
	neg, err := r.Lookup(ctx, "1.0.0.127."+z.Zone, TypeA)
	if err != nil {
		h.Detail = "test point 127.0.0.1: " + string(neg.Status)
		return h
	}
	if !neg.Status.Void() {
		h.Detail = "test point 127.0.0.1 is listed: the zone lists everything"
		return h
	}
	h.Healthy = true
	return h
}

// InspectDNSBL queries every zone for every IP, after testing each zone.
func InspectDNSBL(ctx context.Context, r Resolver, ips []netip.Addr, zones []DNSBLZone) *DNSBLReport {
	rep := &DNSBLReport{Zones: zones}
	f := &findings{check: CheckDNSBL}
	healthy := map[string]bool{}
	for _, z := range zones {
		h := zoneHealth(ctx, r, z)
		rep.Health = append(rep.Health, h)
		healthy[z.Zone] = h.Healthy
		if !h.Healthy {
			f.add("dnsbl.zone_unhealthy", SeverityWarn, z.Zone, "%s failed its RFC 5782 test (%s); its answers are not used", z.Zone, h.Detail)
		}
	}
	for _, ip := range ips {
		ip = ip.Unmap()
		res := DNSBLResult{IP: ip.String()}
		var clean []string
		for _, z := range zones {
			l := DNSBLListing{Zone: z.Zone, Name: z.Name}
			switch {
			case !ip.Is4() && !z.IPv6:
				l.Status = "skipped"
				l.Detail = "the list does not answer IPv6 queries"
			case !healthy[z.Zone]:
				l.Status = "unhealthy"
			default:
				l = queryDNSBL(ctx, r, ip, z)
			}
			res.Listings = append(res.Listings, l)
			subject := res.IP
			switch l.Status {
			case "listed":
				fd := f.add("dnsbl.listed", SeverityFail, subject, "%s is listed on %s (%s): %s", res.IP, z.Name, z.Zone, strings.Join(l.Meanings, "; "))
				fd.with(l.Query + " A " + strings.Join(l.Codes, " "))
				if l.Reason != "" {
					fd.with(l.Query + " TXT " + l.Reason)
				}
			case "refused":
				f.add("dnsbl.refused", SeverityWarn, subject, "%s refused the query for %s: %s", z.Zone, res.IP, l.Detail).with(l.Query + " A " + strings.Join(l.Codes, " "))
			case "error":
				f.add("dnsbl.error", SeverityWarn, subject, "%s could not be checked for %s: %s", z.Zone, res.IP, l.Detail).with(l.Query)
			case "not_listed":
				clean = append(clean, z.Zone)
			}
		}
		if len(clean) > 0 {
			f.add("dnsbl.not_listed", SeverityOK, res.IP, "%s is not listed on %d list(s): %s", res.IP, len(clean), strings.Join(clean, ", "))
		}
		if !ip.Is4() && !slices.ContainsFunc(zones, func(z DNSBLZone) bool { return z.IPv6 }) {
			f.add("dnsbl.ipv6_unsupported", SeverityInfo, res.IP, "none of the configured lists answers IPv6 queries")
		}
		rep.Results = append(rep.Results, res)
	}
	rep.Findings = f.list
	return rep
}

func queryDNSBL(ctx context.Context, r Resolver, ip netip.Addr, z DNSBLZone) DNSBLListing {
	l := DNSBLListing{Zone: z.Zone, Name: z.Name, Query: dnsblName(ip, z.Zone)}
	ans, err := r.Lookup(ctx, l.Query, TypeA)
	switch {
	case err != nil:
		l.Status, l.Detail = "error", fmt.Sprintf("%s: %s", ans.Status, ans.Detail)
		return l
	case ans.Status.Void():
		l.Status = "not_listed"
		return l
	}
	l.Status, l.Codes, l.Meanings, l.Detail = classifyDNSBLAnswer(z, ans.Addrs())
	if l.Status == "listed" {
		if txt, err := r.Lookup(ctx, l.Query, TypeTXT); err == nil {
			l.Reason = strings.Join(txt.Texts(), " ")
		}
	}
	return l
}

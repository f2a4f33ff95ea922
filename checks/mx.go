package checks

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// MXHost is one MX target and what it resolves to.
type MXHost struct {
	Host       string         `json:"host"`
	Preference uint16         `json:"preference"`
	Addrs      []string       `json:"addrs,omitempty"`
	CNAME      bool           `json:"cname,omitempty"`
	System     ReceiverSystem `json:"system"`
}

// PolicyRecord is an MTA-STS or TLS-RPT TXT record as found in DNS.
type PolicyRecord struct {
	Name    string   `json:"name"`
	Status  string   `json:"status"` // ok, missing, invalid, multiple, error
	Record  string   `json:"record,omitempty"`
	ID      string   `json:"id,omitempty"`  // MTA-STS id=
	RUA     []string `json:"rua,omitempty"` // TLS-RPT rua=
	Problem string   `json:"problem,omitempty"`
}

// RecipientSystem is the receiving system behind a recipient domain.
type RecipientSystem struct {
	Domain string         `json:"domain"`
	System ReceiverSystem `json:"system"`
	MX     []string       `json:"mx,omitempty"`
	Source string         `json:"source,omitempty"`
	Status Status         `json:"status"`
}

// MXReport is the MX part of a report.
type MXReport struct {
	Domain     string            `json:"domain"`
	Status     Status            `json:"status"`
	Hosts      []MXHost          `json:"hosts,omitempty"`
	NullMX     bool              `json:"null_mx,omitempty"`
	Implicit   bool              `json:"implicit,omitempty"` // no MX; mail goes to the A/AAAA of the domain
	MTASTS     PolicyRecord      `json:"mta_sts"`
	TLSRPT     PolicyRecord      `json:"tls_rpt"`
	Recipients []RecipientSystem `json:"recipients,omitempty"`
	Findings   []Finding         `json:"findings"`
}

// mxHosts resolves a domain's MX set.
func mxHosts(ctx context.Context, r Resolver, domain string) (Answer, []MXHost, bool) {
	ans, err := r.Lookup(ctx, domain, TypeMX)
	if err != nil || ans.Status.Void() {
		return ans, nil, false
	}
	var hosts []MXHost
	null := false
	for _, rec := range ans.Records {
		if rec.Target == "" {
			null = true
			continue
		}
		hosts = append(hosts, MXHost{Host: rec.Target, Preference: rec.Preference})
	}
	slices.SortStableFunc(hosts, func(a, b MXHost) int { return int(a.Preference) - int(b.Preference) })
	return ans, hosts, null
}

// ClassifyRecipient says which receiving system a recipient domain uses,
// by its MX hosts.
func ClassifyRecipient(ctx context.Context, r Resolver, domain string) RecipientSystem {
	rs := RecipientSystem{Domain: strings.ToLower(domain), System: ReceiverOther}
	ans, hosts, _ := mxHosts(ctx, r, domain)
	rs.Status = ans.Status
	rules, err := receiverRules()
	if err != nil {
		return rs
	}
	for _, h := range hosts {
		rs.MX = append(rs.MX, h.Host)
		if sys, src := classifyMXHost(rules, h.Host); sys != ReceiverOther && rs.System == ReceiverOther {
			rs.System, rs.Source = sys, src
		}
	}
	return rs
}

// validSTSID: 1 to 32 letters and digits (RFC 8461 3.1).
func validSTSID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// parsePolicyTags splits "k=v; k=v" records with the version tag first.
func parsePolicyTags(s, version string) (map[string]string, error) {
	tags := map[string]string{}
	for i, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("field %q has no \"=\"", part)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if i == 0 && (k != "v" || v != version) {
			return nil, fmt.Errorf("first field must be v=%s", version)
		}
		if _, dup := tags[k]; dup {
			return nil, fmt.Errorf("field %q repeated", k)
		}
		tags[k] = v
	}
	return tags, nil
}

// lookupPolicyRecord fetches the one record starting with "v=<version>" at name.
func lookupPolicyRecord(ctx context.Context, r Resolver, name, version string) PolicyRecord {
	pr := PolicyRecord{Name: name}
	ans, err := r.Lookup(ctx, name, TypeTXT)
	if err != nil {
		pr.Status, pr.Problem = "error", string(ans.Status)
		return pr
	}
	var recs []string
	for _, t := range ans.Texts() {
		if strings.HasPrefix(t, "v="+version) {
			recs = append(recs, t)
		}
	}
	switch len(recs) {
	case 0:
		pr.Status = "missing"
		return pr
	case 1:
	default:
		pr.Status, pr.Problem = "multiple", fmt.Sprintf("%d v=%s records: receivers ignore them all", len(recs), version)
		pr.Record = strings.Join(recs, " | ")
		return pr
	}
	pr.Record = recs[0]
	tags, err := parsePolicyTags(pr.Record, version)
	if err != nil {
		pr.Status, pr.Problem = "invalid", err.Error()
		return pr
	}
	pr.Status = "ok"
	switch version {
	case "STSv1":
		pr.ID = tags["id"]
		if !validSTSID(pr.ID) {
			pr.Status, pr.Problem = "invalid", "id= must be 1 to 32 letters and digits (RFC 8461 3.1)"
		}
	case "TLSRPTv1":
		for _, u := range strings.Split(tags["rua"], ",") {
			if u = strings.TrimSpace(u); u != "" {
				pr.RUA = append(pr.RUA, u)
			}
		}
		if len(pr.RUA) == 0 {
			pr.Status, pr.Problem = "invalid", "no rua= destination (RFC 8460 3)"
		}
		for _, u := range pr.RUA {
			if !strings.HasPrefix(u, "mailto:") && !strings.HasPrefix(u, "https:") {
				pr.Status, pr.Problem = "invalid", fmt.Sprintf("rua %q is neither mailto: nor https: (RFC 8460 3)", u)
			}
		}
	}
	return pr
}

// MXOptions says what the MX check looks at.
type MXOptions struct {
	Domain     string   // the sending domain: bounces come back to it
	Recipients []string // recipient domains to classify
}

// InspectMX checks the sending domain's MX, MTA-STS and TLS-RPT records and
// classifies recipient domains by receiving system.
func InspectMX(ctx context.Context, r Resolver, o MXOptions) *MXReport {
	d := strings.ToLower(strings.TrimSuffix(o.Domain, "."))
	rep := &MXReport{Domain: d}
	f := &findings{check: CheckMX}
	ans, hosts, null := mxHosts(ctx, r, d)
	rep.Status = ans.Status
	rep.NullMX = null
	ev := ans.Evidence()
	switch {
	case ans.Status.Failed():
		f.add("mx.dns_error", SeverityWarn, d, "the MX of %s could not be read: %s", d, ans.Status).with(ev...)
	case null && len(hosts) == 0:
		f.add("mx.null", SeverityFail, d, "%s publishes a null MX (RFC 7505): it receives no mail, so bounces and replies to it are lost and receivers may reject it as a sender", d).with(ev...)
	case ans.Status.Void():
		a, _ := r.Lookup(ctx, d, TypeA)
		aaaa, _ := r.Lookup(ctx, d, TypeAAAA)
		ev = append(ev, a.Evidence()...)
		if len(a.Records)+len(aaaa.Records) > 0 {
			rep.Implicit = true
			f.add("mx.implicit", SeverityWarn, d, "%s has no MX; bounces go to its A/AAAA address (RFC 5321 5.1), which rarely runs a mail server: publish an MX", d).with(ev...)
		} else {
			f.add("mx.missing", SeverityFail, d, "%s has no MX and no address: bounces and replies cannot be delivered, and receivers reject senders whose domain cannot receive", d).with(ev...)
		}
	}
	rules, _ := receiverRules()
	var bad []string
	for i := range hosts {
		h := &hosts[i]
		h.System, _ = classifyMXHost(rules, h.Host)
		if _, err := netip.ParseAddr(h.Host); err == nil {
			bad = append(bad, h.Host+" is an IP address, not a host name")
			continue
		}
		for _, qt := range []RRType{TypeA, TypeAAAA} {
			a, err := r.Lookup(ctx, h.Host, qt)
			if err != nil {
				continue
			}
			if len(a.CNAMEs) > 0 {
				h.CNAME = true
			}
			for _, addr := range a.Addrs() {
				h.Addrs = append(h.Addrs, addr.String())
			}
			ev = append(ev, a.Evidence()...)
		}
		if len(h.Addrs) == 0 {
			bad = append(bad, h.Host+" has no address")
		}
		if h.CNAME {
			f.add("mx.cname", SeverityWarn, d, "MX host %s is an alias (CNAME); RFC 2181 10.3 forbids it and some senders refuse it", h.Host)
		}
	}
	rep.Hosts = hosts
	if len(hosts) > 0 {
		if len(bad) == len(hosts) {
			f.add("mx.unreachable", SeverityFail, d, "no MX host of %s resolves: %s", d, strings.Join(bad, "; ")).with(ev...)
		} else {
			if len(bad) > 0 {
				f.add("mx.host_unresolved", SeverityWarn, d, "some MX hosts of %s do not resolve: %s", d, strings.Join(bad, "; ")).with(ev...)
			}
			names := make([]string, len(hosts))
			for i, h := range hosts {
				names[i] = fmt.Sprintf("%d %s", h.Preference, h.Host)
			}
			f.add("mx.present", SeverityOK, d, "%s receives mail (bounces included) at %s", d, strings.Join(names, ", ")).with(ev...)
		}
	}

	rep.MTASTS = lookupPolicyRecord(ctx, r, "_mta-sts."+d, "STSv1")
	switch rep.MTASTS.Status {
	case "ok":
		f.add("mx.mta_sts", SeverityInfo, d, "MTA-STS record found (id=%s); only the DNS part was checked: the policy at https://mta-sts.%s/.well-known/mta-sts.txt was not fetched", rep.MTASTS.ID, d).with(rep.MTASTS.Name + " TXT " + rep.MTASTS.Record)
	case "missing":
		f.add("mx.mta_sts_missing", SeverityInfo, d, "no MTA-STS record at %s: mail to %s may travel without enforced TLS", rep.MTASTS.Name, d)
	case "error":
		f.add("mx.mta_sts_dns_error", SeverityWarn, d, "the MTA-STS record at %s could not be read: %s", rep.MTASTS.Name, rep.MTASTS.Problem)
	default:
		f.add("mx.mta_sts_invalid", SeverityWarn, d, "the MTA-STS record at %s is unusable: %s", rep.MTASTS.Name, rep.MTASTS.Problem).with(rep.MTASTS.Record)
	}
	rep.TLSRPT = lookupPolicyRecord(ctx, r, "_smtp._tls."+d, "TLSRPTv1")
	switch rep.TLSRPT.Status {
	case "ok":
		f.add("mx.tls_rpt", SeverityOK, d, "TLS-RPT reports go to %s", strings.Join(rep.TLSRPT.RUA, ", ")).with(rep.TLSRPT.Name + " TXT " + rep.TLSRPT.Record)
	case "missing":
		f.add("mx.tls_rpt_missing", SeverityInfo, d, "no TLS-RPT record at %s: senders cannot report TLS failures to %s", rep.TLSRPT.Name, d)
	case "error":
		f.add("mx.tls_rpt_dns_error", SeverityWarn, d, "the TLS-RPT record at %s could not be read: %s", rep.TLSRPT.Name, rep.TLSRPT.Problem)
	default:
		f.add("mx.tls_rpt_invalid", SeverityWarn, d, "the TLS-RPT record at %s is unusable: %s", rep.TLSRPT.Name, rep.TLSRPT.Problem).with(rep.TLSRPT.Record)
	}

	for _, rd := range o.Recipients {
		rs := ClassifyRecipient(ctx, r, rd)
		rep.Recipients = append(rep.Recipients, rs)
		ev := []string{}
		for _, m := range rs.MX {
			ev = append(ev, rs.Domain+" MX "+m)
		}
		switch {
		case rs.Status.Failed():
			f.add("mx.recipient_dns_error", SeverityWarn, rs.Domain, "the MX of recipient domain %s could not be read: %s", rs.Domain, rs.Status)
		case len(rs.MX) == 0:
			f.add("mx.recipient_no_mx", SeverityWarn, rs.Domain, "recipient domain %s has no MX", rs.Domain)
		default:
			f.add("mx.recipient_system", SeverityInfo, rs.Domain, "%s receives mail on %s", rs.Domain, receiverLabel(rs.System)).with(ev...)
		}
	}
	rep.Findings = f.list
	return rep
}

func receiverLabel(s ReceiverSystem) string {
	switch s {
	case ReceiverOutlookConsumer:
		return "Outlook.com (consumer: hotmail/outlook/live/msn)"
	case ReceiverMicrosoft365:
		return "Microsoft 365 (Exchange Online Protection)"
	case ReceiverGoogle:
		return "Google (Gmail / Google Workspace)"
	case ReceiverYahoo:
		return "Yahoo"
	}
	return "another system"
}

package checks

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
)

// DMARCRecord is a parsed "v=DMARC1" record (RFC 9989 4.7).
type DMARCRecord struct {
	Raw               string   `json:"raw"`
	Policy            string   `json:"p,omitempty"`  // none, quarantine, reject; "" when missing or invalid
	SubdomainPolicy   string   `json:"sp,omitempty"` // "" = same as p
	NonexistentPolicy string   `json:"np,omitempty"` // "" = same as sp
	ADKIM             string   `json:"adkim"`        // r or s
	ASPF              string   `json:"aspf"`         // r or s
	PSD               string   `json:"psd"`          // y, n or u
	Testing           bool     `json:"testing"`      // t=y
	RUA               []string `json:"rua,omitempty"`
	RUF               []string `json:"ruf,omitempty"`
	FO                string   `json:"fo,omitempty"`
	// Warnings are tolerated oddities: unknown tags, tags RFC 9989 removed
	// (pct, rf, ri), obsolete "!size" suffixes.
	Warnings []string `json:"warnings,omitempty"`
}

// isDMARCRecord reports whether a TXT string is a DMARC record: its first
// tag is v=DMARC1 (whitespace allowed around "=").
func isDMARCRecord(s string) bool {
	s = strings.TrimLeft(s, " \t")
	if len(s) < 1 || (s[0] != 'v' && s[0] != 'V') {
		return false
	}
	s = strings.TrimLeft(s[1:], " \t")
	if !strings.HasPrefix(s, "=") {
		return false
	}
	s = strings.TrimLeft(s[1:], " \t")
	if !strings.HasPrefix(s, "DMARC1") {
		return false
	}
	s = strings.TrimLeft(s[6:], " \t")
	return s == "" || s[0] == ';'
}

// ParseDMARC parses a DMARC record. Unknown tags are ignored with a warning
// (RFC 9989 4.7); a bad value of a known tag is an error, except p, which a
// receiver treats as "none" when rua is present (RFC 9989 4.7 "p").
func ParseDMARC(s string) (*DMARCRecord, error) {
	if !isDMARCRecord(s) {
		return nil, errors.New(`dmarc: record does not start with "v=DMARC1"`)
	}
	rec := &DMARCRecord{Raw: s, ADKIM: "r", ASPF: "r", PSD: "u"}
	seen := map[string]bool{}
	for i, part := range strings.Split(s, ";") {
		part = strings.Trim(part, " \t\r\n")
		if part == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		name = strings.ToLower(strings.Trim(name, " \t"))
		value = strings.Trim(value, " \t")
		if !ok || name == "" {
			return nil, fmt.Errorf("dmarc: malformed tag %q", part)
		}
		if i == 0 {
			continue // v=DMARC1, checked above
		}
		if name == "v" {
			return nil, errors.New("dmarc: v= must appear only once, first")
		}
		if seen[name] {
			rec.Warnings = append(rec.Warnings, fmt.Sprintf("tag %q repeated; the first one counts", name))
			continue
		}
		seen[name] = true
		lv := strings.ToLower(value)
		switch name {
		case "p":
			if isPolicy(lv) {
				rec.Policy = lv
			} else {
				rec.Warnings = append(rec.Warnings, fmt.Sprintf("p=%s is not none, quarantine or reject", value))
			}
		case "sp", "np":
			if !isPolicy(lv) {
				return nil, fmt.Errorf("dmarc: %s=%s is not none, quarantine or reject", name, value)
			}
			if name == "sp" {
				rec.SubdomainPolicy = lv
			} else {
				rec.NonexistentPolicy = lv
			}
		case "adkim", "aspf":
			if lv != "r" && lv != "s" {
				return nil, fmt.Errorf("dmarc: %s=%s is not r or s", name, value)
			}
			if name == "adkim" {
				rec.ADKIM = lv
			} else {
				rec.ASPF = lv
			}
		case "psd":
			if lv != "y" && lv != "n" && lv != "u" {
				return nil, fmt.Errorf("dmarc: psd=%s is not y, n or u", value)
			}
			rec.PSD = lv
		case "t":
			if lv != "y" && lv != "n" {
				return nil, fmt.Errorf("dmarc: t=%s is not y or n", value)
			}
			rec.Testing = lv == "y"
		case "rua", "ruf":
			uris, warns, err := parseDMARCURIs(value)
			if err != nil {
				return nil, fmt.Errorf("dmarc: %s: %w", name, err)
			}
			rec.Warnings = append(rec.Warnings, warns...)
			if name == "rua" {
				rec.RUA = uris
			} else {
				rec.RUF = uris
			}
		case "fo":
			for _, o := range strings.Split(value, ":") {
				if o = strings.TrimSpace(o); o != "0" && o != "1" && o != "d" && o != "s" {
					return nil, fmt.Errorf("dmarc: fo=%s: %q is not 0, 1, d or s", value, o)
				}
			}
			rec.FO = value
		case "pct", "rf", "ri":
			rec.Warnings = append(rec.Warnings, fmt.Sprintf("%s=%s was removed by RFC 9989; newer receivers ignore it", name, value))
		default:
			rec.Warnings = append(rec.Warnings, fmt.Sprintf("unknown tag %q ignored", name))
		}
	}
	if rec.Policy == "" && len(rec.RUA) == 0 {
		return nil, errors.New("dmarc: no valid p= and no rua=: the record asks for nothing")
	}
	return rec, nil
}

func isPolicy(s string) bool { return s == "none" || s == "quarantine" || s == "reject" }

// EffectivePolicy is p, or "none" when p is missing or invalid but rua is
// present (RFC 9989 4.7).
func (r *DMARCRecord) EffectivePolicy() string {
	if r.Policy == "" {
		return "none"
	}
	return r.Policy
}

// parseDMARCURIs splits a comma-separated URI list; "mailto:" addresses are
// checked, a "!size" suffix is dropped with a warning.
func parseDMARCURIs(v string) (uris, warns []string, err error) {
	for _, u := range strings.Split(v, ",") {
		u = strings.TrimSpace(u)
		if u == "" {
			continue
		}
		if i := strings.LastIndexByte(u, '!'); i > 0 && !strings.Contains(u[i:], "@") {
			warns = append(warns, fmt.Sprintf("size limit %q on %s is obsolete (RFC 9989)", u[i:], u[:i]))
			u = u[:i]
		}
		scheme, rest, ok := strings.Cut(u, ":")
		if !ok || scheme == "" || rest == "" {
			return nil, nil, fmt.Errorf("%q is not a URI", u)
		}
		if strings.EqualFold(scheme, "mailto") {
			if _, err := mail.ParseAddress(strings.SplitN(rest, "?", 2)[0]); err != nil {
				return nil, nil, fmt.Errorf("%q: %w", u, err)
			}
		}
		uris = append(uris, u)
	}
	return uris, warns, nil
}

// DMARCQuery is one query of a tree walk.
type DMARCQuery struct {
	Name    string   `json:"name"`
	Status  Status   `json:"status"`
	Records []string `json:"records,omitempty"` // the v=DMARC1 records returned
	Note    string   `json:"note,omitempty"`
}

type dmarcFound struct {
	domain string
	rec    *DMARCRecord
}

// dmarcMaxWalkLabels: a walk from a name of 8 or more labels jumps straight
// to its 7 right-most labels, so no walk makes more than 8 queries (RFC 9989
// 4.10).
const dmarcMaxWalkLabels = 7

// dmarcTreeWalk performs the RFC 9989 4.10 DNS Tree Walk from domain. It
// stops at a record with psd=y or psd=n or when no labels are left. A DNS
// failure ends the walk and is returned with what was found before it.
func dmarcTreeWalk(ctx context.Context, r Resolver, domain string) ([]DMARCQuery, []dmarcFound, error) {
	var queries []DMARCQuery
	var found []dmarcFound
	labels := strings.Split(strings.ToLower(strings.TrimSuffix(domain, ".")), ".")
	for len(labels) > 0 && labels[0] != "" {
		name := strings.Join(labels, ".")
		q := DMARCQuery{Name: "_dmarc." + name}
		ans, err := r.Lookup(ctx, q.Name, TypeTXT)
		q.Status = ans.Status
		if err != nil {
			q.Note = ans.Detail
			queries = append(queries, q)
			return queries, found, err
		}
		for _, t := range ans.Texts() {
			if isDMARCRecord(t) {
				q.Records = append(q.Records, t)
			}
		}
		switch len(q.Records) {
		case 0:
		case 1:
			rec, err := ParseDMARC(q.Records[0])
			if err != nil {
				q.Note = "invalid, ignored: " + err.Error()
				break
			}
			found = append(found, dmarcFound{name, rec})
		default:
			q.Note = fmt.Sprintf("%d DMARC records: all discarded (RFC 9989 4.10)", len(q.Records))
		}
		queries = append(queries, q)
		if n := len(found); n > 0 && found[n-1].domain == name && (found[n-1].rec.PSD == "y" || found[n-1].rec.PSD == "n") {
			break
		}
		if len(labels) > dmarcMaxWalkLabels {
			labels = labels[len(labels)-dmarcMaxWalkLabels:]
		} else {
			labels = labels[1:]
		}
	}
	return queries, found, nil
}

// orgDomainOf picks the Organizational Domain from a completed walk (RFC
// 9989 4.10.2): the domain with psd=n; one label below a psd=y domain; else
// the record with the fewest labels; else the domain itself.
func orgDomainOf(domain string, found []dmarcFound) string {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	for _, f := range found {
		if f.rec.PSD == "n" {
			return f.domain
		}
		if f.rec.PSD == "y" && f.domain != domain {
			n := strings.Count(f.domain, ".") + 2 // labels of the PSD, plus one
			labels := strings.Split(domain, ".")
			return strings.Join(labels[len(labels)-n:], ".")
		}
	}
	if len(found) > 0 {
		return found[len(found)-1].domain
	}
	return domain
}

// OrganizationalDomain returns domain's Organizational Domain by the RFC
// 9989 tree walk.
func OrganizationalDomain(ctx context.Context, r Resolver, domain string) (string, error) {
	_, found, err := dmarcTreeWalk(ctx, r, domain)
	if err != nil {
		return "", err
	}
	return orgDomainOf(domain, found), nil
}

// DMARCPolicy is the outcome of policy discovery for one author domain.
type DMARCPolicy struct {
	Domain       string       `json:"domain"`
	Record       *DMARCRecord `json:"record,omitempty"`
	RecordDomain string       `json:"record_domain,omitempty"`
	OrgDomain    string       `json:"org_domain,omitempty"`
	Inherited    bool         `json:"inherited"` // the record is the Organizational Domain's or the PSD's
	// Applied is the policy for mail from Domain: p for the domain's own
	// record, sp (or np for a domain that does not exist) for an
	// inherited one.
	Applied    string       `json:"applied,omitempty"`
	NXDomain   bool         `json:"nxdomain,omitempty"`
	Walk       []DMARCQuery `json:"walk"`
	Error      string       `json:"error,omitempty"`
	Temporary  bool         `json:"temporary,omitempty"`
	walkFailed bool
}

// DiscoverDMARC finds the policy for mail whose From domain is domain (RFC
// 9989 4.10.1): the domain's own record; else the Organizational Domain's;
// else the record of the PSD where the walk stopped.
func DiscoverDMARC(ctx context.Context, r Resolver, domain string) DMARCPolicy {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	p := DMARCPolicy{Domain: domain}
	queries, found, err := dmarcTreeWalk(ctx, r, domain)
	p.Walk = queries
	if err != nil {
		p.walkFailed = true
		p.Temporary = true
		p.Error = err.Error()
	}
	var chosen *dmarcFound
	if len(found) > 0 && found[0].domain == domain {
		chosen = &found[0]
	} else if err != nil {
		return p
	}
	if err == nil {
		p.OrgDomain = orgDomainOf(domain, found)
	}
	if chosen == nil {
		for i := range found {
			if found[i].domain == p.OrgDomain {
				chosen = &found[i]
			}
		}
		if chosen == nil && len(found) > 0 && found[len(found)-1].rec.PSD == "y" {
			chosen = &found[len(found)-1]
		}
	}
	if chosen == nil {
		return p
	}
	p.Record = chosen.rec
	p.RecordDomain = chosen.domain
	p.Inherited = chosen.domain != domain
	p.Applied = chosen.rec.EffectivePolicy()
	if p.Inherited {
		if chosen.rec.SubdomainPolicy != "" {
			p.Applied = chosen.rec.SubdomainPolicy
		}
		if a, err := r.Lookup(ctx, domain, TypeA); err == nil && a.Status == StatusNXDomain {
			p.NXDomain = true
			if chosen.rec.NonexistentPolicy != "" {
				p.Applied = chosen.rec.NonexistentPolicy
			}
		}
	}
	return p
}

// Aligned reports whether an authenticated domain (SPF MAIL FROM domain or
// DKIM d=) aligns with the From domain: equal in strict mode, the same
// Organizational Domain in relaxed mode (RFC 9989 4.4).
func Aligned(ctx context.Context, r Resolver, from, auth string, strict bool) (bool, error) {
	from = strings.ToLower(strings.TrimSuffix(from, "."))
	auth = strings.ToLower(strings.TrimSuffix(auth, "."))
	if from == "" || auth == "" {
		return false, nil
	}
	if from == auth {
		return true, nil
	}
	if strict {
		return false, nil
	}
	a, err := OrganizationalDomain(ctx, r, from)
	if err != nil {
		return false, err
	}
	b, err := OrganizationalDomain(ctx, r, auth)
	if err != nil {
		return false, err
	}
	return a == b, nil
}

// ReportAuthorization is the check of one rua/ruf destination.
type ReportAuthorization struct {
	URI        string `json:"uri"`
	Tag        string `json:"tag"` // rua or ruf
	Domain     string `json:"domain,omitempty"`
	External   bool   `json:"external"`
	Query      string `json:"query,omitempty"`
	Authorized bool   `json:"authorized"`
	Status     Status `json:"status,omitempty"`
}

// authorizeReports checks that external report destinations agreed to get
// reports: "<policy domain>._report._dmarc.<destination domain>" must
// publish a v=DMARC1 record (RFC 9990 section 4, RFC 9991).
func authorizeReports(ctx context.Context, r Resolver, policyDomain string, rec *DMARCRecord) []ReportAuthorization {
	var out []ReportAuthorization
	org, _ := OrganizationalDomain(ctx, r, policyDomain)
	check := func(tag string, uris []string) {
		for _, u := range uris {
			ra := ReportAuthorization{URI: u, Tag: tag}
			scheme, rest, _ := strings.Cut(u, ":")
			if !strings.EqualFold(scheme, "mailto") {
				out = append(out, ra)
				continue
			}
			addr := strings.SplitN(rest, "?", 2)[0]
			if a, err := mail.ParseAddress(addr); err == nil {
				addr = a.Address
			}
			ra.Domain = strings.ToLower(addr[strings.LastIndexByte(addr, '@')+1:])
			destOrg, err := OrganizationalDomain(ctx, r, ra.Domain)
			if err == nil && (destOrg == org || ra.Domain == policyDomain) {
				ra.Authorized = true
				out = append(out, ra)
				continue
			}
			ra.External = true
			ra.Query = policyDomain + "._report._dmarc." + ra.Domain
			ans, err := r.Lookup(ctx, ra.Query, TypeTXT)
			ra.Status = ans.Status
			if err == nil {
				ra.Authorized = slices.ContainsFunc(ans.Texts(), isDMARCRecord)
			}
			out = append(out, ra)
		}
	}
	check("rua", rec.RUA)
	check("ruf", rec.RUF)
	return out
}

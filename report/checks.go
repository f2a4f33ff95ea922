package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/senderscope/senderscope/checks"
)

// findingRecord is one finding as a CSV row.
type findingRecord struct {
	Check    string `csv:"check"`
	Severity string `csv:"severity"`
	ID       string `csv:"id"`
	Subject  string `csv:"subject"`
	Message  string `csv:"message"`
	Evidence string `csv:"evidence"`
}

// rdnsView is what "check rdns -o json" prints.
type rdnsView struct {
	IPs      []string            `json:"ips"`
	Results  []checks.RDNSResult `json:"results"`
	Findings []checks.Finding    `json:"findings"`
}

// CheckDoc renders a check run. With only set ("check spf"), JSON is that
// check's own section, e.g. an object whose "result" is the SPF result;
// otherwise it is the whole report.
func CheckDoc(rep checks.Report, only checks.CheckName) Doc {
	d := Doc{Value: rep}
	switch only {
	case checks.CheckSPF:
		d.Value = rep.SPF
	case checks.CheckDKIM:
		d.Value = rep.DKIM
	case checks.CheckDMARC:
		d.Value = rep.DMARC
	case checks.CheckRDNS:
		d.Value = rdnsView{IPs: rep.IPs, Results: rep.RDNS, Findings: rep.Findings}
	case checks.CheckDNSBL:
		d.Value = rep.DNSBL
	case checks.CheckMX:
		d.Value = rep.MX
	}
	var recs []findingRecord
	for _, f := range rep.Findings {
		recs = append(recs, findingRecord{Check: string(f.Check), Severity: string(f.Severity), ID: f.ID, Subject: f.Subject,
			Message: f.Message, Evidence: strings.Join(f.Evidence, " | ")})
	}
	d.Records = recs

	lead := fmt.Sprintf("Checked %s", rep.Domain)
	if len(rep.IPs) > 0 {
		lead += " from " + strings.Join(rep.IPs, ", ")
	}
	lead += fmt.Sprintf(": %d fail, %d warn, %d info, %d ok", rep.Counts["fail"], rep.Counts["warn"], rep.Counts["info"], rep.Counts["ok"])
	d.Lead = append(d.Lead, lead)

	if s := spfSection(rep.SPF); s != nil {
		d.Sections = append(d.Sections, *s)
	}
	if s := dkimSection(rep.DKIM); s != nil {
		d.Sections = append(d.Sections, *s)
	}
	if s := dmarcSection(rep.DMARC); s != nil {
		d.Sections = append(d.Sections, s...)
	}
	if len(rep.RDNS) > 0 {
		s := Section{Title: "Reverse DNS", Header: []string{"ip", "ptr", "forward-confirmed", "generic", "helo"}}
		for _, r := range rep.RDNS {
			generic := []string{}
			for name, why := range r.Generic {
				generic = append(generic, name+": "+why)
			}
			sort.Strings(generic)
			helo := ""
			if r.HELO != "" {
				helo = r.HELO + " " + yesNo(r.HELOMatches, "matches", "differs")
			}
			ptr := strings.Join(r.PTR, ", ")
			if ptr == "" {
				ptr = "(" + string(r.Status) + ")"
			}
			s.Rows = append(s.Rows, []string{r.IP, ptr, strings.Join(r.Confirmed, ", "), strings.Join(generic, "; "), helo})
		}
		d.Sections = append(d.Sections, s)
	}
	if rep.DNSBL != nil && len(rep.DNSBL.Results) > 0 {
		s := Section{Title: "Block lists", Header: []string{"ip", "zone", "status", "codes", "meaning"}}
		for _, r := range rep.DNSBL.Results {
			for _, l := range r.Listings {
				meaning := strings.Join(l.Meanings, "; ")
				if meaning == "" {
					meaning = l.Detail
				}
				s.Rows = append(s.Rows, []string{r.IP, l.Zone, l.Status, strings.Join(l.Codes, " "), meaning})
			}
		}
		d.Sections = append(d.Sections, s)
	}
	if m := rep.MX; m != nil {
		s := Section{Title: "MX of " + m.Domain, Header: []string{"preference", "host", "addresses", "system"}, Right: []int{0}}
		for _, h := range m.Hosts {
			s.Rows = append(s.Rows, []string{fmt.Sprint(h.Preference), h.Host, strings.Join(h.Addrs, " "), string(h.System)})
		}
		s.Notes = append(s.Notes, "MTA-STS: "+policyLine(m.MTASTS)+"; TLS-RPT: "+policyLine(m.TLSRPT))
		for _, r := range m.Recipients {
			s.Notes = append(s.Notes, fmt.Sprintf("Recipient %s: %s (MX %s)", r.Domain, r.System, strings.Join(r.MX, ", ")))
		}
		d.Sections = append(d.Sections, s)
	}

	fs := Section{Title: "Findings", Header: []string{"severity", "check", "id", "subject", "message"}}
	for _, f := range rep.Findings {
		fs.Rows = append(fs.Rows, []string{strings.ToUpper(string(f.Severity)), string(f.Check), f.ID, f.Subject, f.Message})
	}
	for _, f := range rep.Findings {
		if f.Severity != checks.SeverityFail && f.Severity != checks.SeverityWarn || len(f.Evidence) == 0 {
			continue
		}
		fs.Notes = append(fs.Notes, f.ID+" ("+f.Subject+"):")
		for i, e := range f.Evidence {
			if i == 8 {
				fs.Notes = append(fs.Notes, fmt.Sprintf("    ... %d more (see -o json)", len(f.Evidence)-8))
				break
			}
			fs.Notes = append(fs.Notes, "    "+e)
		}
	}
	d.Sections = append(d.Sections, fs)
	return d
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

func policyLine(p checks.PolicyRecord) string {
	switch p.Status {
	case "ok":
		return p.Record
	case "missing":
		return "none"
	}
	return p.Status + " " + p.Problem
}

func spfSection(s *checks.SPFReport) *Section {
	if s == nil {
		return nil
	}
	sec := Section{Title: "SPF of " + s.Domain, Header: []string{"ip", "sender", "result", "decided by", "path", "lookups", "void"}, Right: []int{5, 6}}
	for _, e := range s.Evaluations {
		by := e.Directive
		if e.Mechanism != "" && e.Mechanism != e.Directive {
			by += " (" + e.Mechanism + " in " + e.MechanismDomain + ")"
		}
		if by == "" {
			by = e.Problem
		}
		sec.Rows = append(sec.Rows, []string{e.IP, e.Sender, string(e.Result), by, strings.Join(e.Path, " > "), fmt.Sprint(e.Lookups), fmt.Sprint(e.VoidLookups)})
	}
	if s.Record != "" {
		sec.Notes = append(sec.Notes, "Record: "+s.Record)
	}
	if s.Tree != nil {
		sec.Notes = append(sec.Notes, fmt.Sprintf("Include tree (%d of 10 lookups):", s.TotalLookups))
		for _, l := range s.Tree.Lines() {
			sec.Notes = append(sec.Notes, "  "+l)
		}
	}
	if len(sec.Rows) == 0 {
		sec.Header = nil
	}
	return &sec
}

func dkimSection(k *checks.DKIMReport) *Section {
	if k == nil {
		return nil
	}
	sec := Section{Title: "DKIM of " + k.Domain, Header: []string{"selector", "domain", "source", "status", "key"}}
	for _, key := range k.Keys {
		desc := key.Problem
		if key.Key != nil && !key.Key.Revoked {
			desc = fmt.Sprintf("%s %d bits", key.Key.KeyType, key.Key.Bits)
		}
		sec.Rows = append(sec.Rows, []string{key.Selector, key.Domain, key.Source, key.Status, desc})
	}
	sec.Notes = append(sec.Notes, fmt.Sprintf("%d selector name(s) queried.", k.Probed))
	if m := k.Message; m != nil {
		for _, s := range m.Signatures {
			line := fmt.Sprintf("Signature d=%s s=%s a=%s c=%s: %s, %s", s.Domain, s.Selector, s.Algorithm, s.Canonicalization, s.Result,
				yesNo(s.Aligned, "aligned with From "+m.FromDomain, "not aligned with From "+m.FromDomain))
			sec.Notes = append(sec.Notes, line)
		}
	}
	if len(sec.Rows) == 0 {
		sec.Header = nil
	}
	return &sec
}

func dmarcSection(r *checks.DMARCReport) []Section {
	if r == nil {
		return nil
	}
	sec := Section{Title: "DMARC of " + r.Domain}
	p := r.Policy
	if p.Record != nil {
		sec.Notes = append(sec.Notes, fmt.Sprintf("Policy p=%s from _dmarc.%s (Organizational Domain %s): %s", p.Applied, p.RecordDomain, p.OrgDomain, p.Record.Raw))
	} else if p.Error != "" {
		sec.Notes = append(sec.Notes, "Policy: not found ("+p.Error+")")
	} else {
		sec.Notes = append(sec.Notes, "Policy: none published")
	}
	var walk []string
	for _, q := range p.Walk {
		walk = append(walk, q.Name+"="+string(q.Status))
	}
	sec.Notes = append(sec.Notes, "Tree walk: "+strings.Join(walk, ", "))
	verdicts := Section{Title: "Bulk-sender requirements", Header: []string{"provider", "requirement", "status", "detail"}}
	for _, v := range r.Verdicts {
		for _, q := range v.Requirements {
			verdicts.Rows = append(verdicts.Rows, []string{v.Provider, q.Name, string(q.Status), q.Detail})
		}
		verdicts.Notes = append(verdicts.Notes, fmt.Sprintf("%s: %s (%s)", v.Provider, v.Verdict, v.Source))
	}
	return []Section{sec, verdicts}
}

package checks

import (
	"context"
	"fmt"
	"strings"
)

// DMARCAlignment says whether the message would pass DMARC: an SPF pass
// or a DKIM pass on a domain aligned with the From domain (RFC 9989 4.4).
type DMARCAlignment struct {
	FromDomain string          `json:"from_domain"`
	SPF        []AlignedResult `json:"spf,omitempty"`
	DKIM       []AlignedResult `json:"dkim,omitempty"`
	Pass       bool            `json:"pass"`
}

// temporary reports whether a DNS error, not the sender, kept DMARC from
// passing.
func (a *DMARCAlignment) temporary() bool {
	for _, r := range append(append([]AlignedResult{}, a.SPF...), a.DKIM...) {
		if r.Result == string(SPFTempError) {
			return true
		}
	}
	return false
}

// AlignedResult is one authenticated identifier and its alignment.
type AlignedResult struct {
	Domain  string `json:"domain"`
	Result  string `json:"result"`
	Aligned bool   `json:"aligned"`
	Detail  string `json:"detail,omitempty"` // the IP for SPF, the selector for DKIM
}

// RequirementStatus is met, unmet, or unknown when the inputs to check it
// were not given (no --ip, no --message).
type RequirementStatus string

// Requirement statuses.
const (
	RequirementMet     RequirementStatus = "met"
	RequirementUnmet   RequirementStatus = "unmet"
	RequirementUnknown RequirementStatus = "unknown"
)

// Requirement is one condition of a bulk-sender rule.
type Requirement struct {
	Name   string            `json:"name"`
	Status RequirementStatus `json:"status"`
	Detail string            `json:"detail,omitempty"`
}

// BulkSenderVerdict grades the sender against one provider's bulk-sender
// rules.
type BulkSenderVerdict struct {
	Provider     string        `json:"provider"`
	Source       string        `json:"source"`
	Verdict      string        `json:"verdict"` // meets, fails, incomplete
	Requirements []Requirement `json:"requirements"`
}

// DMARCReport is the DMARC part of a report.
type DMARCReport struct {
	Domain    string                `json:"domain"`
	Policy    DMARCPolicy           `json:"policy"`
	Reports   []ReportAuthorization `json:"report_destinations,omitempty"`
	Alignment *DMARCAlignment       `json:"alignment,omitempty"`
	Verdicts  []BulkSenderVerdict   `json:"bulk_sender_verdicts"`
	Findings  []Finding             `json:"findings"`
}

// DMARCOptions carries what the other checks found, for alignment and the
// bulk-sender verdicts.
type DMARCOptions struct {
	Domain  string       // the From (author) domain
	SPF     []SPFOutcome // MAIL FROM evaluations, one per IP
	Message *Message     // verified signatures, unsubscribe headers
	// DKIMKeys are keys found by selector; without a message they are the
	// only DKIM evidence.
	DKIMKeys []DKIMKey
	RDNS     []RDNSResult
}

// InspectDMARC discovers the policy, checks report destinations, alignment,
// and grades the sender against Microsoft's and Google/Yahoo's rules.
func InspectDMARC(ctx context.Context, r Resolver, o DMARCOptions) *DMARCReport {
	d := strings.ToLower(strings.TrimSuffix(o.Domain, "."))
	if o.Message != nil && o.Message.FromDomain != "" {
		d = o.Message.FromDomain
	}
	rep := &DMARCReport{Domain: d}
	f := &findings{check: CheckDMARC}
	rep.Policy = DiscoverDMARC(ctx, r, d)
	p := rep.Policy
	var walkEv []string
	for _, q := range p.Walk {
		line := q.Name + " TXT: " + string(q.Status)
		if len(q.Records) > 0 {
			line = q.Name + " TXT " + strings.Join(q.Records, " | ")
		}
		if q.Note != "" {
			line += " (" + q.Note + ")"
		}
		walkEv = append(walkEv, line)
	}
	switch {
	case p.Record == nil && p.Temporary:
		f.add("dmarc.dns_error", SeverityWarn, d, "the DMARC policy of %s could not be read: %s", d, p.Error).with(walkEv...)
	case p.Record == nil:
		f.add("dmarc.missing", SeverityFail, d, "no DMARC record applies to %s: Microsoft rejects bulk senders without one (550 5.7.515) and Google and Yahoo require one", d).with(walkEv...)
	default:
		dmarcRecordFindings(ctx, r, f, rep, walkEv)
	}

	rep.Alignment = alignment(ctx, r, d, p.Record, o)
	if a := rep.Alignment; a != nil && (len(a.SPF) > 0 || len(a.DKIM) > 0) {
		var ev []string
		for _, s := range a.SPF {
			ev = append(ev, fmt.Sprintf("spf=%s smtp.mailfrom domain %s (%s) aligned=%v", s.Result, s.Domain, s.Detail, s.Aligned))
		}
		for _, s := range a.DKIM {
			ev = append(ev, fmt.Sprintf("dkim=%s header.d=%s (%s) aligned=%v", s.Result, s.Domain, s.Detail, s.Aligned))
		}
		switch {
		case a.Pass:
			f.add("dmarc.aligned_pass", SeverityOK, d, "DMARC passes for From %s: an aligned identifier authenticates", d).with(ev...)
		case a.temporary():
			f.add("dmarc.temperror", SeverityWarn, d, "DMARC for From %s could not be decided: an SPF or DKIM check hit a DNS error", d).with(ev...)
		default:
			f.add("dmarc.not_aligned", SeverityFail, d, "DMARC fails for From %s: no SPF or DKIM pass on a domain aligned with it", d).with(ev...)
		}
	}
	rep.Verdicts = bulkVerdicts(rep, o)
	for _, v := range rep.Verdicts {
		sev := SeverityOK
		switch v.Verdict {
		case "fails":
			sev = SeverityFail
		case "incomplete":
			sev = SeverityWarn
		}
		var unmet, unknown, ev []string
		for _, req := range v.Requirements {
			ev = append(ev, fmt.Sprintf("%s: %s %s", req.Name, req.Status, req.Detail))
			switch req.Status {
			case RequirementUnmet:
				unmet = append(unmet, req.Name)
			case RequirementUnknown:
				unknown = append(unknown, req.Name)
			}
		}
		msg := fmt.Sprintf("%s: meets the bulk-sender authentication rules", v.Provider)
		switch v.Verdict {
		case "fails":
			msg = fmt.Sprintf("%s: fails the bulk-sender rules: %s", v.Provider, strings.Join(unmet, "; "))
		case "incomplete":
			msg = fmt.Sprintf("%s: not verifiable without more input: %s", v.Provider, strings.Join(unknown, "; "))
		}
		id := "dmarc.bulk_sender.microsoft"
		if strings.HasPrefix(v.Provider, "Google") {
			id = "dmarc.bulk_sender.google_yahoo"
		}
		f.add(id, sev, d, "%s", msg).with(ev...)
	}
	rep.Findings = f.list
	return rep
}

func dmarcRecordFindings(ctx context.Context, r Resolver, f *findings, rep *DMARCReport, walkEv []string) {
	p := rep.Policy
	rec := p.Record
	d := rep.Domain
	where := "its own record"
	if p.Inherited {
		where = "the record of " + p.RecordDomain
		if rec.PSD == "y" {
			where += " (a public suffix operator)"
		}
	}
	f.add("dmarc.policy", SeverityOK, d, "mail from %s gets p=%s from %s (Organizational Domain %s)", d, p.Applied, where, p.OrgDomain).with(walkEv...)
	if rec.Policy == "" {
		f.add("dmarc.invalid_p", SeverityWarn, p.RecordDomain, "the DMARC record has no valid p=; receivers treat it as p=none because rua= is set").with(rec.Raw)
	}
	if p.Applied == "none" {
		f.add("dmarc.policy_none", SeverityInfo, d, "p=none meets Microsoft's and Google's minimum but asks receivers to do nothing with failing mail").with(rec.Raw)
	}
	if rec.Testing {
		f.add("dmarc.testing", SeverityWarn, p.RecordDomain, "t=y: receivers apply one step less than the policy (RFC 9989 4.7)").with(rec.Raw)
	}
	if rec.ADKIM == "s" || rec.ASPF == "s" {
		f.add("dmarc.strict_alignment", SeverityInfo, p.RecordDomain, "strict alignment (adkim=%s aspf=%s): subdomains of %s do not align", rec.ADKIM, rec.ASPF, p.RecordDomain).with(rec.Raw)
	}
	for _, w := range rec.Warnings {
		f.add("dmarc.record_warning", SeverityInfo, p.RecordDomain, "%s", w).with(rec.Raw)
	}
	if len(rec.RUA) == 0 {
		f.add("dmarc.no_rua", SeverityWarn, p.RecordDomain, "no rua=: nobody receives aggregate reports, so failures go unseen").with(rec.Raw)
	}
	if len(rec.RUF) > 0 {
		f.add("dmarc.ruf", SeverityInfo, p.RecordDomain, "ruf= is set; Microsoft sends aggregate reports only, never failure reports").with(rec.Raw)
	}
	rep.Reports = authorizeReports(ctx, r, p.RecordDomain, rec)
	for _, ra := range rep.Reports {
		switch {
		case ra.External && !ra.Authorized && ra.Status.Failed():
			f.add("dmarc.report_auth_dns_error", SeverityWarn, ra.Domain, "could not check that %s accepts reports for %s: %s", ra.Domain, p.RecordDomain, ra.Status).with(ra.Query)
		case ra.External && !ra.Authorized:
			f.add("dmarc.report_unauthorized", SeverityWarn, ra.Domain, "%s=%s is outside %s and %s publishes no authorization: receivers drop these reports", ra.Tag, ra.URI, p.RecordDomain, ra.Query).with(ra.Query + " TXT: " + string(ra.Status))
		case ra.External:
			f.add("dmarc.report_authorized", SeverityOK, ra.Domain, "%s accepts %s reports for %s", ra.Domain, ra.Tag, p.RecordDomain).with(ra.Query)
		}
	}
}

func alignment(ctx context.Context, r Resolver, from string, rec *DMARCRecord, o DMARCOptions) *DMARCAlignment {
	a := &DMARCAlignment{FromDomain: from}
	strictSPF, strictDKIM := false, false
	if rec != nil {
		strictSPF, strictDKIM = rec.ASPF == "s", rec.ADKIM == "s"
	}
	for _, s := range o.SPF {
		if s.Identity != "mailfrom" {
			continue
		}
		ok, _ := Aligned(ctx, r, from, s.Domain, strictSPF)
		a.SPF = append(a.SPF, AlignedResult{Domain: s.Domain, Result: string(s.Result), Aligned: ok, Detail: s.IP})
	}
	if o.Message != nil {
		for _, s := range o.Message.Signatures {
			ok, _ := Aligned(ctx, r, from, s.Domain, strictDKIM)
			a.DKIM = append(a.DKIM, AlignedResult{Domain: s.Domain, Result: s.Result, Aligned: ok, Detail: "s=" + s.Selector})
		}
	}
	spfPass := len(a.SPF) > 0
	for _, s := range a.SPF {
		if !(s.Aligned && s.Result == string(SPFPass)) {
			spfPass = false
		}
	}
	dkimPass := false
	for _, s := range a.DKIM {
		if s.Aligned && s.Result == "pass" {
			dkimPass = true
		}
	}
	a.Pass = spfPass || dkimPass
	return a
}

// bulkVerdicts grades the sender against the published rules: Microsoft's
// for Outlook.com (knowledge/microsoft.md 4.3: SPF pass, DKIM pass, DMARC at
// least p=none aligned with SPF or DKIM) and Google's and Yahoo's (6.1, 6.2:
// the same plus forward-confirmed reverse DNS and one-click unsubscribe).
func bulkVerdicts(rep *DMARCReport, o DMARCOptions) []BulkSenderVerdict {
	spf := Requirement{Name: "SPF pass"}
	switch {
	case len(o.SPF) == 0:
		spf.Status, spf.Detail = RequirementUnknown, "no sending IP given (--ip)"
	default:
		spf.Status = RequirementMet
		var bad, temp []string
		for _, s := range o.SPF {
			switch s.Result {
			case SPFPass:
			case SPFTempError:
				temp = append(temp, s.IP+"="+string(s.Result))
			default:
				bad = append(bad, s.IP+"="+string(s.Result))
			}
		}
		switch {
		case len(bad) > 0:
			spf.Status, spf.Detail = RequirementUnmet, strings.Join(bad, ", ")
		case len(temp) > 0:
			spf.Status, spf.Detail = RequirementUnknown, strings.Join(temp, ", ")
		}
	}

	dkim := Requirement{Name: "DKIM pass"}
	switch {
	case o.Message != nil:
		dkim.Status, dkim.Detail = RequirementUnmet, "no signature verifies"
		for _, s := range o.Message.Signatures {
			if s.Result == "pass" {
				dkim.Status, dkim.Detail = RequirementMet, "d="+s.Domain+" s="+s.Selector
				break
			}
		}
	default:
		dkim.Status, dkim.Detail = RequirementUnknown, "no message given (--message); "
		n, failed, given := 0, 0, 0
		for _, k := range o.DKIMKeys {
			switch k.Status {
			case "ok":
				n++
			case "error":
				failed++
			}
			if k.Source == "given" {
				given++
			}
		}
		switch {
		case n > 0:
			dkim.Detail += fmt.Sprintf("%d usable key(s) published", n)
		case failed > 0:
			dkim.Detail += fmt.Sprintf("%d key lookup(s) failed", failed)
		case given > 0:
			// the selectors the sender named have no usable key
			dkim.Detail += "no usable key at the given selector(s)"
			dkim.Status = RequirementUnmet
		default:
			// a key may sit at a selector nobody guessed
			dkim.Detail += "no key at the common selectors; give --selector"
		}
	}

	dmarc := Requirement{Name: "DMARC policy (p=none or stronger)"}
	switch p := rep.Policy; {
	case p.Record != nil:
		dmarc.Status, dmarc.Detail = RequirementMet, "p="+p.Applied+" from "+p.RecordDomain
	case p.Temporary:
		dmarc.Status, dmarc.Detail = RequirementUnknown, p.Error
	default:
		dmarc.Status, dmarc.Detail = RequirementUnmet, "no record"
	}

	aligned := Requirement{Name: "From aligned with SPF or DKIM"}
	switch a := rep.Alignment; {
	case a != nil && a.Pass:
		aligned.Status = RequirementMet
	case a != nil && o.Message != nil:
		aligned.Status, aligned.Detail = RequirementUnmet, "no aligned SPF or DKIM pass"
	case a != nil && len(a.SPF) > 0 && spf.Status == RequirementMet:
		aligned.Status = RequirementMet
	case a != nil && len(a.SPF) > 0:
		aligned.Status, aligned.Detail = RequirementUnknown, "SPF does not pass aligned; DKIM needs --message"
	default:
		aligned.Status, aligned.Detail = RequirementUnknown, "needs --ip or --message"
	}

	rdns := Requirement{Name: "forward-confirmed reverse DNS"}
	if len(o.RDNS) == 0 {
		rdns.Status, rdns.Detail = RequirementUnknown, "no sending IP given (--ip)"
	} else {
		rdns.Status = RequirementMet
		var bad, temp []string
		for _, x := range o.RDNS {
			switch {
			case x.Status.Failed():
				temp = append(temp, x.IP+": "+string(x.Status))
			case len(x.Confirmed) == 0:
				bad = append(bad, x.IP)
			}
		}
		switch {
		case len(bad) > 0:
			rdns.Status, rdns.Detail = RequirementUnmet, strings.Join(bad, ", ")
		case len(temp) > 0:
			rdns.Status, rdns.Detail = RequirementUnknown, strings.Join(temp, ", ")
		}
	}

	unsub := Requirement{Name: "one-click unsubscribe (RFC 8058) for marketing mail"}
	switch {
	case o.Message == nil:
		unsub.Status, unsub.Detail = RequirementUnknown, "no message given (--message)"
	case o.Message.ListUnsubscribe && o.Message.ListUnsubscribePost:
		unsub.Status = RequirementMet
	default:
		unsub.Status, unsub.Detail = RequirementUnmet, "List-Unsubscribe and List-Unsubscribe-Post: List-Unsubscribe=One-Click are needed"
	}

	return []BulkSenderVerdict{
		grade(BulkSenderVerdict{
			Provider: "Microsoft (Outlook.com, >5,000 messages a day)",
			Source:   "Outlook.com high-volume sender requirements, May 2025 (knowledge/microsoft.md 4.3)",
		}, spf, dkim, dmarc, aligned),
		grade(BulkSenderVerdict{
			Provider: "Google and Yahoo (bulk senders)",
			Source:   "Gmail sender guidelines and Yahoo Sender Hub (knowledge/microsoft.md 6.1, 6.2)",
		}, spf, dkim, dmarc, aligned, rdns, unsub),
	}
}

func grade(v BulkSenderVerdict, reqs ...Requirement) BulkSenderVerdict {
	v.Requirements = reqs
	v.Verdict = "meets"
	for _, r := range reqs {
		if r.Status == RequirementUnmet {
			v.Verdict = "fails"
			return v
		}
		if r.Status == RequirementUnknown {
			v.Verdict = "incomplete"
		}
	}
	return v
}

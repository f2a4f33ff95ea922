package checks

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestParseDMARC(t *testing.T) {
	rec, err := ParseDMARC("v=DMARC1; p=Reject; sp=none; np=quarantine; adkim=s; aspf=r; psd=n; t=y; fo=1:d; " +
		"rua=mailto:a@example.com!10m, mailto:b@example.net; ruf=mailto:f@example.com; pct=20; foo=bar")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Policy != "reject" || rec.SubdomainPolicy != "none" || rec.NonexistentPolicy != "quarantine" || rec.ADKIM != "s" ||
		rec.PSD != "n" || !rec.Testing || rec.FO != "1:d" || !slices.Equal(rec.RUA, []string{"mailto:a@example.com", "mailto:b@example.net"}) {
		t.Errorf("parsed %+v", rec)
	}
	if len(rec.Warnings) != 3 { // !10m, pct, foo
		t.Errorf("warnings %q", rec.Warnings)
	}
	rec, err = ParseDMARC("v=DMARC1; rua=mailto:a@example.com")
	if err != nil || rec.Policy != "" || rec.EffectivePolicy() != "none" {
		t.Errorf("missing p with rua: %+v %v", rec, err)
	}
	for _, bad := range []string{
		"", "v=DMARC2; p=none", "v=dmarc1; p=none", "p=none; v=DMARC1", "v=DMARC1", "v=DMARC1; p=bogus",
		"v=DMARC1; p=none; sp=bogus", "v=DMARC1; p=none; adkim=x", "v=DMARC1; p=none; psd=maybe", "v=DMARC1; p=none; rua=nota uri",
		"v=DMARC1; p=none; rua=mailto:not an address", "v=DMARC1; p=none; v=DMARC1", "v=DMARC1; p=none; fo=2", "v=DMARC1; p=none; t=1",
	} {
		if _, err := ParseDMARC(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, good := range []string{"v=DMARC1;p=none", "v = DMARC1 ; p = none", "V=DMARC1; p=none;"} {
		if _, err := ParseDMARC(good); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
}

func verdict(rep *DMARCReport, prefix string) BulkSenderVerdict {
	for _, v := range rep.Verdicts {
		if strings.HasPrefix(v.Provider, prefix) {
			return v
		}
	}
	return BulkSenderVerdict{}
}

func TestInspectDMARC(t *testing.T) {
	_, c := zonesFixture(t, "sender.example.zone", "ip.example.zone")
	ctx := context.Background()
	ip := netip.MustParseAddr("192.0.2.10")

	// SPF passes aligned, no message: Microsoft incomplete (DKIM unknown)
	spf := EvaluateSPF(ctx, c, SPFRequest{IP: ip, MailFrom: "bounce@bounce.sender.example"})
	rdns := []RDNSResult{InspectRDNS(ctx, c, ip, "")}
	rep := InspectDMARC(ctx, c, DMARCOptions{Domain: "sender.example", SPF: []SPFOutcome{spf}, RDNS: rdns,
		DKIMKeys: []DKIMKey{{Selector: "s1", Status: "ok"}}})
	ids := findingIDs(rep.Findings)
	for _, w := range []string{"dmarc.policy=ok", "dmarc.record_warning=info", "dmarc.ruf=info", "dmarc.report_authorized=ok",
		"dmarc.aligned_pass=ok", "dmarc.bulk_sender.microsoft=warn", "dmarc.bulk_sender.google_yahoo=warn"} {
		if !slices.Contains(ids, w) {
			t.Errorf("missing %s in %q", w, ids)
		}
	}
	// the ruf destination at reports.example is external: the authorization
	// record exists for sender.example, so both are authorized
	for _, ra := range rep.Reports {
		if ra.Domain == "reports.example" && (!ra.External || !ra.Authorized) {
			t.Errorf("report destination %+v", ra)
		}
	}
	if v := verdict(rep, "Microsoft"); v.Verdict != "incomplete" || v.Requirements[1].Status != RequirementUnknown {
		t.Errorf("microsoft verdict %+v", v)
	}

	// SPF fails: both verdicts fail, DMARC fails
	spf = EvaluateSPF(ctx, c, SPFRequest{IP: netip.MustParseAddr("203.0.113.5"), MailFrom: "bounce@sender.example"})
	rep = InspectDMARC(ctx, c, DMARCOptions{Domain: "sender.example", SPF: []SPFOutcome{spf}})
	ids = findingIDs(rep.Findings)
	for _, w := range []string{"dmarc.not_aligned=fail", "dmarc.bulk_sender.microsoft=fail", "dmarc.bulk_sender.google_yahoo=fail"} {
		if !slices.Contains(ids, w) {
			t.Errorf("spf fail: missing %s in %q", w, ids)
		}
	}

	// no record; p=none without rua; unauthorized external destination
	rep = InspectDMARC(ctx, c, DMARCOptions{Domain: "nodmarc.example"})
	if f := findByID(rep.Findings, "dmarc.missing"); f == nil || f.Severity != SeverityFail {
		t.Errorf("nodmarc: %q", findingIDs(rep.Findings))
	}
	rep = InspectDMARC(ctx, c, DMARCOptions{Domain: "lax.example"})
	ids = findingIDs(rep.Findings)
	if !slices.Contains(ids, "dmarc.policy_none=info") || !slices.Contains(ids, "dmarc.no_rua=warn") {
		t.Errorf("lax: %q", ids)
	}
	rec, _ := ParseDMARC("v=DMARC1; p=reject; rua=mailto:x@elsewhere.example")
	auth := authorizeReports(ctx, c, "sender.example", rec)
	if len(auth) != 1 || !auth[0].External || auth[0].Authorized || auth[0].Query != "sender.example._report._dmarc.elsewhere.example" {
		t.Errorf("unauthorized destination %+v", auth)
	}
}

func TestBulkVerdictsWithMessage(t *testing.T) {
	msg := &Message{FromDomain: "sender.example", FromCount: 1, ListUnsubscribe: true,
		Signatures: []DKIMSignature{{Domain: "sender.example", Selector: "s1", Result: "pass"}}}
	rep := &DMARCReport{
		Domain:    "sender.example",
		Policy:    DMARCPolicy{Record: &DMARCRecord{Policy: "none"}, Applied: "none", RecordDomain: "sender.example"},
		Alignment: &DMARCAlignment{Pass: true},
	}
	o := DMARCOptions{
		SPF:     []SPFOutcome{{Result: SPFPass, IP: "192.0.2.10"}},
		Message: msg,
		RDNS:    []RDNSResult{{IP: "192.0.2.10", Status: StatusOK, Confirmed: []string{"mail.sender.example"}}},
	}
	vs := bulkVerdicts(rep, o)
	if vs[0].Verdict != "meets" {
		t.Errorf("microsoft: %+v", vs[0])
	}
	// Google also wants List-Unsubscribe-Post
	if vs[1].Verdict != "fails" || vs[1].Requirements[5].Status != RequirementUnmet {
		t.Errorf("google without one-click: %+v", vs[1])
	}
	msg.ListUnsubscribePost = true
	if vs = bulkVerdicts(rep, o); vs[1].Verdict != "meets" {
		t.Errorf("google: %+v", vs[1])
	}
	msg.Signatures[0].Result = "fail"
	if vs = bulkVerdicts(rep, o); vs[0].Verdict != "fails" || vs[0].Requirements[1].Status != RequirementUnmet {
		t.Errorf("dkim fail: %+v", vs[0])
	}
}

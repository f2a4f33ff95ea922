package checks

import (
	"context"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func spfFixture(t *testing.T) (*testDNS, *Client) {
	t.Helper()
	srv := newTestDNS(t)
	srv.loadZone(t, filepath.Join("testdata", "zones", "spf.example.zone"), "spf.example.")
	return srv, srv.client(t)
}

func findingIDs(fs []Finding) []string {
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.ID+"="+string(f.Severity))
	}
	return ids
}

func findByID(fs []Finding, id string) *Finding {
	for i := range fs {
		if fs[i].ID == id {
			return &fs[i]
		}
	}
	return nil
}

// The RFC 7208 section 7.4 examples: sender strong-bad@email.example.com,
// IPv4 192.0.2.3, IPv6 2001:db8::cb01.
func TestExpandSPFMacrosRFCExamples(t *testing.T) {
	ip4 := netip.MustParseAddr("192.0.2.3")
	const sender, domain = "strong-bad@email.example.com", "email.example.com"
	tests := map[string]string{
		"%{s}":                              "strong-bad@email.example.com",
		"%{o}":                              "email.example.com",
		"%{d}":                              "email.example.com",
		"%{d4}":                             "email.example.com",
		"%{d3}":                             "email.example.com",
		"%{d2}":                             "example.com",
		"%{d1}":                             "com",
		"%{dr}":                             "com.example.email",
		"%{d2r}":                            "example.email",
		"%{l}":                              "strong-bad",
		"%{l-}":                             "strong.bad",
		"%{lr}":                             "strong-bad",
		"%{lr-}":                            "bad.strong",
		"%{l1r-}":                           "strong",
		"%{ir}.%{v}._spf.%{d2}":             "3.2.0.192.in-addr._spf.example.com",
		"%{lr-}.lp._spf.%{d2}":              "bad.strong.lp._spf.example.com",
		"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}":   "bad.strong.lp.3.2.0.192.in-addr._spf.example.com",
		"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}":  "3.2.0.192.in-addr.strong.lp._spf.example.com",
		"%{d2}.trusted-domains.example.net": "example.com.trusted-domains.example.net",
		"%%%_%-":                            "% %20",
		"%{L}":                              "strong-bad",
		"%{S}":                              "strong-bad%40email.example.com",
	}
	for in, want := range tests {
		got, err := ExpandSPFMacros(in, false, ip4, sender, "mx.example.org", domain)
		if err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", in, got, err, want)
		}
	}
	got, err := ExpandSPFMacros("%{ir}.%{v}._spf.%{d2}", false, netip.MustParseAddr("2001:db8::cb01"), sender, "", domain)
	want := "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
	// the nibbles are upper-case (see dottedIP); DNS names compare without case
	if err != nil || !strings.EqualFold(got, want) {
		t.Errorf("IPv6 = %q, %v; want %q", got, err, want)
	}
	for _, bad := range []string{"%", "%{", "%{x}", "%{d0}", "%{c}", "%{r}", "%{t}", "%a", "%{d2r?}"} {
		if _, err := ExpandSPFMacros(bad, false, ip4, sender, "", domain); err == nil {
			t.Errorf("%q accepted in a domain-spec", bad)
		}
	}
	if got, err := ExpandSPFMacros("%{c} via %{r}", true, ip4, sender, "", domain); err != nil || got != "192.0.2.3 via unknown" {
		t.Errorf("explanation = %q, %v", got, err)
	}
}

func TestParseSPFSyntax(t *testing.T) {
	good := []string{
		"v=spf1", "v=spf1 -all", "V=SPF1 ~ALL ", "v=spf1 a mx ptr a:x.example a/24 mx//64 a:x.example/24//64 -all",
		"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ip6:::ffff:1.2.3.4 exists:%{i}._spf.%{d} include:_spf.example.com ?all",
		"v=spf1 redirect=_spf.example.com exp=explain.%{d}", "v=spf1 foo.bar-baz=%{l} -all", "v=spf1 a:foo.xn--zckzah",
	}
	for _, r := range good {
		if _, err := ParseSPF(r); err != nil {
			t.Errorf("%q: %v", r, err)
		}
	}
	bad := []string{
		"v=spf10", "v=spf1 moo", "v=spf1 -all.", "v=spf1 all:x", "v=spf1 a:", "v=spf1 a/33", "v=spf1 mx//129",
		"v=spf1 ip4:1.2.3", "v=spf1 ip4:192.0.2.0/032", "v=spf1 ip4:2001:db8::1", "v=spf1 ip6:192.0.2.1", "v=spf1 ip6:fe80::1%eth0",
		"v=spf1 include", "v=spf1 include:", "v=spf1 exists:x.example/24", "v=spf1 ptr/24", "v=spf1 redirect=a.example redirect=b.example",
		"v=spf1 exp=", "v=spf1 =x", "v=spf1 1x=y", "v=spf1 a:museum", "v=spf1 a:abc.123", "v=spf1 a:x.-com", "v=spf1 -all\t",
		"v=spf1 a:caf\xc3\xa9.example", "v=spf1 foo=%z",
	}
	for _, r := range bad {
		_, err := ParseSPF(r)
		var se *SPFSyntaxError
		if err == nil {
			t.Errorf("%q accepted", r)
		} else if !errorsAs(err, &se) {
			t.Errorf("%q: error %T is not an SPFSyntaxError", r, err)
		}
	}
}

func TestEvaluateSPFReportsPathAndCounts(t *testing.T) {
	_, c := spfFixture(t)
	ctx := context.Background()
	out := EvaluateSPF(ctx, c, SPFRequest{IP: netip.MustParseAddr("198.51.100.7"), MailFrom: "bounce@good.spf.example", HELO: "mta.example"})
	if out.Result != SPFPass {
		t.Fatalf("result %s (%s)", out.Result, out.Problem)
	}
	if out.Directive != "include:_spf.esp.spf.example." || out.Mechanism != "ip4:198.51.100.0/24" || out.MechanismDomain != "_netblocks.esp.spf.example" {
		t.Errorf("directive %q mechanism %q in %q", out.Directive, out.Mechanism, out.MechanismDomain)
	}
	wantPath := []string{"good.spf.example", "include:_spf.esp.spf.example", "include:_netblocks.esp.spf.example"}
	if !slices.Equal(out.Path, wantPath) {
		t.Errorf("path %q, want %q", out.Path, wantPath)
	}
	if out.Lookups != 2 || out.VoidLookups != 0 {
		t.Errorf("lookups %d voids %d, want 2 and 0", out.Lookups, out.VoidLookups)
	}

	out = EvaluateSPF(ctx, c, SPFRequest{IP: netip.MustParseAddr("192.0.2.25"), MailFrom: "bounce@good.spf.example"})
	if out.Result != SPFPass || out.Mechanism != "mx" || out.Lookups != 3 {
		t.Errorf("mx: %s %q lookups %d", out.Result, out.Mechanism, out.Lookups)
	}
	out = EvaluateSPF(ctx, c, SPFRequest{IP: netip.MustParseAddr("203.0.113.9"), MailFrom: "bounce@good.spf.example"})
	if out.Result != SPFFail || out.Directive != "-all" {
		t.Errorf("stranger: %s %q", out.Result, out.Directive)
	}
	out = EvaluateSPF(ctx, c, SPFRequest{IP: netip.MustParseAddr("2001:db8:100::5"), HELO: "good.spf.example"})
	if out.Result != SPFPass || out.Identity != "helo" || out.Sender != "postmaster@good.spf.example" {
		t.Errorf("helo identity: %+v", out)
	}
}

func TestEvaluateSPFTimeoutIsTempError(t *testing.T) {
	srv, c := spfFixture(t)
	srv.setFault("slow.spf.example", 0, faultTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	out := EvaluateSPF(ctx, c, SPFRequest{IP: netip.MustParseAddr("192.0.2.1"), MailFrom: "x@slowinc.spf.example"})
	if out.Result != SPFTempError || !strings.Contains(out.Problem, "timeout") {
		t.Errorf("result %s problem %q, want temperror on timeout", out.Result, out.Problem)
	}
	if time.Since(start) > time.Second {
		t.Errorf("took %v", time.Since(start))
	}
	srv.setFault("slow.spf.example", 0, faultServFail)
	out = EvaluateSPF(ctx, c, SPFRequest{IP: netip.MustParseAddr("192.0.2.1"), MailFrom: "x@slowinc.spf.example"})
	if out.Result != SPFTempError || !strings.Contains(out.Problem, "servfail") {
		t.Errorf("servfail: %s %q", out.Result, out.Problem)
	}
}

func TestInspectSPFLint(t *testing.T) {
	_, c := spfFixture(t)
	tests := []struct {
		domain string
		want   []string // finding ID=severity that must be present
		absent []string
	}{
		{"good.spf.example", []string{"spf.all_fail=ok", "spf.lookups=ok"}, []string{"spf.too_many_lookups=fail", "spf.ptr=warn"}},
		{"heavy.spf.example", []string{"spf.too_many_lookups=fail", "spf.ptr=warn"}, nil},
		{"sloppy.spf.example", []string{"spf.all_pass=fail", "spf.include_none=fail", "spf.void_lookups=fail", "spf.ptr=warn", "spf.type99_present=warn"}, nil},
		{"twice.spf.example", []string{"spf.multiple_records=fail"}, nil},
		{"noall.spf.example", []string{"spf.no_all=warn"}, nil},
		{"neutralall.spf.example", []string{"spf.all_neutral=warn"}, nil},
		{"broken.spf.example", []string{"spf.syntax_error=fail"}, nil},
		{"loop1.spf.example", []string{"spf.include_loop=fail"}, nil},
		{"long.spf.example", []string{"spf.record_too_long=warn"}, nil},
		{"missing.spf.example", []string{"spf.missing=fail"}, nil},
		{"macro.spf.example", []string{"spf.macro_target=info"}, []string{"spf.include_none=fail"}},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			rep := InspectSPF(context.Background(), c, SPFOptions{Domain: tt.domain})
			ids := findingIDs(rep.Findings)
			for _, w := range tt.want {
				if !slices.Contains(ids, w) {
					t.Errorf("missing %s in %q", w, ids)
				}
			}
			for _, a := range tt.absent {
				if slices.Contains(ids, a) {
					t.Errorf("unexpected %s", a)
				}
			}
			for _, f := range rep.Findings {
				if f.Check != CheckSPF || f.Subject == "" || f.Message == "" || strings.Contains(f.Message, "\n") {
					t.Errorf("malformed finding %+v", f)
				}
			}
		})
	}

	rep := InspectSPF(context.Background(), c, SPFOptions{Domain: "heavy.spf.example"})
	if rep.TotalLookups != 13 {
		t.Errorf("heavy: %d total lookups, want 13", rep.TotalLookups)
	}
	wantLines := []string{
		"heavy.spf.example: 3 lookup(s) here, 13 in this branch",
		"  include:b1.spf.example: 4 lookup(s) here, 4 in this branch",
		"  include:b2.spf.example: 3 lookup(s) here, 3 in this branch",
		"  include:b3.spf.example: 3 lookup(s) here, 3 in this branch",
	}
	if got := rep.Tree.Lines(); !slices.Equal(got, wantLines) {
		t.Errorf("tree lines\n got %q\nwant %q", got, wantLines)
	}
	if f := findByID(rep.Findings, "spf.too_many_lookups"); f == nil || !slices.Equal(f.Evidence, wantLines) {
		t.Errorf("too_many_lookups evidence %+v", f)
	}
}

func TestInspectSPFEvaluations(t *testing.T) {
	_, c := spfFixture(t)
	rep := InspectSPF(context.Background(), c, SPFOptions{
		Domain: "good.spf.example",
		IPs:    []netip.Addr{netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("203.0.113.9")},
		HELO:   "good.spf.example",
	})
	if rep.Result != SPFPass || len(rep.Evaluations) != 2 || len(rep.HELO) != 2 {
		t.Fatalf("result %s, %d evaluations, %d helo", rep.Result, len(rep.Evaluations), len(rep.HELO))
	}
	ids := findingIDs(rep.Findings)
	for _, w := range []string{"spf.result.pass=ok", "spf.result.fail=fail", "spf.helo.pass=ok"} {
		if !slices.Contains(ids, w) {
			t.Errorf("missing %s in %q", w, ids)
		}
	}
	f := findByID(rep.Findings, "spf.result.pass")
	if f.Subject != "198.51.100.7" || !strings.Contains(f.Message, "_netblocks.esp.spf.example") {
		t.Errorf("pass finding %+v", f)
	}
}

func errorsAs(err error, target **SPFSyntaxError) bool {
	se, ok := err.(*SPFSyntaxError)
	if ok {
		*target = se
	}
	return ok
}

package checks

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDMARCTreeWalkConformance checks every expected answer listed in the
// header of dmarc-treewalk-zone/dmarcwalk.example.org.zone (RFC 9989
// column), served by a real DNS server through the real client.
func TestDMARCTreeWalkConformance(t *testing.T) {
	dir := conformanceDir(t, "dmarc-treewalk-zone")
	zone := filepath.Join(dir, "dmarcwalk.example.org.zone")
	header, err := os.ReadFile(zone)
	if err != nil {
		t.Fatal(err)
	}
	srv := newTestDNS(t)
	srv.loadZone(t, zone, "example.org.")
	c := srv.client(t)
	ctx := context.Background()

	type expect struct {
		from, org, recordDomain, policy string
		inherited                       bool
	}
	rows := []expect{
		{"direct.dmarcwalk.example.org", "direct.dmarcwalk.example.org", "direct.dmarcwalk.example.org", "reject", false},
		{"sub.psdn.dmarcwalk.example.org", "psdn.dmarcwalk.example.org", "psdn.dmarcwalk.example.org", "reject", true},
		{"sub.nopsd.dmarcwalk.example.org", "nopsd.dmarcwalk.example.org", "nopsd.dmarcwalk.example.org", "quarantine", true},
		{"leaf.mid.psdy.dmarcwalk.example.org", "mid.psdy.dmarcwalk.example.org", "psdy.dmarcwalk.example.org", "none", true},
		{"d6.d5.d4.d3.d2.d1.eightlabel.dmarcwalk.example.org", "d3.d2.d1.eightlabel.dmarcwalk.example.org", "d3.d2.d1.eightlabel.dmarcwalk.example.org", "reject", true},
		{"multirecord.dmarcwalk.example.org", "multirecord.dmarcwalk.example.org", "dmarcwalk.example.org", "reject", true},
		{"webhost.example.org", "example.org", "example.org", "none", true},
	}
	passed, total := 0, 0
	check := func(ok bool, format string, args ...any) {
		t.Helper()
		total++
		if ok {
			passed++
		} else {
			t.Errorf(format, args...)
		}
	}
	for _, row := range rows {
		if row.from != "webhost.example.org" && !strings.Contains(string(header), row.from) {
			t.Fatalf("fixture header no longer lists %s", row.from)
		}
		p := DiscoverDMARC(ctx, c, row.from)
		check(p.OrgDomain == row.org, "%s: org domain %q, want %q", row.from, p.OrgDomain, row.org)
		check(p.RecordDomain == row.recordDomain && p.Applied == row.policy && p.Inherited == row.inherited,
			"%s: policy %q from %q (inherited %v), want %q from %q (%v)", row.from, p.Applied, p.RecordDomain, p.Inherited, row.policy, row.recordDomain, row.inherited)
	}

	// more than 8 labels: the FIRST walk query is the 7-label name
	srv.resetLog()
	p := DiscoverDMARC(ctx, c, "d6.d5.d4.d3.d2.d1.eightlabel.dmarcwalk.example.org")
	log := srv.log()
	check(len(p.Walk) == 2 && p.Walk[1].Name == "_dmarc.d3.d2.d1.eightlabel.dmarcwalk.example.org" &&
		len(log) >= 2 && strings.HasPrefix(log[1], "_dmarc.d3.d2.d1.eightlabel.dmarcwalk.example.org. TXT"),
		"eight labels: walk %+v, server saw %q", p.Walk, log)

	// two records at one name are both discarded
	p = DiscoverDMARC(ctx, c, "multirecord.dmarcwalk.example.org")
	check(len(p.Walk) > 0 && len(p.Walk[0].Records) == 2 && strings.Contains(p.Walk[0].Note, "discarded"), "multirecord: walk %+v", p.Walk)

	// relaxed alignment through the Organizational Domain
	ok, err := Aligned(ctx, c, "othersub.nopsd.dmarcwalk.example.org", "sub.nopsd.dmarcwalk.example.org", false)
	check(err == nil && ok, "relaxed alignment: %v, %v", ok, err)
	ok, err = Aligned(ctx, c, "othersub.nopsd.dmarcwalk.example.org", "sub.nopsd.dmarcwalk.example.org", true)
	check(err == nil && !ok, "strict alignment must fail: %v, %v", ok, err)

	// example.org: p=none, no rua
	p = DiscoverDMARC(ctx, c, "example.org")
	check(p.Record != nil && p.Record.Policy == "none" && len(p.Record.RUA) == 0 && !p.Inherited, "example.org: %+v", p)

	// the *._report._dmarc wildcard authorizes any domain's reports to example.org
	rec, err := ParseDMARC("v=DMARC1; p=reject; rua=mailto:agg@example.org")
	if err != nil {
		t.Fatal(err)
	}
	auth := authorizeReports(ctx, c, "direct.dmarcwalk.example.org", rec)
	check(len(auth) == 1 && auth[0].External && auth[0].Authorized && auth[0].Query == "direct.dmarcwalk.example.org._report._dmarc.example.org",
		"report authorization: %+v", auth)

	// unknown names are NXDOMAIN: np (absent, so sp, absent, so p) applies
	p = DiscoverDMARC(ctx, c, "nosuch.example.org")
	check(p.NXDomain && p.Applied == "none" && p.RecordDomain == "example.org", "nonexistent subdomain: %+v", p)

	t.Logf("DMARC tree-walk fixture: %d/%d expected answers", passed, total)
}

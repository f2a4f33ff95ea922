package checks

import (
	"context"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func zonesFixture(t *testing.T, files ...string) (*testDNS, *Client) {
	t.Helper()
	srv := newTestDNS(t)
	for _, f := range files {
		srv.loadZone(t, filepath.Join("testdata", "zones", f), ".")
	}
	return srv, srv.client(t)
}

func TestGenericReason(t *testing.T) {
	ip := netip.MustParseAddr("203.0.113.45")
	generic := []string{
		"203-0-113-45.static.isp.example", "45.113.0.203.in-addr.isp.example", "host45-113-0-203.isp.example",
		"cpe-203-0-113-45.cable.isp.example", "dsl-line.isp.example", "dynamic-45.isp.example", "pool45.isp.example",
		"203000113045.isp.example", "cb00712d.isp.example", "ppp12.isp.example",
	}
	for _, n := range generic {
		if GenericReason(n, ip) == "" {
			t.Errorf("%s: not seen as generic", n)
		}
	}
	clean := []string{"mail.example.com", "mta45.sender.example", "smtp-out-2.sender.example", "o1.email.esp.example", "mail.dsl.example"}
	for _, n := range clean {
		if why := GenericReason(n, ip); why != "" {
			t.Errorf("%s: seen as generic (%s)", n, why)
		}
	}
	if GenericReason("2001-db8-0-0-0-0-0-25.ip6.isp.example", netip.MustParseAddr("2001:db8::25")) == "" {
		t.Error("IPv6 groups not seen")
	}
}

func TestInspectRDNS(t *testing.T) {
	srv, c := zonesFixture(t, "ip.example.zone")
	ctx := context.Background()
	tests := []struct {
		ip, helo string
		want     []string
		absent   []string
	}{
		{"192.0.2.10", "mail.sender.example", []string{"rdns.confirmed=ok", "rdns.helo_match=ok"}, []string{"rdns.generic=warn"}},
		{"192.0.2.10", "other.sender.example", []string{"rdns.confirmed=ok", "rdns.helo_mismatch=warn"}, nil},
		{"192.0.2.11", "", []string{"rdns.confirmed=ok", "rdns.generic=warn"}, nil},
		{"192.0.2.12", "", []string{"rdns.not_confirmed=fail"}, nil},
		{"192.0.2.13", "", []string{"rdns.missing=fail"}, nil},
		{"192.0.2.14", "", []string{"rdns.multiple_ptr=info", "rdns.confirmed=ok", "rdns.generic=warn"}, nil},
		{"2001:db8::25", "mail6.sender.example", []string{"rdns.confirmed=ok", "rdns.helo_match=ok"}, nil},
		{"::ffff:192.0.2.10", "", []string{"rdns.confirmed=ok"}, nil},
	}
	for _, tt := range tests {
		res := InspectRDNS(ctx, c, netip.MustParseAddr(tt.ip), tt.helo)
		ids := findingIDs(res.Findings)
		for _, w := range tt.want {
			if !slices.Contains(ids, w) {
				t.Errorf("%s %s: missing %s in %q", tt.ip, tt.helo, w, ids)
			}
		}
		for _, a := range tt.absent {
			if slices.Contains(ids, a) {
				t.Errorf("%s: unexpected %s", tt.ip, a)
			}
		}
	}
	srv.setFault("10.2.0.192.in-addr.arpa", 0, faultServFail)
	res := InspectRDNS(ctx, c, netip.MustParseAddr("192.0.2.10"), "")
	if ids := findingIDs(res.Findings); !slices.Equal(ids, []string{"rdns.dns_error=warn"}) {
		t.Errorf("servfail: %q", ids)
	}
}

func testZones() []DNSBLZone {
	mk := func(zone string, v6 bool) DNSBLZone {
		return DNSBLZone{Zone: zone, Name: zone, IPv6: v6, Codes: map[string]string{"127.0.0.2": "test point", "127.0.0.11": "PBL: end-user range"}}
	}
	return []DNSBLZone{mk("zen.test", true), mk("picky.test", false), mk("deaf.test", false), mk("everything.test", false), mk("hijack.test", false)}
}

func TestDNSBLName(t *testing.T) {
	if got := dnsblName(netip.MustParseAddr("192.0.2.99"), "zen.spamhaus.org"); got != "99.2.0.192.zen.spamhaus.org" {
		t.Errorf("IPv4: %s", got)
	}
	// RFC 5782 2.4 example
	got := dnsblName(netip.MustParseAddr("2001:db8:1:2:3:4:567:89ab"), "ugly.example.com")
	if got != "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com" {
		t.Errorf("IPv6: %s", got)
	}
}

func TestInspectDNSBL(t *testing.T) {
	_, c := zonesFixture(t, "ip.example.zone")
	ips := []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("192.0.2.11"), netip.MustParseAddr("2001:db8::25")}
	rep := InspectDNSBL(context.Background(), c, ips, testZones())
	health := map[string]bool{}
	for _, h := range rep.Health {
		health[h.Zone] = h.Healthy
	}
	wantHealth := map[string]bool{"zen.test": true, "picky.test": true, "deaf.test": false, "everything.test": false, "hijack.test": true}
	for z, w := range wantHealth {
		if health[z] != w {
			t.Errorf("%s healthy=%v, want %v", z, health[z], w)
		}
	}
	status := map[string]string{}
	for _, res := range rep.Results {
		for _, l := range res.Listings {
			status[res.IP+" "+l.Zone] = l.Status
		}
	}
	want := map[string]string{
		"192.0.2.10 zen.test": "not_listed", "192.0.2.10 picky.test": "refused", "192.0.2.10 hijack.test": "error",
		"192.0.2.10 deaf.test": "unhealthy", "192.0.2.11 zen.test": "listed", "2001:db8::25 zen.test": "listed",
		"2001:db8::25 picky.test": "skipped",
	}
	for k, w := range want {
		if status[k] != w {
			t.Errorf("%s: %s, want %s", k, status[k], w)
		}
	}
	listed := findByID(rep.Findings, "dnsbl.listed")
	if listed == nil || listed.Subject != "192.0.2.11" || !strings.Contains(listed.Message, "PBL: end-user range") ||
		!slices.Contains(listed.Evidence, "11.2.0.192.zen.test TXT https://check.zen.test/query/ip/192.0.2.11") {
		t.Errorf("listed finding %+v", listed)
	}
	ids := findingIDs(rep.Findings)
	for _, w := range []string{"dnsbl.zone_unhealthy=warn", "dnsbl.refused=warn", "dnsbl.error=warn", "dnsbl.not_listed=ok"} {
		if !slices.Contains(ids, w) {
			t.Errorf("missing %s in %q", w, ids)
		}
	}
	if f := findByID(rep.Findings, "dnsbl.refused"); !strings.Contains(f.Message, "public or open resolvers") {
		t.Errorf("refused: %s", f.Message)
	}
}

func TestInspectMX(t *testing.T) {
	_, c := zonesFixture(t, "mx.example.zone")
	ctx := context.Background()
	tests := []struct {
		domain string
		want   []string
	}{
		{"sender.example", []string{"mx.present=ok", "mx.cname=warn", "mx.mta_sts=info", "mx.tls_rpt=ok"}},
		{"nullmx.example", []string{"mx.null=fail"}},
		{"implicit.example", []string{"mx.implicit=warn", "mx.mta_sts_missing=info", "mx.tls_rpt_missing=info"}},
		{"nomail.example", []string{"mx.missing=fail"}},
		{"deadmx.example", []string{"mx.unreachable=fail"}},
		{"badsts.example", []string{"mx.present=ok", "mx.mta_sts_invalid=warn", "mx.tls_rpt_invalid=warn"}},
	}
	for _, tt := range tests {
		rep := InspectMX(ctx, c, MXOptions{Domain: tt.domain})
		ids := findingIDs(rep.Findings)
		for _, w := range tt.want {
			if !slices.Contains(ids, w) {
				t.Errorf("%s: missing %s in %q", tt.domain, w, ids)
			}
		}
	}
	rep := InspectMX(ctx, c, MXOptions{Domain: "sender.example", Recipients: []string{"hotmail.test", "tenant.test", "dane.test", "gmail.test", "other.test", "absent.test"}})
	got := map[string]ReceiverSystem{}
	for _, r := range rep.Recipients {
		got[r.Domain] = r.System
	}
	want := map[string]ReceiverSystem{"hotmail.test": ReceiverOutlookConsumer, "tenant.test": ReceiverMicrosoft365, "dane.test": ReceiverMicrosoft365,
		"gmail.test": ReceiverGoogle, "other.test": ReceiverOther, "absent.test": ReceiverOther}
	for d, w := range want {
		if got[d] != w {
			t.Errorf("%s: %s, want %s", d, got[d], w)
		}
	}
	if f := findByID(rep.Findings, "mx.mta_sts"); !strings.Contains(f.Message, "only the DNS part was checked") {
		t.Errorf("MTA-STS finding must say the policy was not fetched: %q", f.Message)
	}
	if f := findByID(rep.Findings, "mx.recipient_no_mx"); f == nil || f.Subject != "absent.test" {
		t.Errorf("absent recipient: %q", findingIDs(rep.Findings))
	}
}

package checks

import (
	"net/netip"
	"strings"
	"testing"
)

func TestDefaultSelectors(t *testing.T) {
	sel, err := DefaultSelectors()
	if err != nil {
		t.Fatal(err)
	}
	if len(sel) < 20 {
		t.Fatalf("only %d selectors", len(sel))
	}
	seen := map[string]bool{}
	for _, s := range sel {
		if seen[s.Selector] {
			t.Errorf("selector %q listed twice", s.Selector)
		}
		seen[s.Selector] = true
		// every selector must be usable as a DNS label
		if why := checkName(s.Selector + "._domainkey.example.com"); why != "" || strings.ContainsAny(s.Selector, " .") {
			t.Errorf("selector %q: %s", s.Selector, why)
		}
		if len(s.Source) < 10 {
			t.Errorf("selector %q has no real source: %q", s.Selector, s.Source)
		}
	}
	for _, must := range []string{"google", "selector1", "selector2", "s1", "s2", "k1", "mandrill", "smtpapi", "everlytickey1", "mxvault", "default", "dkim", "mail"} {
		if !seen[must] {
			t.Errorf("well-known selector %q missing", must)
		}
	}
}

func TestDefaultDNSBLZones(t *testing.T) {
	zones, err := DefaultDNSBLZones()
	if err != nil {
		t.Fatal(err)
	}
	if zones[0].Zone != "zen.spamhaus.org" {
		t.Errorf("first zone %s, want Spamhaus ZEN (Microsoft OU-001)", zones[0].Zone)
	}
	for _, z := range zones {
		// the RFC 5782 test point must decode in every zone
		if z.Codes["127.0.0.2"] == "" {
			t.Errorf("%s: no meaning for 127.0.0.2", z.Zone)
		}
		for code := range z.Codes {
			a, err := netip.ParseAddr(code)
			if err != nil || !a.IsLoopback() {
				t.Errorf("%s: code %q is not a 127/8 address", z.Zone, code)
			}
		}
		if z.Source == "" || checkName(z.Zone) != "" {
			t.Errorf("zone row %+v", z)
		}
	}
}

// Every MX rule's example host is a test case (STYLE habit 14).
func TestReceiverRulesExamples(t *testing.T) {
	rules, err := receiverRules()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		got, src := classifyMXHost(rules, r.example)
		if got != r.system || src != r.source {
			t.Errorf("example %s: %s, want %s", r.example, got, r.system)
		}
	}
	for host, want := range map[string]ReceiverSystem{
		"HOTMAIL-COM.olc.protection.outlook.com.": ReceiverOutlookConsumer,
		"eur.olc.protection.outlook.com":          ReceiverOutlookConsumer,
		"contoso-com.mail.protection.outlook.com": ReceiverMicrosoft365,
		"alt1.aspmx.l.google.com":                 ReceiverGoogle,
		"mx.example.net":                          ReceiverOther,
		"protection.outlook.com":                  ReceiverOther,
		"notsmtp.google.com":                      ReceiverOther,
	} {
		if got, _ := classifyMXHost(rules, host); got != want {
			t.Errorf("%s: %s, want %s", host, got, want)
		}
	}
}

package checks

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
)

func TestRunAllChecks(t *testing.T) {
	srv, c := zonesFixture(t, "sender.example.zone", "ip.example.zone", "mx.example.zone")
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srv.add(txtRR("s2025._domainkey.sender.example", "v=DKIM1; k=ed25519; p="+base64.StdEncoding.EncodeToString(pub)))
	raw := signTestMessage(t, strings.ReplaceAll(dkimTestMessage, "dkim.example", "sender.example"), "sender.example", "s2025", key, dkim.CanonicalizationRelaxed, nil)

	rep := Run(context.Background(), Options{
		Domain:     "Sender.Example.",
		IPs:        []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("192.0.2.11")},
		Selectors:  []string{"s2025"},
		HELO:       "mail.sender.example",
		MailFrom:   "bounce@sender.example",
		Message:    raw,
		Recipients: []string{"hotmail.test"},
		Resolver:   c,
		DNSBLZones: testZones()[:1],
		Timeout:    10 * time.Second,
	})
	if rep.Domain != "sender.example" || !slices.Equal(rep.Checks, AllChecks()) {
		t.Errorf("domain %q checks %v", rep.Domain, rep.Checks)
	}
	if rep.SPF == nil || rep.DKIM == nil || rep.DMARC == nil || len(rep.RDNS) != 2 || rep.DNSBL == nil || rep.MX == nil {
		t.Fatalf("missing sections: %+v", rep)
	}
	ids := findingIDs(rep.Findings)
	for _, w := range []string{
		"spf.result.pass=ok", "spf.all_fail=ok", "dkim.signature.pass=ok", "dkim.key_ok=ok", "dmarc.policy=ok", "dmarc.aligned_pass=ok",
		"dmarc.bulk_sender.microsoft=ok", "dmarc.bulk_sender.google_yahoo=ok", "rdns.confirmed=ok", "rdns.generic=warn",
		"dnsbl.listed=fail", "mx.present=ok", "mx.recipient_system=info",
	} {
		if !slices.Contains(ids, w) {
			t.Errorf("missing %s in %q", w, ids)
		}
	}
	if !rep.Failed() || rep.Worst != SeverityFail || rep.Counts["fail"] == 0 {
		t.Errorf("worst %s counts %v", rep.Worst, rep.Counts)
	}
	// findings come out grouped by check, in AllChecks order
	order := map[CheckName]int{}
	for i, c := range AllChecks() {
		order[c] = i
	}
	if !slices.IsSortedFunc(rep.Findings, func(a, b Finding) int { return order[a.Check] - order[b.Check] }) {
		t.Error("findings are not grouped in check order")
	}
	idPattern := regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]+)+$`)
	for _, f := range rep.Findings {
		if !idPattern.MatchString(f.ID) || f.Severity.Rank() < 0 || f.Message == "" || strings.ContainsAny(f.Message, "\r\n") {
			t.Errorf("malformed finding %+v", f)
		}
	}

	// JSON keys are snake_case and severities read as words
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	badKey := regexp.MustCompile(`[A-Z]`)
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, vv := range x {
				if badKey.MatchString(k) && !strings.Contains(k, ".") {
					t.Errorf("JSON key %q is not snake_case", k)
				}
				walk(vv)
			}
		case []any:
			for _, vv := range x {
				walk(vv)
			}
		}
	}
	walk(generic)
	if !strings.Contains(string(b), `"severity":"fail"`) || !strings.Contains(string(b), `"result":"pass"`) || !strings.Contains(string(b), `"system":"outlook_consumer"`) {
		t.Error("enums do not marshal as words")
	}
}

func TestRunOnlyRequestedChecks(t *testing.T) {
	_, c := zonesFixture(t, "sender.example.zone", "ip.example.zone", "mx.example.zone")
	rep := Run(context.Background(), Options{Domain: "sender.example", IPs: []netip.Addr{netip.MustParseAddr("192.0.2.10")},
		Checks: []CheckName{CheckDMARC}, Resolver: c, NoProbe: true})
	if rep.SPF != nil || rep.DKIM != nil || rep.RDNS != nil || rep.DNSBL != nil || rep.MX != nil || rep.DMARC == nil {
		t.Fatalf("sections: spf %v dkim %v dmarc %v", rep.SPF != nil, rep.DKIM != nil, rep.DMARC != nil)
	}
	for _, f := range rep.Findings {
		if f.Check != CheckDMARC {
			t.Errorf("finding of check %s in a DMARC-only run: %s", f.Check, f.ID)
		}
	}
	// the DMARC verdict still used the SPF evaluation it ran quietly
	if v := verdict(rep.DMARC, "Microsoft"); v.Requirements[0].Status != RequirementMet {
		t.Errorf("SPF requirement %+v", v.Requirements[0])
	}

	bad := Run(context.Background(), Options{Domain: "localhost", Resolver: c})
	if f := findByID(bad.Findings, "run.bad_domain"); f == nil || !bad.Failed() {
		t.Errorf("single-label domain: %q", findingIDs(bad.Findings))
	}
}

// A server that never answers must give temperror findings within the
// deadline, never a hang.
func TestRunDeadlineWithSilentServer(t *testing.T) {
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	c, err := NewClient(ClientConfig{Servers: []string{silent.LocalAddr().String()}, QueryTimeout: 2 * time.Second, Attempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rep := Run(context.Background(), Options{
		Domain: "sender.example", IPs: []netip.Addr{netip.MustParseAddr("192.0.2.10")}, HELO: "mail.sender.example",
		Resolver: c, Timeout: 700 * time.Millisecond, Recipients: []string{"hotmail.test"},
	})
	elapsed := time.Since(start)
	if elapsed > 3*time.Second {
		t.Fatalf("run took %v with a 700ms deadline", elapsed)
	}
	ids := findingIDs(rep.Findings)
	for _, w := range []string{"spf.dns_error=warn", "spf.result.temperror=warn", "dmarc.dns_error=warn", "dmarc.temperror=warn", "rdns.dns_error=warn", "mx.dns_error=warn"} {
		if !slices.Contains(ids, w) {
			t.Errorf("missing %s in %q", w, ids)
		}
	}
	for _, f := range rep.Findings {
		if f.Severity == SeverityOK {
			t.Errorf("nothing was verified, yet %s says ok: %s", f.ID, f.Message)
		}
	}
	if rep.Failed() {
		t.Errorf("a dead resolver is not the sender's failure: %q", ids)
	}
	if f := findByID(rep.Findings, "spf.result.temperror"); !strings.Contains(f.Message, "timeout") {
		t.Errorf("temperror message %q", f.Message)
	}
}

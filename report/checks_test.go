package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/senderscope/senderscope/checks"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares got with testdata/golden/<test name>.<ext>.
func golden(t *testing.T, ext string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", strings.ReplaceAll(t.Name(), "/", "_")+"."+ext)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report/ -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output:\n%s", path, got)
	}
}

// sampleCheckReport is a run with a failing SPF evaluation, a DKIM key, a
// DMARC policy, one IP's reverse DNS and a block-list hit.
func sampleCheckReport() checks.Report {
	fail := checks.Finding{ID: "spf.result.fail", Check: checks.CheckSPF, Severity: checks.SeverityFail, Subject: "203.0.113.9",
		Message:  `SPF fail for bounce@example.com from 203.0.113.9: not authorized by "-all" in example.com`,
		Evidence: []string{"check_host(203.0.113.9, example.com, bounce@example.com) = fail", `example.com TXT "v=spf1 include:_spf.esp.example -all"`}}
	listed := checks.Finding{ID: "dnsbl.listed", Check: checks.CheckDNSBL, Severity: checks.SeverityFail, Subject: "203.0.113.9",
		Message: "203.0.113.9 is listed on Spamhaus ZEN (zen.spamhaus.org): PBL: end-user range listed by its ISP", Evidence: []string{"9.113.0.203.zen.spamhaus.org A 127.0.0.10"}}
	generic := checks.Finding{ID: "rdns.generic", Check: checks.CheckRDNS, Severity: checks.SeverityWarn, Subject: "203.0.113.9",
		Message: "PTR 9-113-0-203.dsl.isp.example looks like a generic or dynamic address name", Evidence: []string{"9.113.0.203.in-addr.arpa PTR 9-113-0-203.dsl.isp.example"}}
	keyOK := checks.Finding{ID: "dkim.key_ok", Check: checks.CheckDKIM, Severity: checks.SeverityOK, Subject: "s1._domainkey.example.com",
		Message: `selector "s1" (default selector of Twilio SendGrid) publishes a 2048-bit RSA key`}
	policy := checks.Finding{ID: "dmarc.policy", Check: checks.CheckDMARC, Severity: checks.SeverityOK, Subject: "example.com",
		Message: "mail from example.com gets p=none from its own record (Organizational Domain example.com)"}
	tree := &checks.SPFNode{Domain: "example.com", Record: "v=spf1 include:_spf.esp.example -all", Status: "ok", Lookups: 1, TotalLookups: 1,
		Children: []*checks.SPFNode{{Domain: "_spf.esp.example", Via: "include:_spf.esp.example", Status: "ok"}}}
	rep := checks.Report{
		Domain: "example.com", IPs: []string{"203.0.113.9"}, Checks: checks.AllChecks(),
		Findings: []checks.Finding{fail, keyOK, policy, generic, listed},
		SPF: &checks.SPFReport{Domain: "example.com", Record: tree.Record, Result: checks.SPFFail, Tree: tree, TotalLookups: 1,
			Evaluations: []checks.SPFOutcome{{Result: checks.SPFFail, Identity: "mailfrom", Domain: "example.com", Sender: "bounce@example.com",
				IP: "203.0.113.9", Directive: "-all", Mechanism: "-all", MechanismDomain: "example.com", Path: []string{"example.com"}, Lookups: 1}},
			Findings: []checks.Finding{fail}},
		DKIM: &checks.DKIMReport{Domain: "example.com", Probed: 30, Findings: []checks.Finding{keyOK},
			Keys: []checks.DKIMKey{{Selector: "s1", Domain: "example.com", Name: "s1._domainkey.example.com", Source: "Twilio SendGrid", Status: "ok",
				Key: &checks.DKIMKeyRecord{KeyType: "rsa", Bits: 2048}}}},
		DMARC: &checks.DMARCReport{Domain: "example.com", Findings: []checks.Finding{policy},
			Policy: checks.DMARCPolicy{Domain: "example.com", RecordDomain: "example.com", OrgDomain: "example.com", Applied: "none",
				Record: &checks.DMARCRecord{Raw: "v=DMARC1; p=none", Policy: "none", ADKIM: "r", ASPF: "r", PSD: "u"},
				Walk:   []checks.DMARCQuery{{Name: "_dmarc.example.com", Status: checks.StatusOK, Records: []string{"v=DMARC1; p=none"}}}},
			Verdicts: []checks.BulkSenderVerdict{{Provider: "Microsoft (Outlook.com, >5,000 messages a day)", Source: "knowledge/microsoft.md 4.3", Verdict: "fails",
				Requirements: []checks.Requirement{{Name: "SPF pass", Status: checks.RequirementUnmet, Detail: "203.0.113.9=fail"}}}}},
		RDNS: []checks.RDNSResult{{IP: "203.0.113.9", ReverseName: "9.113.0.203.in-addr.arpa", Status: checks.StatusOK,
			PTR: []string{"9-113-0-203.dsl.isp.example"}, Confirmed: []string{"9-113-0-203.dsl.isp.example"},
			Generic: map[string]string{"9-113-0-203.dsl.isp.example": "contains the address 203-0-113-9"}, Findings: []checks.Finding{generic}}},
		DNSBL: &checks.DNSBLReport{Findings: []checks.Finding{listed}, Results: []checks.DNSBLResult{{IP: "203.0.113.9", Listings: []checks.DNSBLListing{
			{Zone: "zen.spamhaus.org", Name: "Spamhaus ZEN", Status: "listed", Codes: []string{"127.0.0.10"}, Meanings: []string{"PBL: end-user range listed by its ISP"}},
			{Zone: "bl.spamcop.net", Name: "SpamCop", Status: "not_listed"}}}}},
		Worst:  checks.SeverityFail,
		Counts: map[string]int{"fail": 2, "warn": 1, "ok": 2},
	}
	return rep
}

func TestCheckDoc(t *testing.T) {
	rep := sampleCheckReport()
	for _, tc := range []struct {
		format Format
		ext    string
	}{{FormatTable, "txt"}, {FormatMarkdown, "md"}, {FormatCSV, "csv"}} {
		t.Run(string(tc.format), func(t *testing.T) {
			var b bytes.Buffer
			if err := (Printer{W: &b, Format: tc.format}).Print(CheckDoc(rep, "")); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.ext, b.Bytes())
		})
	}
}

// "check spf -o json" prints the SPF section: its "result" is the SPF result.
func TestCheckDocSPFJSON(t *testing.T) {
	var b bytes.Buffer
	if err := (Printer{W: &b, Format: FormatJSON}).Print(CheckDoc(sampleCheckReport(), checks.CheckSPF)); err != nil {
		t.Fatal(err)
	}
	var v struct {
		Result string `json:"result"`
	}
	if err := json.Unmarshal(b.Bytes(), &v); err != nil || v.Result != "fail" {
		t.Fatalf("result %q, %v", v.Result, err)
	}
	golden(t, "json", b.Bytes())
}

package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files")

// testApp runs commands against buffers and a database in a temp dir.
func testApp(t *testing.T) (*App, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var out, errb bytes.Buffer
	app := newApp()
	app.Stdin = strings.NewReader("")
	app.Stdout, app.Stderr = &out, &errb
	app.StdoutTTY, app.StderrTTY = false, false
	app.Now = func() time.Time { return time.Date(2026, 2, 25, 9, 0, 0, 0, time.UTC) }
	db := filepath.Join(t.TempDir(), "t.db")
	app.Getenv = func(k string) string {
		if k == "SENDERSCOPE_DB" {
			return db
		}
		return ""
	}
	return app, &out, &errb
}

func mustRun(t *testing.T, app *App, out, errb *bytes.Buffer, args ...string) string {
	t.Helper()
	out.Reset()
	errb.Reset()
	if code := run(context.Background(), app, args); code != 0 {
		t.Fatalf("senderscope %s: exit %d\nstderr: %s", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}

func golden(t *testing.T, ext, got string) {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "golden", strings.ReplaceAll(t.Name(), "/", "_")+ext)
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test ./cmd/senderscope -run %s -update rewrites it):\n%s", path, t.Name(), got)
	}
}

// The committed excerpt of the bundled incident: Monday's and Tuesday's
// batches, the burst, the onset on both IPs and the next morning.
const excerpt = "../../testdata/incident/notifications.csv.gz"

func TestTicketGolden(t *testing.T) {
	app, out, errb := testApp(t)
	mustRun(t, app, out, errb, "ingest", "--no-progress", excerpt)
	args := []string{"ticket", "--domain", "example.com", "--offline", "--contact-name", "Ana Ops",
		"--contact-email", "postmaster@example.net", "--website", "https://example.com/", "--self-description", "business",
		"--server-type", "dedicated", "--remediation", "Capped Outlook.com at 10 messages per minute per IP on 2026-02-25 08:00 UTC",
		"--cap", "10/1m"}
	for _, f := range []struct{ format, ext string }{{"text", ".txt"}, {"markdown", ".md"}, {"json", ".json"}} {
		t.Run(f.format, func(t *testing.T) {
			got := mustRun(t, app, out, errb, append(args, "-o", f.format)...)
			golden(t, f.ext, got)
		})
	}
}

func TestTicketFieldsAndRouting(t *testing.T) {
	app, out, errb := testApp(t)
	mustRun(t, app, out, errb, "ingest", "--no-progress", excerpt)
	got := mustRun(t, app, out, errb, "ticket", "--offline")
	for _, want := range []string{
		`Where: Outlook.com "Sender Information for Outlook.com Delivery" form`,
		"Issue title:\n  Deferrals 4.7.650 (S775) on 2 IPs since 2026-02-24 UTC: mitigation request",
		"Outgoing IP addresses or ranges:\n  203.0.113.10; 203.0.113.7",
		"(MISSING: --contact-name, or contact_name in --config)",
		"(MISSING: --domain, or sending_domain in --config)",
		"Missing before you submit: Contact name; Contact email address; What domain are you sending from; How would you describe your company / yourself; Website; Do you have a dedicated or shared server/IP; Remediation already applied",
		"the first 4.7.650 deferral on 203.0.113.10",
	} {
		if !strings.Contains(strings.ToLower(got), strings.ToLower(want)) {
			t.Errorf("ticket lacks %q", want)
		}
	}
	// 3 to 5 verbatim replies, with Microsoft's server and timestamp trailer.
	msgs := regexp.MustCompile(`(?m)^  451 4\.7\.650 .*\.prod\.protection\.outlook\.com \d{4}-\d\d-\d\dT[\d:.]+Z [0-9A-F]+\]$`).FindAllString(got, -1)
	if len(msgs) < 3 || len(msgs) > 5 {
		t.Errorf("%d verbatim error messages, want 3 to 5:\n%s", len(msgs), strings.Join(msgs, "\n"))
	}
}

func TestTicketRedactsAddresses(t *testing.T) {
	app, out, errb := testApp(t)
	dir := t.TempDir()
	csv := filepath.Join(dir, "e.csv")
	os.WriteFile(csv, []byte(`created_at,email,status,response,ip
2026-02-24 19:00:00+00,jane.doe@outlook.com,delivered,250 2.0.0 OK,203.0.113.7
2026-02-24 21:00:00+00,jane.doe@outlook.com,deferred,"451 4.7.650 The mail server [203.0.113.7] has been temporarily rate limited due to IP reputation. (S775)",203.0.113.7
2026-02-24 21:05:00+00,bob.smith@hotmail.com,bounced,"550 5.7.1 <bob.smith@hotmail.com>: Unfortunately, messages from [203.0.113.7] weren't sent. (S3150)",203.0.113.7
`), 0o644)
	mustRun(t, app, out, errb, "ingest", csv)
	for _, format := range []string{"text", "markdown", "json"} {
		got := mustRun(t, app, out, errb, "ticket", "--offline", "-o", format)
		for _, addr := range []string{"jane.doe", "bob.smith"} {
			if strings.Contains(got, addr) {
				t.Errorf("-o %s: ticket shows the recipient %q", format, addr)
			}
		}
		if !strings.Contains(strings.ReplaceAll(got, `\`, ""), "[redacted]@hotmail.com") {
			t.Errorf("-o %s: the address in the 5.7.1 reply is not shown redacted", format)
		}
	}
	got := mustRun(t, app, out, errb, "ticket", "--offline", "--contact-email", "ops@example.net")
	if !strings.Contains(got, "ops@example.net") {
		t.Errorf("the sender's own contact e-mail must not be redacted")
	}
	got = mustRun(t, app, out, errb, "ticket", "--offline", "--no-redact")
	if !strings.Contains(got, "<bob.smith@hotmail.com>") {
		t.Errorf("--no-redact should keep the address in the reply")
	}
}

// TestReportGoldenIncident: the incident report on the committed excerpt of
// the bundled incident (the burst, the onset on both IPs, the next morning).
func TestReportGoldenIncident(t *testing.T) {
	app, out, errb := testApp(t)
	mustRun(t, app, out, errb, "ingest", "--no-progress", excerpt)
	for _, f := range []struct{ format, ext string }{{"markdown", ".md"}, {"json", ".json"}} {
		t.Run(f.format, func(t *testing.T) {
			got := mustRun(t, app, out, errb, "report", "--offline", "--format", f.format)
			golden(t, f.ext, got)
		})
	}
}

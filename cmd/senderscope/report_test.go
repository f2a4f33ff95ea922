package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/senderscope/senderscope/analyze"
	"github.com/senderscope/senderscope/ingest"
)

// The payloads a hostile receiving server can put in a reply. The title
// ones make execution visible to a browser test: document.title changes.
const (
	payloadScript   = `<script>alert(1)</script>`
	payloadImg      = `<img src=x onerror=alert(1)>`
	payloadTitle    = `<script>document.title='pwned'</script><img src=x onerror="document.title='pwned'"><svg onload="document.title='pwned'">`
	hostileFileName = `logs&<b onmouseover="alert(1)">.csv`
)

// incidentFixture is a small incident with the bundled one's shape: steady
// traffic from two IPs, a burst to Microsoft, 4.7.650 deferrals on both IPs
// that retry and are delivered, recovery the next day; a bounce whose reply
// names its recipient, and deferrals whose replies carry markup.
type incidentFixture struct {
	csvPath    string
	recipients []string // every recipient address in the log
	locals     []string // local parts that appear inside reply texts
}

func writeIncidentFixture(t *testing.T, dir string) incidentFixture {
	t.Helper()
	fx := incidentFixture{csvPath: filepath.Join(dir, hostileFileName)}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"created_at", "email", "status", "response", "ip", "message_id"})
	ips := []string{"203.0.113.7", "203.0.113.10"}
	n := 0
	row := func(ts time.Time, to, status, reply, ip, id string) {
		w.Write([]string{ts.Format("2006-01-02 15:04:05.000000-07"), to, status, reply, ip, id})
	}
	send := func(ts time.Time, domain, ip string) string {
		n++
		to := fmt.Sprintf("user%d@%s", n, domain)
		fx.recipients = append(fx.recipients, to)
		return to
	}
	day := time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)
	for d := 0; d < 4; d++ {
		for m := 10 * 60; m < 20*60; m += 5 {
			for i, ip := range ips {
				ts := day.AddDate(0, 0, d).Add(time.Duration(m)*time.Minute + time.Duration(i*17)*time.Second)
				to := send(ts, "hotmail.com", ip)
				row(ts, to, "delivered", "250 2.6.0 Queued mail for delivery", ip, fmt.Sprintf("m%d", n))
				if m%10 == 0 {
					ts = ts.Add(40 * time.Second)
					to = send(ts, "gmail.com", ip)
					row(ts, to, "delivered", "250 2.0.0 OK", ip, fmt.Sprintf("m%d", n))
				}
			}
		}
	}
	// The burst: 30 sends to Microsoft in the minute of 19:40 on day 3.
	burst := time.Date(2026, 2, 22, 19, 40, 0, 0, time.UTC)
	for i := 0; i < 30; i++ {
		ip := ips[i%2]
		ts := burst.Add(time.Duration(i*2) * time.Second)
		to := send(ts, "outlook.com", ip)
		row(ts, to, "delivered", "250 2.6.0 Queued mail for delivery", ip, fmt.Sprintf("m%d", n))
	}
	// The deferrals: from 21:00 every 5 minutes per IP, deferred twice, then
	// delivered an hour after the first attempt.
	start := time.Date(2026, 2, 22, 21, 0, 10, 0, time.UTC)
	for k := 0; k < 72; k++ {
		for i, ip := range ips {
			ts := start.Add(time.Duration(k*5)*time.Minute + time.Duration(i*310)*time.Second)
			to := send(ts, "hotmail.com", ip)
			id := fmt.Sprintf("m%d", n)
			for try := 0; try < 2; try++ {
				reply := fmt.Sprintf("451 4.7.650 The mail server [%s] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://aka.ms/postmaster (S775) [Name=Protocol Filter Agent][AGT=PFA][MxId=11B%013X] [BY2NAM08FT%03d.eop-nam08.prod.protection.outlook.com]", ip, n*7919+try, (n+try)%1000)
				row(ts.Add(time.Duration(try)*30*time.Minute), to, "deferred", reply, ip, id)
			}
			row(ts.Add(time.Hour), to, "delivered", "250 2.6.0 Queued mail for delivery", ip, id)
		}
	}
	// A bounce whose reply names the recipient.
	ts := time.Date(2026, 2, 22, 21, 30, 0, 0, time.UTC)
	row(ts, "jane.doe@outlook.com", "bounced", "550 5.1.1 <jane.doe@outlook.com>: Recipient address rejected: User unknown", ips[0], "bounce1")
	fx.recipients = append(fx.recipients, "jane.doe@outlook.com")
	fx.locals = append(fx.locals, "jane.doe")
	// Hostile replies from a receiving server, with the recipient in them.
	for i, p := range []string{payloadScript + payloadImg, payloadTitle} {
		ts := time.Date(2026, 2, 22, 22, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
		to := fmt.Sprintf("bob.smith%d@gmail.com", i)
		row(ts, to, "deferred", fmt.Sprintf("421 4.7.0 %s try again later <%s>", p, to), ips[1], fmt.Sprintf("hostile%d", i))
		fx.recipients = append(fx.recipients, to)
		fx.locals = append(fx.locals, fmt.Sprintf("bob.smith%d", i))
	}
	w.Flush()
	if err := os.WriteFile(fx.csvPath, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return fx
}

// reportClock is the fixed "now" of the golden reports.
var reportClock = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixedApp(stdout, stderr *bytes.Buffer) *App {
	return &App{
		Stdin:       strings.NewReader(""),
		Stdout:      stdout,
		Stderr:      stderr,
		Now:         func() time.Time { return reportClock },
		Getenv:      func(string) string { return "" },
		OpenStore:   ingest.Open,
		NewResolver: newResolver,
	}
}

// runCmd runs senderscope in-process and fails the test on a non-zero exit.
func runCmd(t *testing.T, args ...string) (string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(context.Background(), fixedApp(&out, &errb), args); code != 0 {
		t.Fatalf("senderscope %s: exit %d\n%s", strings.Join(args, " "), code, errb.String())
	}
	return out.String(), errb.String()
}

// reportDB ingests the fixture into a fresh database.
func reportDB(t *testing.T) (string, incidentFixture) {
	t.Helper()
	dir := t.TempDir()
	fx := writeIncidentFixture(t, dir)
	db := filepath.Join(dir, "report.db")
	runCmd(t, "--db", db, "ingest", fx.csvPath)
	return db, fx
}

func TestReportGolden(t *testing.T) {
	db, _ := reportDB(t)
	t.Run("markdown", func(t *testing.T) {
		out, _ := runCmd(t, "--db", db, "report", "--offline")
		golden(t, ".md", out)
	})
	t.Run("json", func(t *testing.T) {
		out, _ := runCmd(t, "--db", db, "report", "--offline", "--format", "json")
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("not JSON: %v", err)
		}
		golden(t, ".json", out)
	})
}

// TestReportStory checks the facts the fixture was built with, so the
// golden files cannot drift into a wrong story unnoticed.
func TestReportStory(t *testing.T) {
	db, _ := reportDB(t)
	out, _ := runCmd(t, "--db", db, "report", "--offline", "--format", "json")
	var v struct {
		Investigation analyze.Investigation `json:"investigation"`
		Incident      analyze.Incident      `json:"incident"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	inv, inc := v.Investigation, v.Incident
	if inv.IncidentStart == nil || !inv.IncidentStart.Equal(time.Date(2026, 2, 22, 21, 0, 10, 0, time.UTC)) {
		t.Errorf("incident start %v, want 2026-02-22 21:00:10", inv.IncidentStart)
	}
	kinds := map[analyze.TimelineKind]int{}
	for _, e := range inc.Timeline {
		kinds[e.Kind]++
		if e.Kind == analyze.TimelineBurst && !e.Time.Equal(time.Date(2026, 2, 22, 19, 40, 0, 0, time.UTC)) {
			t.Errorf("burst at %v, want 19:40", e.Time)
		}
	}
	for k, want := range map[analyze.TimelineKind]int{analyze.TimelineBurst: 1, analyze.TimelineFirstDeferral: 2, analyze.TimelinePeakHour: 1,
		analyze.TimelineRetryHorizon: 1, analyze.TimelineLastDeferral: 1, analyze.TimelineRecovered: 1} {
		if kinds[k] != want {
			t.Errorf("%d %s entries in the timeline, want %d: %+v", kinds[k], k, want, inc.Timeline)
		}
	}
	// 72 messages per IP, each deferred twice, all with the 4.7.650 reply:
	// one group after folding the per-message ids and IPs.
	if len(inc.ReplyGroups) == 0 || inc.ReplyGroups[0].EnhancedCode != "4.7.650" || inc.ReplyGroups[0].Deferred != 288 {
		t.Fatalf("largest reply group: %+v", inc.ReplyGroups)
	}
	if len(inc.Windows) != 2 {
		t.Fatalf("%d minute windows, want the burst and the first deferrals apart", len(inc.Windows))
	}
	var burstSends int64
	for _, s := range inc.Windows[0].Series {
		burstSends += s.Sends[int(time.Date(2026, 2, 22, 19, 40, 0, 0, time.UTC).Sub(inc.Windows[0].From)/time.Minute)]
	}
	if burstSends != 32 { // the burst's 30 and the steady 1 per IP
		t.Errorf("the burst minute charts %d sends, want 32", burstSends)
	}
	if inv.Simulation == nil || inv.Simulation.Recommended == nil {
		t.Error("no recommended limit")
	}
}

// mdUnescape undoes the Markdown escapes an address can carry (\[redacted\]@x).
var mdUnescape = strings.NewReplacer(`\*`, "*", `\_`, "_", `\.`, ".", `\-`, "-", `\[`, "[", `\]`, "]")

// TestReportRedaction: no recipient address and no local part from the log
// appears in any format unless --no-redact is given.
func TestReportRedaction(t *testing.T) {
	db, fx := reportDB(t)
	for _, format := range reportFormats {
		t.Run(format, func(t *testing.T) {
			out, _ := runCmd(t, "--db", db, "report", "--offline", "--format", format)
			out = mdUnescape.Replace(out)
			for _, a := range fx.recipients {
				if strings.Contains(out, a) {
					t.Errorf("recipient %s in the %s report", a, format)
				}
			}
			for _, l := range fx.locals {
				if strings.Contains(out, l) {
					t.Errorf("local part %q in the %s report", l, format)
				}
			}
			if analyze.HasAddress(out) {
				t.Errorf("an address survived redaction in the %s report", format)
			}
			if !strings.Contains(out, "[redacted]@outlook.com") {
				t.Errorf("the redacted reply ([redacted]@outlook.com) is missing from the %s report", format)
			}
			full, _ := runCmd(t, "--db", db, "report", "--offline", "--format", format, "--no-redact")
			full = mdUnescape.Replace(full)
			if !strings.Contains(full, "jane.doe@outlook.com") {
				t.Errorf("--no-redact hides jane.doe@outlook.com in the %s report", format)
			}
		})
	}
}

// TestReportOutFile writes the HTML to --out, private when unredacted.
func TestReportOutFile(t *testing.T) {
	db, _ := reportDB(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		mode os.FileMode
	}{{nil, 0o644}, {[]string{"--no-redact"}, 0o600}} {
		path := filepath.Join(dir, "r.html")
		out, errOut := runCmd(t, append([]string{"--db", db, "report", "--offline", "--format", "html", "--out", path}, tc.args...)...)
		if out != "" {
			t.Errorf("stdout not empty with --out: %q", out)
		}
		if !strings.Contains(errOut, "wrote "+path) {
			t.Errorf("stderr: %q", errOut)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != tc.mode {
			t.Errorf("%v: mode %v, want %v", tc.args, st.Mode().Perm(), tc.mode)
		}
		left, _ := filepath.Glob(filepath.Join(dir, ".r.html.*"))
		if len(left) > 0 {
			t.Errorf("temporary files left: %v", left)
		}
	}
}

func TestReportErrors(t *testing.T) {
	dir := t.TempDir()
	s, err := ingest.Open(context.Background(), filepath.Join(dir, "empty.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	var out, errb bytes.Buffer
	if code := run(context.Background(), fixedApp(&out, &errb), []string{"--db", filepath.Join(dir, "empty.db"), "report"}); code != exitInput {
		t.Errorf("empty database: exit %d, want %d (%s)", code, exitInput, errb.String())
	}
	if !strings.Contains(errb.String(), "holds no events") {
		t.Errorf("stderr: %s", errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), fixedApp(&out, &errb), []string{"--db", filepath.Join(dir, "empty.db"), "report", "--format", "pdf"}); code != exitUsage {
		t.Errorf("--format pdf: exit %d, want %d", code, exitUsage)
	}
}

// TestReportNoIncident: with nothing deferred the report still tells what
// the data holds and charts the busiest minute.
func TestReportNoIncident(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("created_at,email,status,response,ip\n")
	start := time.Date(2026, 2, 20, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 300; i++ {
		ts := start.Add(time.Duration(i) * 47 * time.Second)
		fmt.Fprintf(&b, "%s,user%d@hotmail.com,delivered,250 2.6.0 Queued mail for delivery,203.0.113.%d\n", ts.Format("2006-01-02 15:04:05-07"), i, 7+i%2*3)
	}
	csvPath := filepath.Join(dir, "ok.csv")
	if err := os.WriteFile(csvPath, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "ok.db")
	runCmd(t, "--db", db, "ingest", csvPath)
	md, _ := runCmd(t, "--db", db, "report", "--offline")
	for _, want := range []string{"## Delivery report: no deferrals from Microsoft", "No deferrals or blocks from Microsoft in the data.", "| burst |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	page, _ := runCmd(t, "--db", db, "report", "--offline", "--format", "html")
	if n := strings.Count(page, "<svg "); n != 2 {
		t.Errorf("%d charts, want the busiest minute and the hourly rate", n)
	}
}

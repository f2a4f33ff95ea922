package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// genSendGrid writes n SendGrid Event Webhook events as JSON lines, shaped
// like genCSV's rows (same times, recipients and IPs) but with the fields a
// real delivered event carries, every tenth at a Microsoft domain.
func genSendGrid(w io.Writer, n int) {
	base := time.Date(2026, 2, 24, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		domain := "example.org"
		if i%10 == 0 {
			domain = "hotmail.com"
		}
		ts := base.Add(time.Duration(i) * 137 * time.Millisecond).Unix()
		fmt.Fprintf(w, `{"email":"user%d@%s","timestamp":%d,"smtp-id":"<m%d.14c5d75ce93@ismtpd-021>","event":"delivered",`+
			`"category":["password-reset"],"sg_event_id":"ZGVsaXZlcmVkLTAtMjQ5NDI3%08d","sg_message_id":"m%d.filterdrecv-p3mdw1-1-65E7257F-1.0",`+
			`"response":"250 2.0.0 OK","attempt":"1","ip":"203.0.113.%d","tls":1,"cert_err":0}`+"\n",
			i, domain, ts, i, i, i, 7+i%2*3)
	}
}

// BenchmarkIngestSendGridJSON is BenchmarkIngestCSV's twin for the JSON side:
// a million SendGrid events end to end, detection, parsing and store.
func BenchmarkIngestSendGridJSON(b *testing.B) {
	var buf bytes.Buffer
	genSendGrid(&buf, 1_000_000)
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := Open(context.Background(), filepath.Join(b.TempDir(), "b.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		c0 := processCPU()
		sum, err := Ingest(context.Background(), s, []Input{{Name: "-", Reader: bytes.NewReader(data)}}, Options{Enrich: testEnrich})
		if err != nil || sum.Stored != 1_000_000 || sum.Sources[0].Format != "sendgrid" {
			b.Fatalf("%v %+v", err, sum)
		}
		b.StopTimer()
		cpu += processCPU() - c0
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Seconds())/float64(b.N), "s/1M-rows")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/1M-rows")
}

// BenchmarkSendGridDecode measures the parser alone, without the store.
func BenchmarkSendGridDecode(b *testing.B) {
	var buf bytes.Buffer
	genSendGrid(&buf, 200_000)
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		err := sendGridFormat{}.Parse(context.Background(), bytes.NewReader(data),
			&ParseOptions{Source: "bench", TZ: time.UTC, Status: NewStatusMap(nil)}, countSink{&n})
		if err != nil || n != 200_000 {
			b.Fatal(err, n)
		}
	}
}

// FuzzSendGridFastDecode checks the one-pass decoder against encoding/json:
// whatever it accepts must decode to exactly what json.Unmarshal gives, and
// the category it reads must be firstCategory's. What it declines goes to
// encoding/json anyway, so declining is always allowed.
func FuzzSendGridFastDecode(f *testing.F) {
	seeds := []string{
		`{"email":"a@b.com","timestamp":1709647200,"event":"delivered","sg_event_id":"x","category":["c","d"],"attempt":"2"}`,
		`{"email":"A@B.com","timestamp":"1709647200","event":"bounce","reason":"550 5.1.1 \"quoted\" \u00e9","status":"5.1.1","category":"c"}`,
		`{"email":"a@b.com","email":null,"ip":"203.0.113.10","response":"250 OK","smtp-id":"<x@y>","sg_message_id":"m.filter"}`,
		`{"Email":"a@b.com","event":"open"}`,
		`{"email":"a@b.com","pool":{"name":"p","id":1},"tls":1,"cert_err":false,"url":null,"asm_group_id":[1,2]}`,
		`{"email":"a@b.com","category":[1],"timestamp":1.5e9}`,
		`{"email":"a@b.com","event":"delivered"} `,
		`{"email":"a@b.com" "event":"x"}`,
		`{"email":"a\qb"}`,
		`{"email":"é@b.com","response":"\xff"}`,
		`[{"email":"a@b.com"}]`,
		`{}`,
		`{"category":[],"attempt":null,"timestamp":-0.0e+1}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p := newSendGridParser(&ParseOptions{TZ: time.UTC, Status: NewStatusMap(nil)})
		if !p.decodeFast(raw) {
			return
		}
		fast := p.e
		var ref sendGridEvent
		if err := json.Unmarshal(raw, &ref); err != nil {
			t.Fatalf("fast path accepted what encoding/json refuses (%v): %q", err, raw)
		}
		if fast.Email != ref.Email || fast.Event != ref.Event || fast.SGEventID != ref.SGEventID || fast.SGMessageID != ref.SGMessageID ||
			fast.SMTPID != ref.SMTPID || fast.IP != ref.IP || fast.Response != ref.Response || fast.Reason != ref.Reason || fast.Status != ref.Status ||
			!bytes.Equal(fast.Timestamp, ref.Timestamp) || !bytes.Equal(fast.Attempt, ref.Attempt) || !bytes.Equal(fast.Category, ref.Category) {
			t.Fatalf("fast %+v\nref  %+v\ninput %q", fast, ref, raw)
		}
		if got, want := p.category(fast.Category), firstCategory(ref.Category); got != want {
			t.Fatalf("category %q, want %q for %q", got, want, fast.Category)
		}
	})
}

// TestSendGridFastPathTakesRealEvents makes sure the fast decoder is the one
// that runs on real events, escapes and nested objects included, and declines
// what encoding/json must judge.
func TestSendGridFastPathTakesRealEvents(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "samples", "sendgrid-webhook.json"))
	if err != nil {
		t.Fatal(err)
	}
	var records []json.RawMessage
	if err := json.Unmarshal(data, &records); err != nil {
		t.Fatal(err)
	}
	var gen bytes.Buffer
	genSendGrid(&gen, 3)
	for _, l := range bytes.Split(bytes.TrimSpace(gen.Bytes()), []byte("\n")) {
		records = append(records, l)
	}
	records = append(records, json.RawMessage(`{"email":"a@b.com","event":"open","pool":{"name":"p","id":1},"useragent":"Mozilla \"5\" \u00e9"}`))
	p := newSendGridParser(&ParseOptions{TZ: time.UTC, Status: NewStatusMap(nil)})
	for _, r := range records {
		if !p.decodeFast(r) {
			t.Errorf("fast path declined %s", r)
		}
	}
	for _, r := range []string{`{"Email":"a@b.com"}`, `{"email":1}`, `{"email":"a@b.com",}`, `{"email":"a@b.com"}x`} {
		if p.decodeFast([]byte(r)) {
			t.Errorf("fast path accepted %s", r)
		}
	}
}

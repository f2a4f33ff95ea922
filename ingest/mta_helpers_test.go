package ingest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// collectSink keeps what a parser emits, for assertions.
type collectSink struct {
	events   []Event
	rejects  []Reject
	zoneless int
}

func (c *collectSink) Event(e *Event) { c.events = append(c.events, *e) }
func (c *collectSink) Reject(line int64, raw, reason string) {
	c.rejects = append(c.rejects, Reject{Line: line, Raw: raw, Reason: reason})
}
func (c *collectSink) ZoneAssumed() { c.zoneless++ }

// byRecipient returns the events for one recipient in input order.
func (c *collectSink) byRecipient(r string) []Event {
	var out []Event
	for _, e := range c.events {
		if e.Recipient == r {
			out = append(out, e)
		}
	}
	return out
}

func testParseOptions() *ParseOptions {
	return &ParseOptions{Source: "test", TZ: time.UTC, Status: NewStatusMap(nil),
		Now: func() time.Time { return time.Date(2024, 3, 6, 0, 0, 0, 0, time.UTC) }}
}

func parseBytes(t *testing.T, f Format, data []byte, opts *ParseOptions) *collectSink {
	t.Helper()
	if opts == nil {
		opts = testParseOptions()
	}
	s := &collectSink{}
	if err := f.Parse(context.Background(), bytes.NewReader(data), opts, s); err != nil {
		t.Fatalf("%s: %v", f.Name(), err)
	}
	return s
}

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "samples", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantEvent is the normalized form a test expects. reply is exact, or a
// prefix and suffix joined by "…" for long replies.
type wantEvent struct {
	line      int64
	time      string // RFC 3339, UTC
	rcpt      string
	domain    string // when rcpt is empty (a queue-level record)
	typ       EventType
	word      string
	code      int
	enhanced  string
	reply     string
	ip        string
	messageID string
	attempt   int
	class     string
}

func checkEvents(t *testing.T, got []Event, want []wantEvent) {
	t.Helper()
	if len(got) != len(want) {
		for _, e := range got {
			t.Logf("got line %d %s %s %s", e.Line, e.Recipient, e.Type, e.Word)
		}
		t.Fatalf("%d events, want %d", len(got), len(want))
	}
	for i, w := range want {
		checkEvent(t, got[i], w)
	}
}

func checkEvent(t *testing.T, e Event, w wantEvent) {
	t.Helper()
	domain := w.rcpt[strings.LastIndexByte(w.rcpt, '@')+1:]
	if w.domain != "" {
		domain = w.domain
	}
	type pair struct {
		what      string
		got, want any
	}
	for _, p := range []pair{
		{"line", e.Line, w.line},
		{"time", e.Time.UTC().Format(time.RFC3339Nano), w.time},
		{"location", e.Time.Location(), time.UTC},
		{"recipient", e.Recipient, w.rcpt},
		{"domain", e.Domain, domain},
		{"type", e.Type, w.typ},
		{"word", e.Word, w.word},
		{"smtp code", e.SMTPCode, w.code},
		{"enhanced code", e.EnhancedCode, w.enhanced},
		{"sending ip", e.SendingIP, w.ip},
		{"message id", e.MessageID, w.messageID},
		{"attempt", e.Attempt, w.attempt},
		{"class", e.Class, w.class},
	} {
		if p.got != p.want {
			t.Errorf("line %d %s: %s = %v, want %v", w.line, w.rcpt, p.what, p.got, p.want)
		}
	}
	if pre, suf, cut := strings.Cut(w.reply, "…"); cut {
		if !strings.HasPrefix(e.Reply, pre) || !strings.HasSuffix(e.Reply, suf) {
			t.Errorf("line %d %s: reply = %q, want %q…%q", w.line, w.rcpt, e.Reply, pre, suf)
		}
	} else if e.Reply != w.reply {
		t.Errorf("line %d %s: reply = %q, want %q", w.line, w.rcpt, e.Reply, w.reply)
	}
	if e.Key == 0 {
		t.Errorf("line %d %s: no dedupe key", w.line, w.rcpt)
	}
}

// checkKeys asserts that distinct events have distinct keys and that
// parsing the same input again gives the same keys.
func checkKeys(t *testing.T, first, again []Event) {
	t.Helper()
	seen := map[uint64]int64{}
	for i, e := range first {
		if l, dup := seen[e.Key]; dup {
			t.Errorf("line %d and line %d share dedupe key %x", l, e.Line, e.Key)
		}
		seen[e.Key] = e.Line
		if i < len(again) && again[i].Key != e.Key {
			t.Errorf("line %d: key %x on one parse, %x on the next", e.Line, e.Key, again[i].Key)
		}
	}
}

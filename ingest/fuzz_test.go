package ingest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tallySink counts what a parser emits, keeping only reject reasons: a
// TableSink, so every format can run against it.
type tallySink struct {
	events  int
	rejects []string
}

func (c *tallySink) Event(*Event)                     { c.events++ }
func (c *tallySink) Reject(_ int64, _, reason string) { c.rejects = append(c.rejects, reason) }
func (c *tallySink) ZoneAssumed()                     {}
func (c *tallySink) SNDS(*SNDSRow)                    { c.events++ }
func (c *tallySink) SNDSBlock(*SNDSBlock)             { c.events++ }
func (c *tallySink) Count(*CountRow)                  { c.events++ }

// seedFiles adds every fixture under testdata as a seed.
func seedFiles(f *testing.F) {
	for _, dir := range []string{"../testdata/samples", "../testdata/esp", "../testdata/incident"} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.IsDir() || strings.HasSuffix(e.Name(), ".md") || strings.HasSuffix(e.Name(), ".gz") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err == nil && len(b) < 1<<20 {
				f.Add(b)
			}
		}
	}
	f.Add([]byte("created_at,email,status\n2024-03-05 14:00:00+00,a@b.example,delivered\n"))
	f.Add([]byte("[{\"sg_event_id\":\"x\",\"event\":\"bounce\",\"email\":\"a@b\",\"timestamp\":\"1e999\"}]"))
	f.Add([]byte("Mar  5 14:00:00 h postfix/smtp[1]: ABC123: to=<a@b.example>, status=deferred (451 (((("))
}

// FuzzFormats feeds arbitrary bytes to detection and to every format's
// parser. A parser may reject anything; it must not panic, and a panic
// contained by safely (an "internal error" reject) is a bug too.
func FuzzFormats(f *testing.F) {
	seedFiles(f)
	reg := NewRegistry()
	f.Fuzz(func(t *testing.T, data []byte) {
		// A stuck input crashes the worker, so the fuzzer saves it.
		watchdog := time.AfterFunc(20*time.Second, func() {
			panic(fmt.Sprintf("FuzzFormats: %d bytes still being parsed after 20 s: %q", len(data), clip(string(data), 300)))
		})
		defer watchdog.Stop()
		reg.Detect(data)
		opts := &ParseOptions{Source: "fuzz", TZ: time.UTC, Status: NewStatusMap(nil), CountsProvider: "microsoft", Year: 2024,
			Now: func() time.Time { return time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC) }}
		for _, format := range reg.formats {
			format.Sniff(data)
			var s tallySink
			done := make(chan struct{})
			go func() {
				defer close(done)
				format.Parse(context.Background(), bytes.NewReader(data), opts, &s)
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: parsing %d bytes did not finish in 10 s: %q", format.Name(), len(data), clip(string(data), 300))
			}
			for _, r := range s.rejects {
				if strings.HasPrefix(r, "internal error") {
					t.Fatalf("%s: %s", format.Name(), r)
				}
			}
		}
	})
}

// FuzzParseTime: any text either parses to a time or is rejected with what
// was expected; never a panic.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2024-03-05 14:00:02.1+00", "2024-03-05T14:00:02Z", "1709647202", "1709647202.5",
		"2024-03-05 19:30:02+05:30", "2024-02-29 00:00:00", "99999999999999999999", "2024-13-05", "1/2/2006 3:04 PM"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, _, err := ParseTime(s, time.UTC)
		if err == nil && (tm.Year() < 1 || tm.Year() > 9999+1) {
			t.Fatalf("ParseTime(%q) = %v", s, tm)
		}
		if err != nil && s != "" && !strings.Contains(err.Error(), "expected") && !strings.Contains(err.Error(), "too large") {
			t.Fatalf("ParseTime(%q): error %q does not say what was expected", s, err)
		}
	})
}

func TestPanicInOneRecordIsThatRecordsReject(t *testing.T) {
	in := "{\"n\":1}\n{\"n\":\"boom\"}\n{\"n\":3}\n"
	var s tallySink
	err := parseJSONRecords(context.Background(), strings.NewReader(in), &ParseOptions{Source: "t"}, &s, func(raw []byte) ([]Event, string) {
		if bytes.Contains(raw, []byte("boom")) {
			var m map[string]int
			m["x"]++ // a nil map write: the kind of bug a parser may hide
		}
		return []Event{{}}, ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.events != 2 || len(s.rejects) != 1 || !strings.HasPrefix(s.rejects[0], "internal error while parsing this record") {
		t.Fatalf("events %d, rejects %q", s.events, s.rejects)
	}
}

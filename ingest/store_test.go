package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocarina/gocsv"

	"github.com/senderscope/senderscope/ingest/benchdata"
)

// testEnrich stands in for analyze's provider table, which ingest must not import.
func testEnrich(e *Event) {
	if strings.HasSuffix(e.Domain, "hotmail.com") {
		e.Provider = "microsoft"
	} else {
		e.Provider = "other"
	}
}

// benchEnrich maps the benchmark's domains to providers as analyze does: a
// map lookup per event, five providers.
func benchEnrich(e *Event) {
	p, ok := benchProviders[e.Domain]
	if !ok {
		p = "other"
	}
	e.Provider = p
}

var benchProviders = map[string]string{"hotmail.com": "microsoft", "outlook.com": "microsoft", "live.com": "microsoft",
	"gmail.com": "google", "yahoo.com": "yahoo", "icloud.com": "apple"}

func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// genCSV writes n psql-shaped rows, with every tenth row at a Microsoft domain.
func genCSV(w io.Writer, n int) {
	fmt.Fprintln(w, "created_at,email,status,response,ip")
	base := time.Date(2026, 2, 24, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		domain := "example.org"
		if i%10 == 0 {
			domain = "hotmail.com"
		}
		ts := base.Add(time.Duration(i) * 137 * time.Millisecond).Format("2006-01-02 15:04:05.000000-07")
		fmt.Fprintf(w, "%s,user%d@%s,delivered,250 2.0.0 OK,203.0.113.%d\n", ts, i, domain, 7+i%2*3)
	}
}

func TestMigrationsAreRecordedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	for i := 0; i < 2; i++ {
		s, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		v, err := s.SchemaVersion(context.Background())
		if err != nil || v < 1 {
			t.Fatalf("schema version %d, %v", v, err)
		}
		s.Close()
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("database mode %v, want 0600: it holds recipient addresses", st.Mode().Perm())
	}
}

// cancelAfter cancels the run once the writer has seen n bytes consumed.
func TestInterruptedRunIsMarkedAndResumable(t *testing.T) {
	s := openTemp(t)
	var buf bytes.Buffer
	genCSV(&buf, 300_000)
	data := buf.Bytes()
	ctx, cancel := context.WithCancel(context.Background())
	opts := Options{Enrich: testEnrich, Progress: func(_ string, done, _ int64) {
		if done > int64(len(data))/3 {
			cancel()
		}
	}}
	sum, err := Ingest(ctx, s, []Input{{Name: "-", Reader: bytes.NewReader(data)}}, opts)
	if err != ErrInterrupted {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
	if sum.Status != "interrupted" || sum.Read == 0 || sum.Read >= 300_000 {
		t.Fatalf("interrupted run summary: %+v", sum)
	}
	checkConsistent(t, s)
	// Running again completes the input without storing anything twice.
	sum2, err := Ingest(context.Background(), s, []Input{{Name: "-", Reader: bytes.NewReader(data)}}, Options{Enrich: testEnrich})
	if err != nil {
		t.Fatal(err)
	}
	if sum2.Read != 300_000 || sum2.Duplicates != sum.Stored || sum2.Stored != 300_000-sum.Stored {
		t.Fatalf("resume: read %d stored %d dup %d after first stored %d", sum2.Read, sum2.Stored, sum2.Duplicates, sum.Stored)
	}
	checkConsistent(t, s)
	var n int64
	s.db.QueryRow(`SELECT count(*) FROM events`).Scan(&n)
	if n != 300_000 {
		t.Fatalf("%d events stored, want 300000", n)
	}
	var status string
	s.db.QueryRow(`SELECT status FROM ingest_runs WHERE id = ?`, sum.RunID).Scan(&status)
	if status != "interrupted" {
		t.Fatalf("first run recorded as %q", status)
	}
}

// checkConsistent asserts the invariants every state of the database keeps.
func checkConsistent(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	if v, err := s.IntegrityCheck(ctx); err != nil || v != "ok" {
		t.Fatalf("integrity_check: %q %v", v, err)
	}
	var bad int
	s.db.QueryRow(`SELECT count(*) FROM ingest_runs WHERE records_read != stored + duplicates + rejected`).Scan(&bad)
	if bad != 0 {
		t.Fatalf("%d runs whose counts do not add up", bad)
	}
	var stored, events, rejected, rejects int64
	s.db.QueryRow(`SELECT coalesce(sum(stored),0), coalesce(sum(rejected),0) FROM ingest_runs`).Scan(&stored, &rejected)
	s.db.QueryRow(`SELECT count(*) FROM events`).Scan(&events)
	s.db.QueryRow(`SELECT count(*) FROM rejects`).Scan(&rejects)
	if stored != events || rejected != rejects {
		t.Fatalf("runs say stored %d rejected %d; tables hold %d events %d rejects", stored, rejected, events, rejects)
	}
	s.db.QueryRow(`SELECT count(*) FROM sources s JOIN (SELECT source_id, count(*) n FROM events GROUP BY source_id) e
		ON e.source_id = s.id WHERE s.stored != e.n`).Scan(&bad)
	if bad != 0 {
		t.Fatalf("%d sources whose stored count differs from their events", bad)
	}
}

func TestTwoIngestsAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	var a, b bytes.Buffer
	genCSV(&a, 100_000)
	genCSV(&b, 120_000) // overlaps a entirely
	var wg sync.WaitGroup
	errs := make([]error, 2)
	sums := make([]*RunSummary, 2)
	for i, data := range [][]byte{a.Bytes(), b.Bytes()} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Separate Store values: two processes would each open their own.
			s, err := Open(context.Background(), path)
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			sums[i], errs[i] = Ingest(context.Background(), s, []Input{{Name: fmt.Sprint(i), Reader: bytes.NewReader(data)}}, Options{Enrich: testEnrich})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := sums[0].Stored + sums[1].Stored; got != 120_000 {
		t.Fatalf("stored %d + %d, want 120000 distinct events", sums[0].Stored, sums[1].Stored)
	}
	s := openTemp(t)
	s.Close()
	s2, _ := Open(context.Background(), path)
	defer s2.Close()
	checkConsistent(t, s2)
}

// BenchmarkIngestCSV ingests the million-row export scripts/bench-ingest.sh
// times against sqlite3 .import: a month of mail, so the per-minute totals
// kept at ingest are as wide as a real sender's.
func BenchmarkIngestCSV(b *testing.B) {
	var buf bytes.Buffer
	if err := benchdata.WriteExport(&buf, 1_000_000); err != nil {
		b.Fatal(err)
	}
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
		sum, err := Ingest(context.Background(), s, []Input{{Name: "-", Reader: bytes.NewReader(data)}}, Options{Enrich: benchEnrich})
		if err != nil || sum.Stored != 1_000_000 {
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

// BenchmarkCSVDecode compares gocsv's reflection-based decoding with the
// encoding/csv loop the CSV parser uses on the million-row hot path.
func BenchmarkCSVDecode(b *testing.B) {
	var buf bytes.Buffer
	genCSV(&buf, 200_000)
	data := buf.Bytes()
	b.Run("encoding-csv", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for i := 0; i < b.N; i++ {
			n := 0
			err := csvExportFormat{}.Parse(context.Background(), bytes.NewReader(data),
				&ParseOptions{Source: "bench", TZ: time.UTC, Status: NewStatusMap(nil)}, countSink{&n})
			if err != nil || n != 200_000 {
				b.Fatal(err, n)
			}
		}
	})
	b.Run("gocsv", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		type row struct {
			CreatedAt string `csv:"created_at"`
			Email     string `csv:"email"`
			Status    string `csv:"status"`
			Response  string `csv:"response"`
			IP        string `csv:"ip"`
		}
		for i := 0; i < b.N; i++ {
			n := 0
			err := gocsv.UnmarshalToCallback(bytes.NewReader(data), func(r row) {
				t, _, err := ParseTime(r.CreatedAt, time.UTC)
				if err == nil && !t.IsZero() {
					n++
				}
			})
			if err != nil || n != 200_000 {
				b.Fatal(err, n)
			}
		}
	})
}

type countSink struct{ n *int }

func (c countSink) Event(*Event)                 { *c.n++ }
func (c countSink) Reject(int64, string, string) {}
func (c countSink) ZoneAssumed()                 {}

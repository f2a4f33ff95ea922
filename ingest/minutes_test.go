package ingest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func snapshotMinutes(t *testing.T, s *Store) string {
	t.Helper()
	rows, err := s.db.Query(`SELECT minute, provider_id, ip_id, sends, attempts, delivered, deferred, bounced, dropped, complaints
		FROM event_minutes WHERE sends + attempts + dropped + complaints > 0 ORDER BY provider_id, minute, ip_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var v [10]int64
		rows.Scan(&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9])
		fmt.Fprintln(&b, v)
	}
	return b.String()
}

// TestIncrementalMinutesMatchRecomputation: the per-minute totals ingest
// keeps up to date must equal a full recomputation from the events.
func TestIncrementalMinutesMatchRecomputation(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	var a bytes.Buffer
	genCSV(&a, 30_000)
	ingestBytes := func(data []byte, opts Options) {
		opts.Enrich = testEnrich
		if _, err := Ingest(ctx, s, []Input{{Name: "-", Reader: bytes.NewReader(data)}}, opts); err != nil && err != ErrInterrupted {
			t.Fatal(err)
		}
	}
	// 1. fresh batches
	ingestBytes(a.Bytes(), Options{})
	// 2. an overlapping export: batches partly duplicate
	var b bytes.Buffer
	fmt.Fprintln(&b, "created_at,email,status,response,ip")
	lines := strings.Split(strings.TrimSpace(a.String()), "\n")[1:]
	for i, l := range lines[20_000:] {
		fmt.Fprintln(&b, l)
		if i%3 == 0 {
			fmt.Fprintf(&b, "2026-02-24 %02d:%02d:%02d.5+00,extra%d@hotmail.com,deferred,451 4.7.650 rate limited,203.0.113.7\n", 18+i%5, i%60, i%60, i)
		}
	}
	ingestBytes(b.Bytes(), Options{})
	// 3. a source whose first batch has only sends and outcomes come later
	var c bytes.Buffer
	fmt.Fprintln(&c, "created_at,email,status,attempt,ip")
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 6000; i++ {
		fmt.Fprintf(&c, "%s,late%d@hotmail.com,sent,,203.0.113.10\n", base.Add(time.Duration(i)*time.Second).Format(time.RFC3339), i)
	}
	for i := 0; i < 6000; i++ {
		fmt.Fprintf(&c, "%s,late%d@hotmail.com,delivered,1,203.0.113.10\n", base.Add(time.Duration(i)*time.Second+500*time.Millisecond).Format(time.RFC3339Nano), i)
	}
	ingestBytes(c.Bytes(), Options{})
	// 4. an interrupted run
	var d bytes.Buffer
	genCSV(&d, 60_000)
	cctx, cancel := context.WithCancel(ctx)
	_, err := Ingest(cctx, s, []Input{{Name: "-", Reader: bytes.NewReader(d.Bytes())}}, Options{Enrich: testEnrich,
		Progress: func(_ string, done, _ int64) {
			if done > int64(d.Len())/2 {
				cancel()
			}
		}})
	if err != ErrInterrupted {
		t.Fatalf("err = %v, want the run interrupted", err)
	}
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	incremental := snapshotMinutes(t, s)
	if _, err := s.db.Exec(`INSERT INTO dirty_ranges (first_minute, last_minute) SELECT min(ts) / 60000, max(ts) / 60000 FROM events`); err != nil {
		t.Fatal(err)
	}
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	full := snapshotMinutes(t, s)
	if incremental != full {
		il, fl := strings.Split(incremental, "\n"), strings.Split(full, "\n")
		for i := 0; i < len(il) && i < len(fl); i++ {
			if il[i] != fl[i] {
				t.Fatalf("event_minutes differ from a recomputation at row %d:\nincremental %s\nrecomputed  %s", i, il[i], fl[i])
			}
		}
		t.Fatalf("event_minutes: %d rows kept incrementally, %d recomputed", len(il), len(fl))
	}
	var kind string
	s.db.QueryRow(`SELECT send_kind FROM sources WHERE id = 3`).Scan(&kind)
	if kind != "first-attempt" {
		t.Errorf("the third source's send kind is %q: its outcomes came after its first batch", kind)
	}
}

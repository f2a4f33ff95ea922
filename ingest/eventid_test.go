package ingest

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// keyedFormat reads "ms,key,recipient" lines into delivered events with
// exactly that time and dedupe key, so tests can make keys collide.
type keyedFormat struct{}

func (keyedFormat) Name() string                { return "keyed" }
func (keyedFormat) Sniff([]byte) (bool, string) { return false, "" }
func (keyedFormat) Cues() string                { return "" }

func (keyedFormat) Parse(ctx context.Context, r io.Reader, opts *ParseOptions, sink Sink) error {
	sc := bufio.NewScanner(r)
	var line int64
	for sc.Scan() {
		line++
		f := strings.Split(sc.Text(), ",")
		ms, _ := strconv.ParseInt(f[0], 10, 64)
		key, _ := strconv.ParseUint(f[1], 10, 64)
		_, domain, _ := strings.Cut(f[2], "@")
		sink.Event(&Event{Time: time.UnixMilli(ms).UTC(), Key: key, Recipient: f[2], Domain: domain,
			Type: TypeDelivered, Word: "delivered", Line: line})
	}
	return sc.Err()
}

func ingestKeyed(t *testing.T, s *Store, lines []string) *RunSummary {
	t.Helper()
	sum, err := Ingest(context.Background(), s, []Input{{Name: "keyed", Reader: strings.NewReader(strings.Join(lines, "\n") + "\n")}},
		Options{Enrich: testEnrich, Format: "keyed", Registry: &Registry{formats: []Format{keyedFormat{}}}})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// TestSlotCollisions: events of one millisecond whose dedupe keys share the
// low bits the id uses all get stored, each once, whatever the order they
// come in, and re-reading them stores nothing.
func TestSlotCollisions(t *testing.T) {
	s := openTemp(t)
	const ms = 1772000000123
	var lines []string
	// 300 keys with the same slot (more than one multi-row insert), some on
	// the last slot of the millisecond so probing wraps to slot 0.
	for i := 1; i <= 300; i++ {
		slot := uint64(7)
		if i%3 == 0 {
			slot = slotMask
		}
		lines = append(lines, fmt.Sprintf("%d,%d,u%d@hotmail.com", ms, uint64(i)<<slotBits|slot, i))
	}
	lines = append(lines, lines[10], lines[299]) // the same events twice in one input
	sum := ingestKeyed(t, s, lines)
	if sum.Stored != 300 || sum.Duplicates != 2 {
		t.Fatalf("first read: stored %d, duplicates %d; want 300 and 2", sum.Stored, sum.Duplicates)
	}
	// Again, reversed: every event is found by probing, none stored twice.
	rev := make([]string, len(lines))
	for i, l := range lines {
		rev[len(lines)-1-i] = l
	}
	sum = ingestKeyed(t, s, rev)
	if sum.Stored != 0 || sum.Duplicates != int64(len(lines)) {
		t.Fatalf("second read: stored %d, duplicates %d; want 0 and %d", sum.Stored, sum.Duplicates, len(lines))
	}
	// New events of the same millisecond land in the slots still free.
	more := []string{fmt.Sprintf("%d,%d,new1@hotmail.com", ms, uint64(999)<<slotBits|7), fmt.Sprintf("%d,%d,new2@hotmail.com", ms, uint64(1)<<slotBits|8)}
	sum = ingestKeyed(t, s, append(more, lines[:5]...))
	if sum.Stored != 2 || sum.Duplicates != 5 {
		t.Fatalf("third read: stored %d, duplicates %d; want 2 and 5", sum.Stored, sum.Duplicates)
	}
	var n, distinct, sameMS, keys int64
	if err := s.db.QueryRow(`SELECT count(*), count(DISTINCT id), sum(ts = ?), count(DISTINCT dkey) FROM events`, ms).
		Scan(&n, &distinct, &sameMS, &keys); err != nil {
		t.Fatal(err)
	}
	if n != 302 || distinct != 302 || sameMS != 302 || keys != 302 {
		t.Errorf("events %d, distinct ids %d, at the millisecond %d, distinct keys %d; want 302 each", n, distinct, sameMS, keys)
	}
	checkConsistent(t, s)
}

// TestTimesOutsideTheStoredRangeAreRejected: the id holds about 1691-2248;
// events outside 1900-2199 are rejected with their line, the rest stored.
func TestTimesOutsideTheStoredRangeAreRejected(t *testing.T) {
	s := openTemp(t)
	csv := "created_at,email,status\n" +
		"1899-12-31 23:59:59+00,a@example.org,delivered\n" +
		"1900-01-01 00:00:00+00,b@example.org,delivered\n" +
		"2199-12-31 23:59:59.999+00,c@example.org,delivered\n" +
		"2200-01-01 00:00:00+00,d@example.org,delivered\n" +
		"0001-01-01 00:00:00+00,e@example.org,delivered\n"
	sum, err := Ingest(context.Background(), s, []Input{{Name: "t.csv", Reader: strings.NewReader(csv)}}, Options{Enrich: testEnrich})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Read != 5 || sum.Stored != 2 || sum.Rejected != 3 {
		t.Fatalf("read %d stored %d rejected %d; want 5, 2, 3", sum.Read, sum.Stored, sum.Rejected)
	}
	if r := sum.FirstRejects[0]; r.Line != 2 || !strings.Contains(r.Reason, "1899-12-31 23:59:59Z is outside the years 1900-2199") {
		t.Errorf("first reject: line %d, %q", r.Line, r.Reason)
	}
	var first, last int64
	s.db.QueryRow(`SELECT min(ts), max(ts) FROM events`).Scan(&first, &last)
	if time.UnixMilli(first).UTC().Year() != 1900 || time.UnixMilli(last).UTC().Year() != 2199 {
		t.Errorf("stored times %v to %v", time.UnixMilli(first).UTC(), time.UnixMilli(last).UTC())
	}
}

// TestTimeRangesSeekOnTheID: every time-range condition is answered from
// the table's integer key, not by a scan.
func TestTimeRangesSeekOnTheID(t *testing.T) {
	s := openTemp(t)
	for _, q := range []string{
		`SELECT count(*) FROM events e WHERE ` + tsRange("e", "?", "?"),
		`SELECT count(*) FROM events e WHERE e.type_id = 4 AND ` + tsRange("e", "?", maxTSExpr),
	} {
		rows, err := s.db.Query("EXPLAIN QUERY PLAN "+q, 0, int64(1)<<62)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			rows.Scan(&id, &parent, &notused, &detail)
			plan = append(plan, detail)
		}
		rows.Close()
		if p := strings.Join(plan, "; "); !strings.Contains(p, "USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)") {
			t.Errorf("%s\nplan: %s", q, p)
		}
	}
	// Open bounds do not overflow: every event is inside.
	ingestKeyed(t, s, []string{"1772000000000,5,a@example.org", "1900000000000,6,b@example.org"})
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM events e WHERE `+tsRange("e", "?", "?"), 0, int64(1)<<62).Scan(&n); err != nil || n != 2 {
		t.Errorf("open range: %d events, %v; want 2", n, err)
	}
}

// TestMigrationToRowidKeepsEvents: a schema-3 database (events keyed
// (ts, dkey)) migrates with every event, its time and key, and slots that
// the writer then finds, so re-reading the same events stores nothing.
func TestMigrationToRowidKeepsEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatal(q, err)
		}
	}
	mustExec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`)
	for _, m := range ms[:3] {
		mustExec(m.sql)
		mustExec(`INSERT INTO schema_migrations VALUES (?, ?, 0)`, m.version, m.name)
	}
	mustExec(`INSERT INTO ingest_runs (id, started_at, status, pid, host, args, tz) VALUES (1, 0, 'finished', 1, 'h', '{}', 'UTC')`)
	mustExec(`INSERT INTO sources (id, run_id, name, format, detected) VALUES (1, 1, 'keyed', 'keyed', 'test')`)
	mustExec(`INSERT INTO providers (id, name) VALUES (1, 'microsoft')`)
	const t0 = 1772000000123
	var lines []string
	for i, k := range []uint64{1<<slotBits | 9, 2<<slotBits | 9, 3<<slotBits | 9, 77} { // three share a slot
		ts := int64(t0)
		if i == 3 {
			ts = t0 + 60_000
		}
		mustExec(`INSERT INTO events (ts, dkey, provider_id, type_id, recipient, source_id, line) VALUES (?, ?, 1, 3, ?, 1, ?)`,
			ts, int64(k), fmt.Sprintf("u%d@hotmail.com", i), i+1)
		lines = append(lines, fmt.Sprintf("%d,%d,u%d@hotmail.com", ts, k, i))
	}
	db.Close()

	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersion(context.Background()); v < 4 {
		t.Fatalf("schema %d after open", v)
	}
	rows, err := s.db.Query(`SELECT ts, dkey, recipient, line FROM events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var ts, key, line int64
		var rcpt string
		rows.Scan(&ts, &key, &rcpt, &line)
		got = append(got, fmt.Sprintf("%d %d %s %d", ts, key, rcpt, line))
	}
	rows.Close()
	want := []string{
		fmt.Sprintf("%d %d u0@hotmail.com 1", t0, 1<<slotBits|9),
		fmt.Sprintf("%d %d u1@hotmail.com 2", t0, 2<<slotBits|9),
		fmt.Sprintf("%d %d u2@hotmail.com 3", t0, 3<<slotBits|9),
		fmt.Sprintf("%d 77 u3@hotmail.com 4", t0+60_000),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("after migration:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var views int
	s.db.QueryRow(`SELECT count(*) FROM events_v`).Scan(&views)
	if views != 4 {
		t.Errorf("events_v has %d rows, want 4", views)
	}
	sum := ingestKeyed(t, s, lines)
	if sum.Stored != 0 || sum.Duplicates != 4 {
		t.Errorf("re-reading the migrated events: stored %d, duplicates %d; want 0 and 4", sum.Stored, sum.Duplicates)
	}
}

// TestCheckpointerBoundsTheLog: with the checkpointer copying pages while
// the writer goes on, the write-ahead log stays near walCap instead of
// growing with the input, and the database stays whole.
func TestCheckpointerBoundsTheLog(t *testing.T) {
	defer func(c int64) { walCap = c }(walCap)
	walCap = 1 << 20
	dir := t.TempDir()
	s, err := Open(context.Background(), filepath.Join(dir, "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var maxWAL int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // watch the log's size while ingest runs
		defer close(done)
		for {
			if st, err := os.Stat(filepath.Join(dir, "t.db-wal")); err == nil {
				maxWAL = max(maxWAL, st.Size())
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	// Five inputs, so five transactions (each input commits at its end):
	// consecutive hours of one export, about 5 MB of pages each.
	var buf strings.Builder
	genCSV(&buf, 200_000)
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	var inputs []Input
	for i := 0; i < 5; i++ {
		part := lines[0] + "\n" + strings.Join(lines[1+i*40_000:1+(i+1)*40_000], "\n") + "\n"
		inputs = append(inputs, Input{Name: fmt.Sprintf("part%d", i), Reader: strings.NewReader(part)})
	}
	sum, err := Ingest(context.Background(), s, inputs, Options{Enrich: testEnrich})
	close(stop)
	<-done
	if err != nil || sum.Stored != 200_000 {
		t.Fatalf("stored %d, %v", sum.Stored, err)
	}
	// A transaction's pages (the log is emptied between transactions once
	// the cap is reached), with room; without the cap the log would hold all
	// five transactions (about 25 MB).
	if maxWAL > 10<<20 {
		t.Errorf("write-ahead log reached %d MiB with a 1 MiB cap", maxWAL>>20)
	}
	if v, err := s.IntegrityCheck(context.Background()); err != nil || v != "ok" {
		t.Errorf("integrity_check: %q, %v", v, err)
	}
	checkConsistent(t, s)
}

// TestIngestWhileAReaderHoldsTheLog: a reader that keeps a transaction open
// on the log for the whole ingest stops the log from restarting, not the
// ingest: the checkpointer's RESTART gives up at once, the writer goes on.
func TestIngestWhileAReaderHoldsTheLog(t *testing.T) {
	defer func(c int64) { walCap = c }(walCap)
	walCap = 256 << 10
	s := openTemp(t)
	var buf strings.Builder
	genCSV(&buf, 20_000)
	if _, err := Ingest(context.Background(), s, []Input{{Name: "first", Reader: strings.NewReader(buf.String())}}, Options{Enrich: testEnrich}); err != nil {
		t.Fatal(err)
	}
	reader, err := openRaw(s.Path(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.close()
	if _, err := reader.exec("BEGIN"); err != nil {
		t.Fatal(err)
	}
	before, err := reader.queryInt("SELECT count(*) FROM events")
	if err != nil || before != 20_000 {
		t.Fatalf("reader sees %d events, %v", before, err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	var inputs []Input
	for i := 0; i < 4; i++ { // new recipients: four more transactions of new events
		part := strings.Replace(strings.Join(lines, "\n")+"\n", "@", fmt.Sprintf("+%d@", i), -1)
		inputs = append(inputs, Input{Name: fmt.Sprintf("part%d", i), Reader: strings.NewReader(part)})
	}
	done := make(chan error, 1)
	go func() {
		sum, err := Ingest(context.Background(), s, inputs, Options{Enrich: testEnrich})
		if err == nil && sum.Stored != 80_000 {
			err = fmt.Errorf("stored %d, want 80000", sum.Stored)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("ingest did not finish while a reader held the log")
	}
	if n, _ := reader.queryInt("SELECT count(*) FROM events"); n != before {
		t.Errorf("the reader's snapshot changed: %d events, was %d", n, before)
	}
	reader.exec("COMMIT")
	checkConsistent(t, s)
}

package main

import (
	"bufio"
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/senderscope/senderscope/ingest/example"
)

// senderscopeBinary returns a path that runs this test binary as the
// senderscope command (testscript's mechanism: a link named senderscope).
func senderscopeBinary(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	link := filepath.Join(dir, "senderscope")
	if err := os.Symlink(self, link); err != nil {
		t.Fatal(err)
	}
	return link
}

// writeIncident writes the bundled incident from `from` for `days` days as CSV.
func writeIncident(t *testing.T, path string, from time.Time, days int) int {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	if err := example.Write(w, example.Options{From: from, To: from.Add(time.Duration(days) * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	f.Close()
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), "\n") - 1 // rows, for a file without multi-line fields; checked below
}

type dbState struct {
	integrity                               string
	events, rejects                         int64
	runStored, runRejected                  int64
	badRuns, running, interrupted, finished int64
}

func readState(t *testing.T, path string) dbState {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var s dbState
	q := func(query string, dst ...any) {
		if err := db.QueryRow(query).Scan(dst...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	q(`PRAGMA integrity_check`, &s.integrity)
	q(`SELECT count(*) FROM events`, &s.events)
	q(`SELECT count(*) FROM rejects`, &s.rejects)
	q(`SELECT coalesce(sum(stored),0), coalesce(sum(rejected),0) FROM ingest_runs`, &s.runStored, &s.runRejected)
	q(`SELECT count(*) FROM ingest_runs WHERE records_read != stored + duplicates + rejected`, &s.badRuns)
	q(`SELECT count(*) FILTER (WHERE status = 'running'), count(*) FILTER (WHERE status = 'interrupted'),
		count(*) FILTER (WHERE status = 'finished') FROM ingest_runs`, &s.running, &s.interrupted, &s.finished)
	return s
}

// TestKillDuringIngest SIGKILLs ingest at many points of a large input.
// After each kill the database must pass integrity_check, every run's counts
// must match the rows it committed, and the next run must mark the killed
// one interrupted; finally an uninterrupted run completes the input with no
// duplicates.
func TestKillDuringIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes for a while; -short skips it")
	}
	bin := senderscopeBinary(t)
	dir := t.TempDir()
	input := filepath.Join(dir, "incident.csv")
	// Nine days of the incident: ~400k rows, several commits per run.
	writeIncident(t, input, time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC), 9)
	db := filepath.Join(dir, "crash.db")
	var killAfter []time.Duration
	for ms := 40; ms <= 4000; ms = ms * 3 / 2 {
		killAfter = append(killAfter, time.Duration(ms)*time.Millisecond)
	}
	killed, killedRuns := 0, int64(0)
	for i, after := range killAfter {
		runsBefore := int64(0)
		if _, err := os.Stat(db); err == nil {
			st := readState(t, db)
			runsBefore = st.running + st.interrupted + st.finished
		}
		cmd := exec.Command(bin, "--db", db, "ingest", "--no-progress", input)
		cmd.Stdout, cmd.Stderr = nil, nil
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
			// It finished before the kill: nothing to check but consistency.
		case <-time.After(after):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			killed++
		}
		if _, err := os.Stat(db); err != nil {
			continue // killed before the database was created
		}
		s := readState(t, db)
		if s.running+s.interrupted+s.finished > runsBefore && s.running > 0 {
			killedRuns++ // the killed process had started its run: it must end up interrupted
		}
		if s.integrity != "ok" {
			t.Fatalf("kill %d after %v: integrity_check = %q", i, after, s.integrity)
		}
		if s.badRuns != 0 {
			t.Fatalf("kill %d: %d runs whose read != stored + duplicates + rejected", i, s.badRuns)
		}
		if s.runStored != s.events || s.runRejected != s.rejects {
			t.Fatalf("kill %d after %v: runs say stored %d rejected %d; tables hold %d events %d rejects",
				i, after, s.runStored, s.runRejected, s.events, s.rejects)
		}
		if s.running > 1 {
			t.Fatalf("kill %d: %d runs still marked running: the earlier killed ones were not marked interrupted", i, s.running)
		}
	}
	if killed < 6 {
		t.Fatalf("only %d of %d runs were killed mid-way: the input is too small to test anything", killed, len(killAfter))
	}
	// A run to the end completes the input and stores nothing twice.
	out, err := exec.Command(bin, "--db", db, "-o", "json", "ingest", "--no-progress", input).CombinedOutput()
	if err != nil {
		t.Fatalf("final ingest: %v\n%s", err, out)
	}
	s := readState(t, db)
	want := readState(t, freshIngest(t, bin, input))
	if s.events != want.events {
		t.Fatalf("after %d kills and a final run: %d events; one clean run stores %d", killed, s.events, want.events)
	}
	if s.running != 0 || s.interrupted != killedRuns {
		t.Errorf("runs: %d running, %d interrupted; %d runs were killed after they started", s.running, s.interrupted, killedRuns)
	}
	t.Logf("%d kills; %d events in the end, as one clean run; %d interrupted runs recorded", killed, s.events, s.interrupted)
}

func freshIngest(t *testing.T, bin, input string) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "fresh.db")
	if out, err := exec.Command(bin, "--db", db, "ingest", "--no-progress", input).CombinedOutput(); err != nil {
		t.Fatalf("clean ingest: %v\n%s", err, out)
	}
	return db
}

// TestConcurrentIngestAndAnalysis runs two ingest processes into one
// database at once while spikes reads from it: all succeed (waiting for each
// other) or fail clearly, and the database stays consistent.
func TestConcurrentIngestAndAnalysis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes; -short skips it")
	}
	bin := senderscopeBinary(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv")
	writeIncident(t, a, time.Date(2026, 2, 23, 0, 0, 0, 0, time.UTC), 2)
	writeIncident(t, b, time.Date(2026, 2, 24, 0, 0, 0, 0, time.UTC), 2) // overlaps a by one day
	db := filepath.Join(dir, "c.db")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	type result struct {
		name string
		out  []byte
		err  error
	}
	results := make(chan result, 4)
	start := func(name string, args ...string) {
		go func() {
			out, err := exec.CommandContext(ctx, bin, append([]string{"--db", db}, args...)...).CombinedOutput()
			results <- result{name, out, err}
		}()
	}
	start("ingest a", "ingest", "--no-progress", a)
	start("ingest b", "ingest", "--no-progress", b)
	time.Sleep(300 * time.Millisecond)
	start("spikes", "spikes", "--by", "total")
	start("summary", "summary")
	for range 4 {
		r := <-results
		if r.err != nil && !strings.Contains(string(r.out), "database is busy") {
			t.Errorf("%s: %v\n%s", r.name, r.err, r.out)
		}
	}
	s := readState(t, db)
	if s.integrity != "ok" || s.badRuns != 0 || s.runStored != s.events {
		t.Fatalf("after concurrent runs: %+v", s)
	}
	want := readState(t, freshIngest(t, bin, a))
	wantB := readState(t, freshIngest(t, bin, b))
	if s.events < max(want.events, wantB.events) || s.events > want.events+wantB.events {
		t.Fatalf("%d events after both ingests (a alone %d, b alone %d)", s.events, want.events, wantB.events)
	}
}

package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/senderscope/senderscope/analyze"
	"github.com/senderscope/senderscope/ingest/example"
)

// TestBundledIncident runs the analyses on the whole bundled incident (about
// 1.37M rows; the "highest since" claim needs the three months before the
// burst) and checks them against the generator's ground truth. It is one
// test so the history is generated and ingested once.
func TestBundledIncident(t *testing.T) {
	facts := example.Facts
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "notifications.csv")
	f, err := os.Create(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := example.Write(bw, example.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	db := filepath.Join(dir, "incident.db")
	runOK(t, nil, "--db", db, "ingest", "--no-progress", csvPath)
	os.Remove(csvPath)

	// spikes --by total: the burst minute with its count, ranked behind
	// exactly the earlier spikes that were bigger, the highest since the
	// last of them.
	var spikes analyze.SpikeReport
	if err := json.Unmarshal([]byte(runOK(t, nil, "--db", db, "-o", "json", "spikes", "--by", "total", "--top", "0")), &spikes); err != nil {
		t.Fatal(err)
	}
	wantRank := 1
	var sinceSends int64
	for _, s := range facts.Spikes {
		if s.Count > facts.Burst.Count {
			wantRank++
		}
		if s.Minute.Equal(facts.BurstHighestSince) {
			sinceSends = int64(s.Count)
		}
	}
	rank := 0
	for i, s := range spikes.Spikes {
		if s.Start.Equal(facts.Burst.Minute) {
			rank = i + 1
			if s.Sends != int64(facts.Burst.Count) {
				t.Errorf("burst minute: %d sends, want %d", s.Sends, facts.Burst.Count)
			}
			if s.HighestSince == nil || !s.HighestSince.Equal(facts.BurstHighestSince) || s.HighestSinceSends != sinceSends {
				t.Errorf("burst highest since %v (%d), want %v (%d)", s.HighestSince, s.HighestSinceSends, facts.BurstHighestSince, sinceSends)
			}
			if s.Peak60s != int64(facts.BurstPeak.Count) || !s.PeakStart.Equal(facts.BurstPeak.Start.Truncate(time.Millisecond)) {
				t.Errorf("burst peak %d from %v, want %d from %v", s.Peak60s, s.PeakStart, facts.BurstPeak.Count, facts.BurstPeak.Start)
			}
		}
	}
	if rank != wantRank {
		t.Errorf("the burst ranks %d, want %d", rank, wantRank)
	}
	for i, sp := range facts.Spikes {
		k := indexOfStart(spikes.Spikes, sp.Minute)
		if k < 0 || spikes.Spikes[k].Sends != int64(sp.Count) {
			t.Errorf("spike %d at %s: not ranked with %d sends", i, sp.Minute, sp.Count)
		}
	}
	for _, s := range spikes.Spikes {
		if !isFactSpike(s.Start) && s.Sends > int64(facts.OrdinaryMax) {
			t.Errorf("%s: %d sends, more than the ordinary maximum %d", s.Start, s.Sends, facts.OrdinaryMax)
		}
	}
	var totalSends int64
	for _, s := range spikes.Spikes {
		totalSends += s.Sends
	}

	// onset: the first 4.7.650 is on the first IP, linked to the burst.
	var onsets []analyze.Onset
	if err := json.Unmarshal([]byte(runOK(t, nil, "--db", db, "-o", "json", "onset")), &onsets); err != nil {
		t.Fatal(err)
	}
	if len(onsets) != len(facts.FirstDeferral) {
		t.Fatalf("%d onsets, want %d", len(onsets), len(facts.FirstDeferral))
	}
	for i, fd := range facts.FirstDeferral {
		o := onsets[i]
		if o.IP != fd.IP || o.FirstDeferral == nil || !o.FirstDeferral.Time.Equal(fd.At.Truncate(time.Millisecond)) {
			t.Errorf("onset %d: %s at %v, want %s at %v", i, o.IP, o.FirstDeferral, fd.IP, fd.At)
			continue
		}
		if !strings.HasPrefix(facts.DeferralCode, "451 "+o.FirstDeferral.EnhancedCode) {
			t.Errorf("onset %d: code %s, want %s", i, o.FirstDeferral.EnhancedCode, facts.DeferralCode)
		}
		if o.Burst == nil || !o.Burst.Start.Equal(facts.Burst.Minute) || o.Burst.Sends != int64(facts.Burst.Count) {
			t.Errorf("onset %d: burst %+v, want %d at %s", i, o.Burst, facts.Burst.Count, facts.Burst.Minute)
		}
	}
	first := onsets[0]
	if first.Lag != analyze.FormatLag(facts.OnsetLag()) || first.LagSeconds != int64(facts.OnsetLag()/time.Second) {
		t.Errorf("lag %q (%d s), want %s", first.Lag, first.LagSeconds, analyze.FormatLag(facts.OnsetLag()))
	}
	wantSince := "the highest since " + facts.BurstHighestSince.Format("2006-01-02") + " (" + itoa(sinceSends) + ")"
	if !strings.Contains(first.Sentence, "on "+facts.FirstDeferral[0].IP) || !strings.Contains(first.Sentence, first.Lag+" after a burst of "+itoa(int64(facts.Burst.Count))) ||
		!strings.Contains(first.Sentence, wantSince) {
		t.Errorf("sentence %q lacks the IP, the lag, the burst or %q", first.Sentence, wantSince)
	}

	// simulate --limit 10/1m: what the operator's limiter costs.
	var sim analyze.SimReport
	if err := json.Unmarshal([]byte(runOK(t, nil, "--db", db, "-o", "json", "simulate", "--limit", "10/1m")), &sim); err != nil {
		t.Fatal(err)
	}
	r := sim.Results[0]
	if r.Limit != "10/1m" || r.Sends != totalSends {
		t.Errorf("simulate replayed %d sends at %s, spikes counts %d", r.Sends, r.Limit, totalSends)
	}
	if r.Delayed == 0 || r.P95Seconds <= 0 || r.MaxSeconds < r.P95Seconds || r.P95Seconds < r.P50Seconds || r.WorstBacklog < 1 {
		t.Errorf("10/1m reports no delay cost: %+v", r)
	}
	// The burst alone puts more than 10 a minute on each IP: it must wait.
	for _, pc := range facts.Burst.PerIP {
		if pc.Count > 10 && r.MaxSeconds < 60 {
			t.Errorf("%d sends on %s in one minute, yet no send waited a minute", pc.Count, pc.IP)
		}
	}
	// rates: Microsoft in the pause band over the whole range and on the
	// days of the block, every other provider healthy; delays within the
	// ESP's retry horizon, and the messages it gave up on counted.
	var rates analyze.RateReport
	if err := json.Unmarshal([]byte(runOK(t, nil, "--db", db, "-o", "json", "rates", "--window", "1d", "--by", "total",
		"--retry-horizon", facts.RetryHorizon.String())), &rates); err != nil {
		t.Fatal(err)
	}
	for _, tot := range rates.Totals {
		want := analyze.BandHealthy
		if tot.Provider == string(analyze.ProviderMicrosoft) {
			want = analyze.BandPause
		}
		if tot.Band != want {
			t.Errorf("%s over the whole range: %.1f%% deferred, band %s, want %s", tot.Provider, 100*tot.DeferralRate, tot.Band, want)
		}
	}
	blockDay := facts.FirstDeferral[0].At.Truncate(24 * time.Hour).Add(24 * time.Hour)
	for _, row := range rates.Rows {
		if row.Provider == string(analyze.ProviderMicrosoft) && !row.Start.Before(blockDay) && row.Start.Before(facts.BlockEnd.Truncate(24*time.Hour)) && row.Band != analyze.BandPause {
			t.Errorf("Microsoft on %s, inside the block: band %s", row.Start.Format("2006-01-02"), row.Band)
		}
	}
	for _, d := range rates.Delays {
		if d.Provider != string(analyze.ProviderMicrosoft) {
			continue
		}
		// The last attempt is made at the horizon (and may be accepted), a
		// few seconds of queueing after it.
		if d.Delivered == 0 || d.MaxSeconds > (facts.RetryHorizon+5*time.Minute).Seconds() || d.P95Seconds > d.MaxSeconds || d.PastHorizon < int64(facts.HorizonBounces) {
			t.Errorf("Microsoft delays %+v: want deliveries by the %s horizon and at least %d given up", d, facts.RetryHorizon, facts.HorizonBounces)
		}
	}

	table := runOK(t, nil, "--db", db, "simulate", "--limit", "10/1m")
	if !strings.Contains(table, "10/1m sliding") || !strings.Contains(table, "Added delay") {
		t.Errorf("simulate table:\n%s", table)
	}
}

func indexOfStart(sp []analyze.Spike, t time.Time) int {
	for i, s := range sp {
		if s.Start.Equal(t) {
			return i
		}
	}
	return -1
}

func isFactSpike(t time.Time) bool {
	for _, s := range example.Facts.Spikes {
		if s.Minute.Equal(t) {
			return true
		}
	}
	return false
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

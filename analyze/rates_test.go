package analyze

import (
	"context"
	"testing"
	"time"

	"github.com/senderscope/senderscope/ingest"
)

func TestBandBoundaries(t *testing.T) {
	for rate, want := range map[float64]Band{
		0: BandHealthy, 0.0199: BandHealthy, 0.02: BandWatch, 0.0499: BandWatch,
		0.05: BandThrottle, 0.1499: BandThrottle, 0.15: BandPause, 1: BandPause,
	} {
		if got := BandFor(rate); got != want {
			t.Errorf("BandFor(%v) = %s, want %s", rate, got, want)
		}
	}
}

func minuteOf(s string) int64 { return at(s).Unix() / 60 }

func rateSource() *memSource {
	o := func(m, ip string, attempts, deferred int64) ingest.MinuteOutcomes {
		return ingest.MinuteOutcomes{Minute: minuteOf(m), Provider: "microsoft", IP: ip, Sends: attempts - deferred,
			Attempts: attempts, Delivered: attempts - deferred, Deferred: deferred}
	}
	first := at("2026-02-24 10:05:00")
	delayed := func(after time.Duration) ingest.MessageDelay {
		return ingest.MessageDelay{Provider: "microsoft", IP: ipA, First: first, Delivered: first.Add(after), Deferrals: 1}
	}
	return &memSource{
		outcomes: []ingest.MinuteOutcomes{
			o("2026-02-24 10:00:00", ipA, 60, 1), o("2026-02-24 10:30:00", ipA, 40, 1), // 2 / 100: watch
			o("2026-02-24 10:10:00", ipB, 100, 15), // 15 %: pause
			o("2026-02-24 11:00:00", ipA, 100, 1),  // 1 %: healthy
			o("2026-02-28 12:00:00", ipA, 1, 0),    // the end of the data
		},
		delayed: []ingest.MessageDelay{
			delayed(time.Minute), delayed(2 * time.Minute), delayed(10 * time.Minute), delayed(time.Hour),
			{Provider: "microsoft", IP: ipA, First: first, Deferrals: 20},                                   // 98 h before the end: past a 72 h horizon
			{Provider: "microsoft", IP: ipA, First: at("2026-02-28 11:00:00"), Bounced: true, Deferrals: 1}, // bounced
			{Provider: "microsoft", IP: ipB, First: at("2026-02-28 09:00:00"), Deferrals: 3},                // 3 h old: still retrying
		},
	}
}

func TestRatesPerIPAndHour(t *testing.T) {
	rep, err := Rates(context.Background(), rateSource(), RateOptions{Provider: ProviderMicrosoft, ByIP: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		start, ip          string
		attempts, deferred int64
		band               Band
	}{
		{"2026-02-24 10:00:00", ipB, 100, 15, BandPause},
		{"2026-02-24 10:00:00", ipA, 100, 2, BandWatch},
		{"2026-02-24 11:00:00", ipA, 100, 1, BandHealthy},
		{"2026-02-28 12:00:00", ipA, 1, 0, BandHealthy},
	}
	if len(rep.Rows) != len(want) {
		t.Fatalf("rows %+v", rep.Rows)
	}
	for i, w := range want {
		r := rep.Rows[i]
		if !r.Start.Equal(at(w.start)) || r.IP != w.ip || r.Attempts != w.attempts || r.Deferred != w.deferred || r.Band != w.band {
			t.Errorf("row %d: %+v, want %+v", i, r, w)
		}
	}
	if len(rep.Totals) != 2 || rep.Totals[0].IP != ipA || rep.Totals[0].Attempts != 201 || rep.Totals[0].Deferred != 3 {
		t.Errorf("totals %+v", rep.Totals)
	}
	if len(rep.Delays) != 1 {
		t.Fatalf("delays %+v", rep.Delays)
	}
	d := rep.Delays[0]
	// Delivered after 60, 120, 600, 3600 s: nearest-rank p50 is the 2nd, p95 the 4th.
	if d.Deferred != 7 || d.Delivered != 4 || d.P50Seconds != 120 || d.P95Seconds != 3600 || d.MaxSeconds != 3600 {
		t.Errorf("delays %+v", d)
	}
	if d.PastHorizon != 2 || d.StillRetrying != 1 {
		t.Errorf("past horizon %d, still retrying %d; want 2 and 1", d.PastHorizon, d.StillRetrying)
	}
	if rep.RetryHorizon != "3d" {
		t.Errorf("retry horizon %q", rep.RetryHorizon)
	}
}

func TestRatesTotalWindow(t *testing.T) {
	rep, err := Rates(context.Background(), rateSource(), RateOptions{Provider: ProviderMicrosoft, Window: 24 * time.Hour, RetryHorizon: 100 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// One row per day over both IPs: 2026-02-24 has 18 of 300 deferred (6 %).
	r := rep.Rows[0]
	if len(rep.Rows) != 2 || r.IP != "" || r.Attempts != 300 || r.Deferred != 18 || r.Band != BandThrottle {
		t.Fatalf("rows %+v", rep.Rows)
	}
	// A 100 h horizon: the 98 h old message is still being retried.
	if d := rep.Delays[0]; d.PastHorizon != 1 || d.StillRetrying != 2 {
		t.Errorf("past horizon %d, still retrying %d; want 1 and 2", d.PastHorizon, d.StillRetrying)
	}
}

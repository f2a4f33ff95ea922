package analyze

import (
	"context"
	"testing"
	"time"

	"github.com/senderscope/senderscope/ingest"
)

// straddle: 25 sends on A at 2026-01-05 09:00, then on 2026-01-20 a burst
// of 40 on A that straddles 10:01:00 (20 in each minute), and 3 sends on B
// in 10:00. Pre-aggregated counts add a 30 on 2026-01-03 08:00 (no IP).
func straddle() *memSource {
	var s []ingest.SendEvent
	s = append(s, burst(at("2026-01-05 09:00:00"), 50*time.Second, 25, "A")...)
	s = append(s, burst(at("2026-01-20 10:00:40"), 40*time.Second, 40, "A")...)
	s = append(s, burst(at("2026-01-20 10:00:05"), 30*time.Second, 3, "B")...)
	return &memSource{provider: "microsoft", sends: sortSends(s),
		counts: []ingest.MinuteSends{{Minute: at("2026-01-03 08:00:00").Unix() / 60, Sends: 30}}}
}

func spikeAt(t *testing.T, sp []Spike, start, ip string) Spike {
	t.Helper()
	for _, s := range sp {
		if s.Start.Equal(at(start)) && s.IP == ip {
			return s
		}
	}
	t.Fatalf("no window %s %q in %+v", start, ip, sp)
	return Spike{}
}

func TestSpikesStraddlingBurstPerIP(t *testing.T) {
	rep, err := Spikes(context.Background(), straddle(), SpikeOptions{Provider: ProviderMicrosoft, AutoByIP: true})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.ByIP || len(rep.IPs) != 3 || rep.IPs[0] != "A" || rep.IPs[2] != ingest.UnknownIP {
		t.Fatalf("by IP %v, IPs %v: want per IP over A, B and unknown (the counts)", rep.ByIP, rep.IPs)
	}
	// The burst is 20 + 20 by the minute but 40 in the 60 s from 10:00:40.
	for _, m := range []string{"2026-01-20 10:00:00", "2026-01-20 10:01:00"} {
		s := spikeAt(t, rep.Spikes, m, "A")
		if s.Sends != 20 || s.Peak60s != 40 || !s.PeakStart.Equal(at("2026-01-20 10:00:40")) {
			t.Errorf("%s on A: sends %d, peak %d from %v; want 20, 40 from 10:00:40", m, s.Sends, s.Peak60s, s.PeakStart)
		}
	}
	first := spikeAt(t, rep.Spikes, "2026-01-20 10:00:00", "A")
	if first.HighestSince == nil || !first.HighestSince.Equal(at("2026-01-05 09:00:00")) || first.HighestSinceSends != 25 {
		t.Errorf("10:00 on A: highest since %v (%d), want 2026-01-05 09:00 (25)", first.HighestSince, first.HighestSinceSends)
	}
	// "At least as high": 10:01 (20) is the highest since 10:00 (20).
	second := spikeAt(t, rep.Spikes, "2026-01-20 10:01:00", "A")
	if second.HighestSince == nil || !second.HighestSince.Equal(at("2026-01-20 10:00:00")) {
		t.Errorf("10:01 on A: highest since %v, want 2026-01-20 10:00", second.HighestSince)
	}
	// Baseline: the only earlier day with sends on A within 30 days peaked at 25.
	if first.Baseline != 25 || first.Factor != 0.8 {
		t.Errorf("baseline %v factor %v, want 25 and 0.8", first.Baseline, first.Factor)
	}
	// B's 3 sends: its own peak, not A's.
	if b := spikeAt(t, rep.Spikes, "2026-01-20 10:00:00", "B"); b.Sends != 3 || b.Peak60s != 3 || !b.HighestEver {
		t.Errorf("B: %+v, want 3 sends, peak 3, highest ever", b)
	}
	// The counts have no events behind them: no sliding peak.
	if u := spikeAt(t, rep.Spikes, "2026-01-03 08:00:00", ingest.UnknownIP); u.Sends != 30 || u.Peak60s != -1 || !u.HighestEver {
		t.Errorf("counts-only window: %+v, want 30 sends, peak -1, highest ever", u)
	}
	// Every IP together: 23 in 10:00, ranked below the 30 and the 25.
	tot := rep.TotalSpikes
	if len(tot) != 4 || tot[0].Sends != 30 || tot[1].Sends != 25 || tot[2].Sends != 23 || tot[3].Sends != 20 {
		t.Fatalf("total ranking %+v", tot)
	}
	if tot[2].Peak60s != 41 { // 40 from A plus B's send at 10:00:25
		t.Errorf("total peak for 10:00: %d, want 41", tot[2].Peak60s)
	}
	if tot[2].HighestSince == nil || !tot[2].HighestSince.Equal(at("2026-01-05 09:00:00")) {
		t.Errorf("total 10:00 highest since %v, want 2026-01-05 09:00", tot[2].HighestSince)
	}
}

func TestSpikesFilters(t *testing.T) {
	src := straddle()
	ctx := context.Background()
	rep, err := Spikes(ctx, src, SpikeOptions{Provider: ProviderMicrosoft, Over: 24, Since: at("2026-01-04 00:00:00")})
	if err != nil {
		t.Fatal(err)
	}
	// Over 24 since 2026-01-04: only the 25; the 30 before Since still
	// counts as history for "highest since".
	if len(rep.Spikes) != 1 || rep.Spikes[0].Sends != 25 || rep.Spikes[0].HighestSinceSends != 30 {
		t.Fatalf("over 24 since 01-04: %+v", rep.Spikes)
	}
	rep, err = Spikes(ctx, src, SpikeOptions{Provider: ProviderMicrosoft, Window: 5 * time.Minute, Top: 2})
	if err != nil {
		t.Fatal(err)
	}
	// 5-minute windows, total: 10:00-10:05 holds all 43.
	if len(rep.Spikes) != 2 || rep.Spikes[0].Sends != 43 || !rep.Spikes[0].Start.Equal(at("2026-01-20 10:00:00")) || rep.Spikes[0].Peak60s != 41 {
		t.Fatalf("5m top 2: %+v", rep.Spikes)
	}
	if rep.Window != "5m" || len(rep.Chart) != 41 {
		t.Errorf("window %q, chart %d minutes; want 5m and 41", rep.Window, len(rep.Chart))
	}
	rep, err = Spikes(ctx, src, SpikeOptions{Provider: ProviderGmail})
	if err != nil || len(rep.Spikes) != 0 || rep.Windows != 0 {
		t.Fatalf("gmail has nothing: %+v %v", rep, err)
	}
}

func TestParseWindow(t *testing.T) {
	for in, want := range map[string]time.Duration{"1m": time.Minute, "5m": 5 * time.Minute, "1h": time.Hour, "1d": 24 * time.Hour} {
		if got, err := ParseWindow(in); got != want || err != nil {
			t.Errorf("ParseWindow(%q) = %v, %v", in, got, err)
		}
		if FormatWindow(want) != in {
			t.Errorf("FormatWindow(%v) = %q", want, FormatWindow(want))
		}
	}
	for _, bad := range []string{"30s", "7m", "7h", "2d", "x"} {
		if _, err := ParseWindow(bad); err == nil {
			t.Errorf("ParseWindow(%q): no error", bad)
		}
	}
}

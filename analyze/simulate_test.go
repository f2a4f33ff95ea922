package analyze

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/senderscope/senderscope/ingest"
)

func TestParseLimit(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Limit
	}{
		{"10/1m", Limit{10, time.Minute}},
		{"10/m", Limit{10, time.Minute}},
		{"600/1h", Limit{600, time.Hour}},
		{"5/30s", Limit{5, 30 * time.Second}},
		{"20000/1d", Limit{20000, 24 * time.Hour}},
	} {
		got, err := ParseLimit(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseLimit(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
		if again, err := ParseLimit(got.String()); err != nil || again != got {
			t.Errorf("%v prints as %q, which reads back as %v, %v", got, got.String(), again, err)
		}
	}
	for _, bad := range []string{"10", "0/1m", "-1/1m", "x/1m", "10/", "10/fortnight", "10/-1m"} {
		if _, err := ParseLimit(bad); err == nil {
			t.Errorf("ParseLimit(%q): no error", bad)
		}
	}
}

// handSends: five sends on A at 0 s, 0 s, 0 s, 10 s and 70 s after t0, one
// on B at 0 s. The expected delays below are worked out by hand.
func handSends() []ingest.SendEvent {
	t0 := at("2026-02-24 19:40:00").UnixMilli()
	return []ingest.SendEvent{
		{Ms: t0, IP: "A"}, {Ms: t0, IP: "A"}, {Ms: t0, IP: "B"}, {Ms: t0, IP: "A"},
		{Ms: t0 + 10_000, IP: "A"}, {Ms: t0 + 70_000, IP: "A"},
	}
}

func TestSimulateSlidingWindowByHand(t *testing.T) {
	src := &memSource{provider: "microsoft", sends: handSends()}
	rep, err := Simulate(context.Background(), src, SimOptions{Provider: ProviderMicrosoft, Limit: Limit{2, time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	// At most 2 per 60 s on A, first come first served:
	//   #1 0 s, #2 0 s: go at once
	//   #3 (0 s) waits for #1's slot to free at 60 s        -> 60 s
	//   #4 (10 s) waits for #2's slot at 60 s                -> 50 s
	//   #5 (70 s) waits for #3's slot at 60+60 = 120 s       -> 50 s
	// B's one send goes at once. Delays: 0 0 0 60 50 50.
	r := rep.Results[0]
	if r.Sends != 6 || r.Delayed != 3 {
		t.Fatalf("sends %d delayed %d, want 6 and 3", r.Sends, r.Delayed)
	}
	// Nearest rank: p50 is the 3rd of 6 sorted (0), p95 the 6th (60), p99 the 6th.
	if r.P50Seconds != 0 || r.P95Seconds != 60 || r.P99Seconds != 60 || r.MaxSeconds != 60 {
		t.Errorf("p50/p95/p99/max = %v/%v/%v/%v, want 0/60/60/60", r.P50Seconds, r.P95Seconds, r.P99Seconds, r.MaxSeconds)
	}
	// #3 and #4 wait together from 10 s; the queue empties at 60 s, refills
	// at 70 s and empties at 120 s: the longest stretch is 0-60 s.
	if r.WorstBacklog != 2 || r.WorstBacklogIP != "A" || !r.WorstBacklogAt.Equal(at("2026-02-24 19:40:10")) {
		t.Errorf("worst backlog %d on %s at %v, want 2 on A at 19:40:10", r.WorstBacklog, r.WorstBacklogIP, r.WorstBacklogAt)
	}
	if r.WorstDrainSeconds != 60 || !r.WorstDrainFrom.Equal(at("2026-02-24 19:40:00")) {
		t.Errorf("worst drain %vs from %v, want 60 s from 19:40:00", r.WorstDrainSeconds, r.WorstDrainFrom)
	}
}

func TestSimulateTokenBucketByHand(t *testing.T) {
	src := &memSource{provider: "microsoft", sends: handSends()}
	rep, err := Simulate(context.Background(), src, SimOptions{Provider: ProviderMicrosoft, Limit: Limit{2, time.Minute}, Algorithm: AlgToken})
	if err != nil {
		t.Fatal(err)
	}
	// A bucket of 2 tokens refilled at one per 30 s, on A:
	//   #1, #2 at 0 s take the two tokens
	//   #3 (0 s) waits for a token at 30 s                   -> 30 s
	//   #4 (10 s) is behind #3; next token at 60 s           -> 50 s
	//   #5 (70 s): 10 s of refill = 1/3 token; full at 90 s  -> 20 s
	// Delays with B: 0 0 0 30 50 20 -> sorted 0 0 0 20 30 50.
	r := rep.Results[0]
	if r.Delayed != 3 || r.P50Seconds != 0 || r.P95Seconds != 50 || r.MaxSeconds != 50 {
		t.Errorf("delayed %d p50 %v p95 %v max %v, want 3, 0, 50, 50", r.Delayed, r.P50Seconds, r.P95Seconds, r.MaxSeconds)
	}
	src.sends = src.sends[:4] // #1-#3 on A and B's send
	rep, _ = Simulate(context.Background(), src, SimOptions{Provider: ProviderMicrosoft, Limit: Limit{2, time.Minute}, Algorithm: AlgToken})
	if r := rep.Results[0]; r.MaxSeconds != 30 || r.Delayed != 1 {
		t.Errorf("three sends at once: max %v delayed %d, want 30 s and 1", r.MaxSeconds, r.Delayed)
	}
}

func TestSimulatePerClass(t *testing.T) {
	s := handSends()
	for i := range s {
		s[i].Class = "newsletter"
	}
	s[4].Class = "transactional" // the 10 s send on A, delayed 50 s
	rep, err := Simulate(context.Background(), &memSource{provider: "microsoft", sends: s}, SimOptions{Provider: ProviderMicrosoft, Limit: Limit{2, time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 3 || rep.Results[1].Class != "newsletter" || rep.Results[2].Class != "transactional" {
		t.Fatalf("results %+v, want all, newsletter, transactional", rep.Results)
	}
	if n, tr := rep.Results[1], rep.Results[2]; n.Sends != 5 || n.MaxSeconds != 60 || tr.Sends != 1 || tr.MaxSeconds != 50 {
		t.Errorf("newsletter %d sends max %v; transactional %d sends max %v", n.Sends, n.MaxSeconds, tr.Sends, tr.MaxSeconds)
	}
}

// TestMaxDelaySearchFindsTheMinimum checks the search against trying every
// limit in turn.
func TestMaxDelaySearchFindsTheMinimum(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 7))
	t0 := at("2026-02-24 00:00:00").UnixMilli()
	var sends []ingest.SendEvent
	for range 3000 {
		sends = append(sends, ingest.SendEvent{Ms: t0 + rng.Int64N(6*3600_000), IP: []string{"A", "B"}[rng.IntN(2)]})
	}
	for range 120 { // a burst on A
		sends = append(sends, ingest.SendEvent{Ms: t0 + 3*3600_000 + rng.Int64N(40_000), IP: "A"})
	}
	sends = sortSends(sends)
	src := &memSource{provider: "microsoft", sends: sends}
	for _, alg := range []Algorithm{AlgSliding, AlgToken} {
		for _, maxDelay := range []time.Duration{0, 30 * time.Second, 5 * time.Minute} {
			rep, err := Simulate(context.Background(), src, SimOptions{Provider: ProviderMicrosoft, Limit: Limit{10, time.Minute}, Algorithm: alg, MaxDelay: max(maxDelay, time.Nanosecond)})
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			for n := 1; ; n++ {
				r, _ := Simulate(context.Background(), src, SimOptions{Provider: ProviderMicrosoft, Limit: Limit{n, time.Minute}, Algorithm: alg})
				if r.Results[0].P95Seconds <= max(maxDelay, time.Nanosecond).Seconds() {
					want = n
					break
				}
			}
			if got := rep.Recommended.Limit; got != (Limit{want, time.Minute}).String() {
				t.Errorf("%s, max delay %v: recommended %s, trying each limit gives %d/1m", alg, maxDelay, got, want)
			}
			if rep.Recommended.P95Seconds > max(maxDelay, time.Nanosecond).Seconds() {
				t.Errorf("%s: recommended p95 %v over %v", alg, rep.Recommended.P95Seconds, maxDelay)
			}
		}
	}
}

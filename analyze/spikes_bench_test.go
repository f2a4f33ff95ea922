package analyze

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/senderscope/senderscope/ingest"
)

// BenchmarkSpikesWarm times a default spikes run (Microsoft, per IP when
// known, top 10, with the every-IP ranking and sliding peaks) on a store
// whose per-minute aggregate is fresh. SENDERSCOPE_BENCH_DB names an
// existing database to use (scripts/bench-spikes.sh times the 10M case
// end to end); otherwise the benchmark builds one of 500k events: 25 an
// hour-minute over 20 days, alternating two IPs, 3 in 10 to Microsoft.
func BenchmarkSpikesWarm(b *testing.B) {
	ctx := context.Background()
	path := os.Getenv("SENDERSCOPE_BENCH_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "bench.db")
		s, err := ingest.Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		pr, pw := io.Pipe()
		go func() {
			domains := []string{"gmail.com", "hotmail.com", "yahoo.com", "outlook.com", "example.org", "icloud.com", "live.com", "example.net", "olive.com", "gmail.com"}
			fmt.Fprintln(pw, "created_at,email,status,ip")
			base := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
			for i := range 500_000 {
				ts := base.Add(time.Duration(i) * 3456 * time.Millisecond)
				fmt.Fprintf(pw, "%s,u%d@%s,delivered,203.0.113.%d\n", ts.Format("2006-01-02 15:04:05.000Z07:00"), i, domains[i%len(domains)], 7+i%2*3)
			}
			pw.Close()
		}()
		providers := DefaultProviders()
		if _, err := ingest.Ingest(ctx, s, []ingest.Input{{Name: "-", Reader: pr}}, ingest.Options{
			Enrich: func(e *ingest.Event) { e.Provider = string(providers.ForDomain(e.Domain)) }}); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	s, err := ingest.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	opts := SpikeOptions{Provider: ProviderMicrosoft, AutoByIP: true, Top: 10}
	if _, err := Spikes(ctx, s, opts); err != nil { // refreshes the aggregate
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		rep, err := Spikes(ctx, s, opts)
		if err != nil || len(rep.Spikes) == 0 {
			b.Fatalf("%v, %d spikes", err, len(rep.Spikes))
		}
	}
}

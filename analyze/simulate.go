package analyze

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/senderscope/senderscope/ingest"
)

// Algorithm is how the simulated limiter decides.
type Algorithm string

const (
	// AlgSliding allows at most N sends in any window of Per, per IP, like a
	// Redis sorted-set limiter whose callers wait and retry.
	AlgSliding Algorithm = "sliding"
	// AlgToken is a token bucket of N tokens refilled at N per Per.
	AlgToken Algorithm = "token"
)

// Limit is N sends per period.
type Limit struct {
	N   int           `json:"n"`
	Per time.Duration `json:"-"`
}

func (l Limit) String() string { return fmt.Sprintf("%d/%s", l.N, formatPeriod(l.Per)) }

// formatPeriod is FormatWindow for limit periods, which may be seconds.
func formatPeriod(d time.Duration) string {
	if d%time.Minute != 0 {
		return fmt.Sprintf("%gs", d.Seconds())
	}
	return FormatWindow(d)
}

// ParseLimit reads "10/1m", "600/1h", "10/m".
func ParseLimit(s string) (Limit, error) {
	n, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Limit{}, fmt.Errorf("limit %q: use N/PERIOD, e.g. 10/1m or 600/1h", s)
	}
	k, err := strconv.Atoi(n)
	if err != nil || k < 1 {
		return Limit{}, fmt.Errorf("limit %q: %q is not a positive whole number", s, n)
	}
	if per == "m" || per == "h" || per == "s" {
		per = "1" + per
	}
	d, err := time.ParseDuration(per)
	if per == "1d" {
		d, err = 24*time.Hour, nil
	}
	if err != nil || d <= 0 {
		return Limit{}, fmt.Errorf("limit %q: %q is not a period (1s, 1m, 1h)", s, per)
	}
	return Limit{N: k, Per: d}, nil
}

// SendLister is what the simulation reads.
type SendLister interface {
	Sends(ctx context.Context, provider string, from, to time.Time) ([]ingest.SendEvent, error)
}

// SimOptions configure a limiter replay.
type SimOptions struct {
	Provider     Provider
	Limit        Limit
	Algorithm    Algorithm
	MaxDelay     time.Duration // when set, also search the lowest limit whose p95 added delay stays under it
	Since, Until time.Time
}

// SimResult is what a limit would have cost.
type SimResult struct {
	Limit      string    `json:"limit"`
	Algorithm  Algorithm `json:"algorithm"`
	Class      string    `json:"class,omitempty"` // empty for every class together
	Sends      int64     `json:"sends"`
	Delayed    int64     `json:"delayed"` // sends that would have waited
	P50Seconds float64   `json:"delay_p50_seconds"`
	P95Seconds float64   `json:"delay_p95_seconds"`
	P99Seconds float64   `json:"delay_p99_seconds"`
	MaxSeconds float64   `json:"delay_max_seconds"`
	// WorstBacklog is the most sends waiting at once on one IP, and when;
	// like WorstDrain*, only on the result for every class together.
	WorstBacklog   int64      `json:"worst_backlog"`
	WorstBacklogAt *time.Time `json:"worst_backlog_at,omitempty"`
	WorstBacklogIP string     `json:"worst_backlog_ip,omitempty"`
	// WorstDrainSeconds is the longest stretch during which a queue existed
	// on one IP: how long the worst batch takes to get out.
	WorstDrainSeconds float64    `json:"worst_drain_seconds"`
	WorstDrainFrom    *time.Time `json:"worst_drain_from,omitempty"`
}

// SimReport is the result of Simulate.
type SimReport struct {
	Provider string      `json:"provider"`
	IPs      []string    `json:"ips"`
	First    *time.Time  `json:"first,omitempty"`
	Last     *time.Time  `json:"last,omitempty"`
	Results  []SimResult `json:"results"` // the limit asked for: all classes, then each class
	// Recommended is the lowest limit (same period) whose p95 added delay
	// stays within MaxDelay, when MaxDelay was given.
	MaxDelaySeconds float64    `json:"max_delay_seconds,omitempty"`
	Recommended     *SimResult `json:"recommended,omitempty"`
}

// Simulate replays recorded sends through a per-IP limiter.
func Simulate(ctx context.Context, src SendLister, opts SimOptions) (*SimReport, error) {
	if opts.Algorithm == "" {
		opts.Algorithm = AlgSliding
	}
	sends, err := src.Sends(ctx, string(opts.Provider), opts.Since, opts.Until)
	if err != nil {
		return nil, err
	}
	rep := &SimReport{Provider: providerLabel(opts.Provider)}
	byIP := map[string][]int{}
	classes := map[string]bool{}
	for i, s := range sends {
		byIP[s.IP] = append(byIP[s.IP], i)
		if s.Class != "" {
			classes[s.Class] = true
		}
	}
	for ip := range byIP {
		rep.IPs = append(rep.IPs, ip)
	}
	sort.Strings(rep.IPs)
	if len(sends) > 0 {
		f, l := time.UnixMilli(sends[0].Ms).UTC(), time.UnixMilli(sends[len(sends)-1].Ms).UTC()
		rep.First, rep.Last = &f, &l
	}
	delays := replay(sends, byIP, opts.Limit, opts.Algorithm)
	rep.Results = append(rep.Results, summarize(sends, delays, byIP, opts.Limit, opts.Algorithm, ""))
	var names []string
	for c := range classes {
		names = append(names, c)
	}
	sort.Strings(names)
	if len(names) > 1 {
		for _, c := range names {
			rep.Results = append(rep.Results, summarize(sends, delays, byIP, opts.Limit, opts.Algorithm, c))
		}
	}
	if opts.MaxDelay > 0 && len(sends) > 0 {
		rep.MaxDelaySeconds = opts.MaxDelay.Seconds()
		best := searchLimit(sends, byIP, opts.Limit.Per, opts.Algorithm, opts.MaxDelay)
		rep.Recommended = &best
	}
	return rep, nil
}

// replay returns each send's added delay in ms under the limit.
func replay(sends []ingest.SendEvent, byIP map[string][]int, lim Limit, alg Algorithm) []int64 {
	delays := make([]int64, len(sends))
	per := lim.Per.Milliseconds()
	for _, idx := range byIP {
		switch alg {
		case AlgToken:
			// Tokens refill continuously at N per Per, up to N.
			tokens, last := float64(lim.N), int64(-1<<62)
			rate := float64(lim.N) / float64(per)
			var free int64 = -1 << 62 // when the limiter can next send
			for _, i := range idx {
				t := max(sends[i].Ms, free)
				if last > -1<<62 {
					tokens = min(float64(lim.N), tokens+float64(t-last)*rate)
				}
				last = t
				if tokens < 1 {
					wait := int64((1 - tokens) / rate)
					if float64(wait)*rate < 1-tokens {
						wait++
					}
					t += wait
					tokens = min(float64(lim.N), tokens+float64(wait)*rate)
					last = t
				}
				tokens--
				free = t
				delays[i] = t - sends[i].Ms
			}
		default:
			// Sliding window, first come first served: the k-th send goes
			// no earlier than Per after the (k-N)-th went.
			out := make([]int64, len(idx))
			for k, i := range idx {
				t := sends[i].Ms
				if k > 0 {
					t = max(t, out[k-1])
				}
				if k >= lim.N {
					t = max(t, out[k-lim.N]+per)
				}
				out[k] = t
				delays[i] = t - sends[i].Ms
			}
		}
	}
	return delays
}

func summarize(sends []ingest.SendEvent, delays []int64, byIP map[string][]int, lim Limit, alg Algorithm, class string) SimResult {
	r := SimResult{Limit: lim.String(), Algorithm: alg, Class: class}
	var ds []float64
	for i, s := range sends {
		if class != "" && s.Class != class {
			continue
		}
		r.Sends++
		d := float64(delays[i]) / 1000
		if delays[i] > 0 {
			r.Delayed++
		}
		ds = append(ds, d)
	}
	sort.Float64s(ds)
	if len(ds) > 0 {
		r.P50Seconds, r.P95Seconds, r.P99Seconds, r.MaxSeconds = percentile(ds, 0.5), percentile(ds, 0.95), percentile(ds, 0.99), ds[len(ds)-1]
	}
	if class != "" {
		return r
	}
	// In IP order, so a tie between IPs names the same one every run.
	ips := make([]string, 0, len(byIP))
	for ip := range byIP {
		ips = append(ips, ip)
	}
	sort.Strings(ips)
	for _, ip := range ips {
		idx := byIP[ip]
		// Backlog: arrivals not yet sent. Walk arrivals and departures in time order.
		type ev struct {
			t     int64
			delta int64
		}
		evs := make([]ev, 0, 2*len(idx))
		for _, i := range idx {
			if delays[i] > 0 { // a send that goes out the instant it arrives never waits
				evs = append(evs, ev{sends[i].Ms, 1}, ev{sends[i].Ms + delays[i], -1})
			}
		}
		sort.Slice(evs, func(a, b int) bool {
			if evs[a].t != evs[b].t {
				return evs[a].t < evs[b].t
			}
			return evs[a].delta < evs[b].delta // departures first at the same instant
		})
		var q, worst int64
		var worstAt, queueFrom int64
		for _, e := range evs {
			prev := q
			q += e.delta
			if q > worst {
				worst, worstAt = q, e.t
			}
			if prev <= 0 && q > 0 {
				queueFrom = e.t
			}
			if prev > 0 && q <= 0 {
				if d := float64(e.t-queueFrom) / 1000; d > r.WorstDrainSeconds {
					r.WorstDrainSeconds = d
					t := time.UnixMilli(queueFrom).UTC()
					r.WorstDrainFrom = &t
				}
			}
		}
		if worst > r.WorstBacklog {
			r.WorstBacklog = worst
			t := time.UnixMilli(worstAt).UTC()
			r.WorstBacklogAt, r.WorstBacklogIP = &t, ip
		}
	}
	return r
}

// searchLimit finds the lowest N (per period) whose p95 added delay is within maxDelay.
func searchLimit(sends []ingest.SendEvent, byIP map[string][]int, per time.Duration, alg Algorithm, maxDelay time.Duration) SimResult {
	hi := 1
	for _, idx := range byIP {
		hi = max(hi, len(idx))
	}
	lo := 1
	ok := func(n int) (SimResult, bool) {
		lim := Limit{N: n, Per: per}
		r := summarize(sends, replay(sends, byIP, lim, alg), byIP, lim, alg, "")
		return r, r.P95Seconds <= maxDelay.Seconds()
	}
	best, _ := ok(hi)
	for lo < hi {
		mid := (lo + hi) / 2
		if r, good := ok(mid); good {
			hi, best = mid, r
		} else {
			lo = mid + 1
		}
	}
	if r, good := ok(lo); good {
		best = r
	}
	return best
}

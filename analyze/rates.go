package analyze

import (
	"context"
	"sort"
	"time"

	"github.com/senderscope/senderscope/ingest"
)

// Band is where a deferral rate sits in the bands operators use for
// Microsoft warm-up.
type Band string

const (
	BandHealthy  Band = "healthy"  // under 2 %
	BandWatch    Band = "watch"    // 2-5 %
	BandThrottle Band = "throttle" // 5-15 %
	BandPause    Band = "pause"    // 15 % and over: pause volume growth
)

// BandFor places a deferral rate (0..1) in its band.
func BandFor(rate float64) Band {
	switch {
	case rate < 0.02:
		return BandHealthy
	case rate < 0.05:
		return BandWatch
	case rate < 0.15:
		return BandThrottle
	}
	return BandPause
}

// RateSource is what the rates analysis reads.
type RateSource interface {
	Outcomes(ctx context.Context, provider string, from, to time.Time) ([]ingest.MinuteOutcomes, error)
	DeferredMessages(ctx context.Context, provider string, from, to time.Time) ([]ingest.MessageDelay, error)
}

// RateOptions select the rates.
type RateOptions struct {
	Provider     Provider      // "" = every provider
	Window       time.Duration // default 1h
	ByIP         bool
	Since, Until time.Time
	RetryHorizon time.Duration // default 72h: how long the sender keeps retrying
}

// RateRow is one window of one provider (and IP).
type RateRow struct {
	Start        time.Time `json:"start"`
	Provider     string    `json:"provider"`
	IP           string    `json:"ip,omitempty"`
	Sends        int64     `json:"sends"`
	Attempts     int64     `json:"attempts"`
	Delivered    int64     `json:"delivered"`
	Deferred     int64     `json:"deferred"`
	Bounced      int64     `json:"bounced"`
	DeferralRate float64   `json:"deferral_rate"` // deferred / attempts
	BounceRate   float64   `json:"bounce_rate"`   // bounced / attempts
	Band         Band      `json:"band"`
}

// DelayStats describes messages that were deferred at least once.
type DelayStats struct {
	Provider string `json:"provider"`
	Deferred int64  `json:"deferred_messages"`
	// Of those, delivered later, and how long after their first attempt.
	Delivered  int64   `json:"delivered_later"`
	P50Seconds float64 `json:"delay_p50_seconds"`
	P95Seconds float64 `json:"delay_p95_seconds"`
	MaxSeconds float64 `json:"delay_max_seconds"`
	// Never delivered although their first attempt is older than the retry
	// horizon at the end of the data (bounced after expiry, or lost).
	PastHorizon int64 `json:"undelivered_past_horizon"`
	// Not delivered yet, but still inside the horizon.
	StillRetrying int64 `json:"still_retrying"`
}

// RateReport is the result of Rates.
type RateReport struct {
	Provider     string       `json:"provider"`
	Window       string       `json:"window"`
	RetryHorizon string       `json:"retry_horizon"`
	Rows         []RateRow    `json:"rows"`
	Totals       []RateRow    `json:"totals"` // per provider (and IP) over the whole range
	Delays       []DelayStats `json:"delays"`
}

// Rates computes deferral and bounce rates per window, and delivery delays.
func Rates(ctx context.Context, src RateSource, opts RateOptions) (*RateReport, error) {
	if opts.Window == 0 {
		opts.Window = time.Hour
	}
	if opts.RetryHorizon == 0 {
		opts.RetryHorizon = 72 * time.Hour
	}
	outs, err := src.Outcomes(ctx, string(opts.Provider), opts.Since, opts.Until)
	if err != nil {
		return nil, err
	}
	rep := &RateReport{Provider: providerLabel(opts.Provider), Window: FormatWindow(opts.Window), RetryHorizon: FormatLag(opts.RetryHorizon)}
	w := int64(opts.Window / time.Second)
	type key struct {
		start    int64
		provider string
		ip       string
	}
	acc := map[key]*RateRow{}
	tot := map[key]*RateRow{}
	var end int64
	for _, o := range outs {
		ip := ""
		if opts.ByIP {
			ip = o.IP
			if ip == "" {
				ip = "unknown"
			}
		}
		k := key{o.Minute * 60 / w * w, o.Provider, ip}
		r := acc[k]
		if r == nil {
			r = &RateRow{Start: time.Unix(k.start, 0).UTC(), Provider: o.Provider, IP: ip}
			acc[k] = r
		}
		addOutcome(r, o)
		tk := key{0, o.Provider, ip}
		t := tot[tk]
		if t == nil {
			t = &RateRow{Provider: o.Provider, IP: ip}
			tot[tk] = t
		}
		addOutcome(t, o)
		end = max(end, o.Minute*60+59)
	}
	for _, r := range acc {
		if r.Attempts > 0 {
			finishRate(r)
			rep.Rows = append(rep.Rows, *r)
		}
	}
	for _, t := range tot {
		if t.Attempts == 0 && t.Sends == 0 {
			continue // only drops or complaints without an IP
		}
		finishRate(t)
		rep.Totals = append(rep.Totals, *t)
	}
	sort.Slice(rep.Rows, func(i, j int) bool {
		a, b := rep.Rows[i], rep.Rows[j]
		if !a.Start.Equal(b.Start) {
			return a.Start.Before(b.Start)
		}
		if a.Provider != b.Provider {
			return a.Provider < b.Provider
		}
		return a.IP < b.IP
	})
	sort.Slice(rep.Totals, func(i, j int) bool {
		if rep.Totals[i].Attempts != rep.Totals[j].Attempts {
			return rep.Totals[i].Attempts > rep.Totals[j].Attempts
		}
		return rep.Totals[i].Provider+rep.Totals[i].IP < rep.Totals[j].Provider+rep.Totals[j].IP
	})
	msgs, err := src.DeferredMessages(ctx, string(opts.Provider), opts.Since, opts.Until)
	if err != nil {
		return nil, err
	}
	rep.Delays = delayStats(msgs, time.Unix(end, 0), opts.RetryHorizon)
	return rep, nil
}

func addOutcome(r *RateRow, o ingest.MinuteOutcomes) {
	r.Sends += o.Sends
	r.Attempts += o.Attempts
	r.Delivered += o.Delivered
	r.Deferred += o.Deferred
	r.Bounced += o.Bounced
}

func finishRate(r *RateRow) {
	if r.Attempts > 0 {
		r.DeferralRate = float64(r.Deferred) / float64(r.Attempts)
		r.BounceRate = float64(r.Bounced) / float64(r.Attempts)
	}
	r.Band = BandFor(r.DeferralRate)
}

func delayStats(msgs []ingest.MessageDelay, end time.Time, horizon time.Duration) []DelayStats {
	by := map[string]*DelayStats{}
	delays := map[string][]float64{}
	var order []string
	for _, m := range msgs {
		d := by[m.Provider]
		if d == nil {
			d = &DelayStats{Provider: m.Provider}
			by[m.Provider] = d
			order = append(order, m.Provider)
		}
		d.Deferred++
		switch {
		case !m.Delivered.IsZero():
			d.Delivered++
			delays[m.Provider] = append(delays[m.Provider], m.Delivered.Sub(m.First).Seconds())
		case end.Sub(m.First) >= horizon || m.Bounced:
			d.PastHorizon++
		default:
			d.StillRetrying++
		}
	}
	sort.Strings(order)
	var out []DelayStats
	for _, p := range order {
		d := by[p]
		if v := delays[p]; len(v) > 0 {
			sort.Float64s(v)
			d.P50Seconds, d.P95Seconds, d.MaxSeconds = percentile(v, 0.50), percentile(v, 0.95), v[len(v)-1]
		}
		out = append(out, *d)
	}
	return out
}

// percentile of sorted values, nearest rank.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

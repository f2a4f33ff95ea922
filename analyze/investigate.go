package analyze

import (
	"context"
	"sort"
	"time"
)

// InvestigationSource is everything an investigation reads.
type InvestigationSource interface {
	OnsetSource
	RateSource
	SendLister
}

// InvestigateOptions shape an investigation.
type InvestigateOptions struct {
	Provider Provider      // the provider under investigation (default microsoft)
	Lookback time.Duration // before the first deferral, for bursts (default 24h)
	Limit    Limit         // the limit whose cost to show (default 10/1m)
	MaxDelay time.Duration // the delay budget for the recommended limit (default 5m)
	Top      int           // spikes to list (default 5)
}

// ProviderImpact compares one provider's deferrals during the incident with before.
type ProviderImpact struct {
	Provider       string  `json:"provider"`
	Attempts       int64   `json:"attempts"`
	Deferred       int64   `json:"deferred"`
	Bounced        int64   `json:"bounced"`
	DeferralRate   float64 `json:"deferral_rate"`
	Band           Band    `json:"band"`
	BeforeAttempts int64   `json:"before_attempts"` // the 7 days before the incident
	BeforeRate     float64 `json:"before_deferral_rate"`
}

// Investigation is the whole story of an incident, as data.
type Investigation struct {
	Provider string `json:"provider"`
	// IncidentStart is the first deferral or block at the provider (nil when none).
	IncidentStart *time.Time       `json:"incident_start,omitempty"`
	DataEnd       *time.Time       `json:"data_end,omitempty"`
	Impact        []ProviderImpact `json:"impact"`
	Onsets        []Onset          `json:"onsets"`
	Spikes        *SpikeReport     `json:"spikes"`
	Rates         *RateReport      `json:"rates"`
	Simulation    *SimReport       `json:"simulation"`
}

// Investigate runs the analyses an incident needs, in the order a person reads them.
func Investigate(ctx context.Context, src InvestigationSource, opts InvestigateOptions) (*Investigation, error) {
	if opts.Provider == "" {
		opts.Provider = ProviderMicrosoft
	}
	if opts.Lookback == 0 {
		opts.Lookback = 24 * time.Hour
	}
	if opts.Limit.N == 0 {
		opts.Limit = Limit{N: 10, Per: time.Minute}
	}
	if opts.MaxDelay == 0 {
		opts.MaxDelay = 5 * time.Minute
	}
	if opts.Top == 0 {
		opts.Top = 5
	}
	inv := &Investigation{Provider: string(opts.Provider)}
	var err error
	if inv.Onsets, err = Onsets(ctx, src, OnsetOptions{Provider: opts.Provider, Lookback: opts.Lookback}); err != nil {
		return nil, err
	}
	for _, o := range inv.Onsets {
		t := firstTime(o)
		if inv.IncidentStart == nil || t.Before(*inv.IncidentStart) {
			inv.IncidentStart = &t
		}
	}
	if inv.Spikes, err = Spikes(ctx, src, SpikeOptions{Provider: opts.Provider, Window: time.Minute, AutoByIP: true, Top: opts.Top}); err != nil {
		return nil, err
	}
	if inv.Impact, inv.DataEnd, err = impact(ctx, src, inv.IncidentStart); err != nil {
		return nil, err
	}
	rateFrom := time.Time{}
	if inv.IncidentStart != nil {
		rateFrom = inv.IncidentStart.Add(-24 * time.Hour)
	}
	if inv.Rates, err = Rates(ctx, src, RateOptions{Provider: opts.Provider, Window: time.Hour, ByIP: true, Since: rateFrom}); err != nil {
		return nil, err
	}
	// The limit is judged on the traffic before the incident: during it the
	// provider, not the sender, set the pace.
	simUntil := time.Time{}
	if inv.IncidentStart != nil {
		simUntil = *inv.IncidentStart
	}
	if inv.Simulation, err = Simulate(ctx, src, SimOptions{Provider: opts.Provider, Limit: opts.Limit, MaxDelay: opts.MaxDelay, Until: simUntil}); err != nil {
		return nil, err
	}
	return inv, nil
}

// impact sums outcomes per provider from the incident start to the end of
// the data, and over the 7 days before it.
func impact(ctx context.Context, src RateSource, start *time.Time) ([]ProviderImpact, *time.Time, error) {
	outs, err := src.Outcomes(ctx, "", time.Time{}, time.Time{})
	if err != nil {
		return nil, nil, err
	}
	var end int64
	for _, o := range outs {
		end = max(end, o.Minute)
	}
	var from, before int64 = 0, -1
	if start != nil {
		from = start.Unix() / 60
		before = from - 7*24*60
	}
	by := map[string]*ProviderImpact{}
	for _, o := range outs {
		p := by[o.Provider]
		if p == nil {
			p = &ProviderImpact{Provider: o.Provider}
			by[o.Provider] = p
		}
		switch {
		case o.Minute >= from:
			p.Attempts += o.Attempts
			p.Deferred += o.Deferred
			p.Bounced += o.Bounced
		case before >= 0 && o.Minute >= before:
			p.BeforeAttempts += o.Attempts
			p.BeforeRate += float64(o.Deferred) // summed here, divided below
		}
	}
	var out []ProviderImpact
	for _, p := range by {
		if p.Attempts == 0 && p.BeforeAttempts == 0 {
			continue
		}
		if p.Attempts > 0 {
			p.DeferralRate = float64(p.Deferred) / float64(p.Attempts)
		}
		if p.BeforeAttempts > 0 {
			p.BeforeRate /= float64(p.BeforeAttempts)
		} else {
			p.BeforeRate = 0
		}
		p.Band = BandFor(p.DeferralRate)
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].DeferralRate != out[j].DeferralRate {
			return out[i].DeferralRate > out[j].DeferralRate
		}
		return out[i].Provider < out[j].Provider
	})
	var endT *time.Time
	if end > 0 {
		t := time.Unix(end*60+59, 0).UTC()
		endT = &t
	}
	return out, endT, nil
}

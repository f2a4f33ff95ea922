package analyze

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/senderscope/senderscope/ingest"
)

// OnsetSource is what the onset analysis reads.
type OnsetSource interface {
	SendSource
	FirstProblems(ctx context.Context, provider string, from, to time.Time) ([]ingest.Problem, error)
}

// OnsetOptions select the look-back.
type OnsetOptions struct {
	Provider     Provider      // "" = every provider
	Lookback     time.Duration // how far before the first deferral to look for bursts (default 24h)
	Since, Until time.Time
}

// ProblemEvent is the first event of a kind on an IP.
type ProblemEvent struct {
	Time         time.Time `json:"time"`
	SMTPCode     int       `json:"smtp_code,omitempty"`
	EnhancedCode string    `json:"enhanced_code,omitempty"`
	Reply        string    `json:"reply,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	Count        int64     `json:"count"` // events of this kind on this IP in the range
}

// Onset is when trouble started on one IP at one provider, and what came before.
type Onset struct {
	Provider      string        `json:"provider"`
	IP            string        `json:"ip"`
	FirstDeferral *ProblemEvent `json:"first_deferral,omitempty"`
	FirstFailure  *ProblemEvent `json:"first_failure,omitempty"`
	// Burst is the busiest minute of sends to the provider over every IP in
	// the look-back before the first deferral; IPBurst the busiest on this IP.
	Burst      *Spike `json:"burst,omitempty"`
	IPBurst    *Spike `json:"ip_burst,omitempty"`
	LagSeconds int64  `json:"lag_seconds,omitempty"` // from the burst's minute to the first deferral
	Lag        string `json:"lag,omitempty"`
	Sentence   string `json:"sentence"`
}

// Onsets finds, per provider and IP, the first deferral and permanent
// block and the bursts in the look-back before them.
func Onsets(ctx context.Context, src OnsetSource, opts OnsetOptions) ([]Onset, error) {
	if opts.Lookback == 0 {
		opts.Lookback = 24 * time.Hour
	}
	probs, err := src.FirstProblems(ctx, string(opts.Provider), opts.Since, opts.Until)
	if err != nil {
		return nil, err
	}
	type key struct{ provider, ip string }
	byKey := map[key]*Onset{}
	var order []key
	for _, p := range probs {
		k := key{p.Provider, p.IP}
		o := byKey[k]
		if o == nil {
			o = &Onset{Provider: p.Provider, IP: p.IP}
			byKey[k] = o
			order = append(order, k)
		}
		pe := &ProblemEvent{Time: p.Time, SMTPCode: p.SMTPCode, EnhancedCode: p.EnhancedCode, Reply: p.Reply, Reason: p.Reason, Count: p.Count}
		if p.Type == ingest.TypeDeferred {
			o.FirstDeferral = pe
		} else {
			o.FirstFailure = pe
		}
	}
	// One read of the sends per provider serves every IP's look-back: it
	// runs to the latest first problem of that provider.
	ends := map[string]time.Time{}
	for _, o := range byKey {
		if t := firstTime(*o).Add(time.Minute); t.After(ends[o.Provider]) {
			ends[o.Provider] = t
		}
	}
	var out []Onset
	series := map[string][]ingest.MinuteSends{}
	for _, k := range order {
		o := byKey[k]
		first := o.FirstDeferral
		if first == nil {
			first = o.FirstFailure
		}
		ms, ok := series[o.Provider]
		if !ok {
			ms, err = src.SendMinutes(ctx, o.Provider, time.Time{}, ends[o.Provider])
			if err != nil {
				return nil, err
			}
			series[o.Provider] = ms
		}
		from := first.Time.Add(-opts.Lookback)
		if o.Burst, err = burstBefore(ctx, src, o.Provider, "", ms, from, first.Time); err != nil {
			return nil, err
		}
		if o.IP != "" {
			if o.IPBurst, err = burstBefore(ctx, src, o.Provider, o.IP, ms, from, first.Time); err != nil {
				return nil, err
			}
		}
		if o.Burst != nil {
			lag := first.Time.Sub(o.Burst.Start)
			o.LagSeconds = int64(lag / time.Second)
			o.Lag = FormatLag(lag)
		}
		o.Sentence = onsetSentence(o, first, opts.Lookback)
		out = append(out, *o)
	}
	sort.SliceStable(out, func(i, j int) bool { return firstTime(out[i]).Before(firstTime(out[j])) })
	return out, nil
}

func firstTime(o Onset) time.Time {
	if o.FirstDeferral != nil {
		return o.FirstDeferral.Time
	}
	return o.FirstFailure.Time
}

// burstBefore finds the busiest minute in [from, to) for one IP ("" = all
// IPs), with its sliding 60 s peak and what it was the highest since.
func burstBefore(ctx context.Context, src SendSource, provider, ip string, ms []ingest.MinuteSends, from, to time.Time) (*Spike, error) {
	var filtered []ingest.MinuteSends
	for _, m := range ms {
		if ip == "" || m.IP == ip {
			filtered = append(filtered, m)
		}
	}
	series, _ := buildSeries(filtered, time.Minute, false)
	ws := series[""]
	best := -1
	for i, w := range ws {
		if w.start < from.Unix() || w.start >= to.Unix() {
			continue
		}
		if best < 0 || w.sends > ws[best].sends {
			best = i
		}
	}
	if best < 0 {
		return nil, nil
	}
	w := ws[best]
	sp := &Spike{Start: time.Unix(w.start, 0).UTC(), End: time.Unix(w.start+60, 0).UTC(), IP: ip, Sends: w.sends}
	for j := best - 1; j >= 0; j-- {
		if ws[j].sends >= w.sends {
			t := time.Unix(ws[j].start, 0).UTC()
			sp.HighestSince, sp.HighestSinceSends = &t, ws[j].sends
			break
		}
	}
	sp.HighestEver = sp.HighestSince == nil
	sp.Baseline = baseline(dailyPeaks(ws), w.start, 30)
	if sp.Baseline > 0 {
		sp.Factor = float64(w.sends) / sp.Baseline
	}
	if err := fillPeak(ctx, src, provider, ip, sp, time.Minute); err != nil {
		return nil, err
	}
	return sp, nil
}

// onsetSentence is the line a ticket needs.
func onsetSentence(o *Onset, first *ProblemEvent, lookback time.Duration) string {
	what := "deferral"
	if o.FirstDeferral == nil {
		what = "permanent block"
	}
	code := first.EnhancedCode
	if code == "" && first.SMTPCode != 0 {
		code = fmt.Sprint(first.SMTPCode)
	}
	if code != "" {
		what = code + " " + what
	}
	on := ""
	if o.IP != "" {
		on = " on " + o.IP
	}
	head := fmt.Sprintf("The first %s%s from %s came at %s UTC", what, on, ProviderName(o.Provider), first.Time.Format("2006-01-02 15:04:05"))
	if o.Burst == nil {
		return head + fmt.Sprintf(", with no sends to %s in the %s before it.", ProviderName(o.Provider), FormatLag(lookback))
	}
	b := o.Burst
	var sb strings.Builder
	sb.WriteString(head)
	fmt.Fprintf(&sb, ", %s after a burst of %d sends to %s in one minute (%s UTC", o.Lag, b.Sends, ProviderName(o.Provider), b.Start.Format("2006-01-02 15:04"))
	if b.Peak60s > b.Sends {
		fmt.Fprintf(&sb, "; %d in the busiest 60 s", b.Peak60s)
	}
	sb.WriteString(")")
	if o.IPBurst != nil && o.IPBurst.Start.Equal(b.Start) && o.IPBurst.Sends != b.Sends {
		fmt.Fprintf(&sb, ", %d of them from %s", o.IPBurst.Sends, o.IP)
	}
	if b.HighestSince != nil {
		fmt.Fprintf(&sb, ", the highest since %s (%d)", b.HighestSince.Format("2006-01-02"), b.HighestSinceSends)
	} else {
		sb.WriteString(", the highest in the data")
	}
	sb.WriteString(".")
	return sb.String()
}

// ProviderName is how a provider is named in sentences and titles.
func ProviderName(p string) string {
	switch p {
	case "microsoft":
		return "Microsoft"
	case "gmail":
		return "Gmail"
	case "yahoo":
		return "Yahoo/AOL"
	case "apple":
		return "Apple iCloud"
	case "", "all":
		return "all providers"
	}
	return p
}

// FormatLag prints a duration as people say it: 2h13m, 45m, 3d4h.
func FormatLag(d time.Duration) string {
	if d < 0 {
		return "-" + FormatLag(-d)
	}
	d = d.Round(time.Minute)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h := d / time.Hour
	m := (d - h*time.Hour) / time.Minute
	switch {
	case days > 0 && h > 0:
		return fmt.Sprintf("%dd%dh", days, h)
	case days > 0:
		return fmt.Sprintf("%dd", days)
	case h > 0 && m > 0:
		return fmt.Sprintf("%dh%02dm", h, m)
	case h > 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dm", m)
}

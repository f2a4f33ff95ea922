package report

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/senderscope/senderscope/analyze"
)

func pct(v float64) string { return fmt.Sprintf("%.1f%%", v*100) }

func dur(sec float64) string {
	if sec <= 0 {
		return "0s"
	}
	d := time.Duration(sec * float64(time.Second))
	if d < time.Minute {
		return fmt.Sprintf("%.0fs", d.Seconds())
	}
	return analyze.FormatLag(d)
}

func dateOf(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func sinceText(s analyze.Spike) string {
	if s.HighestSince == nil {
		return "ever (in the data)"
	}
	return fmt.Sprintf("%s (%d)", s.HighestSince.UTC().Format("2006-01-02 15:04"), s.HighestSinceSends)
}

func peakText(s analyze.Spike) string {
	if s.Peak60s < 0 {
		return "n/a (counts only)"
	}
	return Int(s.Peak60s)
}

func factorText(s analyze.Spike) string {
	if s.Baseline <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fx (%.0f)", s.Factor, s.Baseline)
}

type spikeRecord struct {
	Start        string  `csv:"start"`
	End          string  `csv:"end"`
	IP           string  `csv:"ip"`
	Sends        int64   `csv:"sends"`
	Peak60s      int64   `csv:"peak_60s"`
	Baseline     float64 `csv:"baseline"`
	Factor       float64 `csv:"factor"`
	HighestSince string  `csv:"highest_since"`
	HighestEver  bool    `csv:"highest_ever"`
}

// SpikesDoc renders a spike report; the chart is for people only.
func SpikesDoc(r *analyze.SpikeReport, terminal bool) Doc {
	d := Doc{Value: r}
	scope := "total over every sending IP"
	if r.ByIP {
		scope = "per sending IP"
	}
	d.Lead = append(d.Lead, fmt.Sprintf("Sends to %s per %s window, %s: %s windows with sends", r.Provider, r.Window, scope, Int(int64(r.Windows))))
	if len(r.Spikes) == 0 {
		d.Lead = append(d.Lead, "No windows match.")
		d.Records = []spikeRecord{}
		return d
	}
	sec := Section{Title: "Top windows", Header: []string{"window (UTC)", "ip", "sends", "peak in 60 s", "vs baseline", "highest since"}, Right: []int{2, 3}}
	if !r.ByIP {
		sec.Header = []string{"window (UTC)", "sends", "peak in 60 s", "vs baseline", "highest since"}
		sec.Right = []int{1, 2}
	}
	var recs []spikeRecord
	for _, s := range r.Spikes {
		row := []string{s.Start.Format("2006-01-02 15:04")}
		if r.ByIP {
			row = append(row, s.IP)
		}
		row = append(row, Int(s.Sends), peakText(s), factorText(s), sinceText(s))
		sec.Rows = append(sec.Rows, row)
		recs = append(recs, spikeRecord{Start: s.Start.Format(time.RFC3339), End: s.End.Format(time.RFC3339), IP: s.IP, Sends: s.Sends,
			Peak60s: s.Peak60s, Baseline: s.Baseline, Factor: s.Factor, HighestSince: timePtr(s.HighestSince), HighestEver: s.HighestEver})
	}
	sec.Notes = append(sec.Notes, fmt.Sprintf("peak in 60 s: the most sends in any 60 seconds overlapping the window, not aligned to the minute. vs baseline: sends / median of daily peaks over the prior %d days (in brackets).", r.BaselineDays))
	d.Records = recs
	d.Sections = append(d.Sections, sec)
	if len(r.TotalSpikes) > 0 {
		ts := Section{Title: "Top windows, every IP together", Header: []string{"window (UTC)", "sends", "peak in 60 s", "vs baseline", "highest since"}, Right: []int{1, 2}}
		for _, s := range r.TotalSpikes {
			ts.Rows = append(ts.Rows, []string{s.Start.Format("2006-01-02 15:04"), Int(s.Sends), peakText(s), factorText(s), sinceText(s)})
		}
		d.Sections = append(d.Sections, ts)
	}
	if len(r.Chart) > 0 {
		d.Sections = append(d.Sections, chartSection(r, terminal))
	}
	return d
}

// chartSection draws sends per minute around the worst spike as bars.
func chartSection(r *analyze.SpikeReport, terminal bool) Section {
	keys := map[string]bool{}
	var maxTotal int64
	for _, p := range r.Chart {
		var t int64
		for k, v := range p.Sends {
			keys[k] = true
			t += v
		}
		maxTotal = max(maxTotal, t)
	}
	var ks []string
	for k := range keys {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	full, part := "█", "▌"
	if !terminal {
		full, part = "#", "+"
	}
	const width = 50
	worst := r.Spikes[0].Start
	sec := Section{Title: fmt.Sprintf("Sends to %s per minute around the worst spike (%s UTC)", r.Provider, worst.Format("2006-01-02 15:04"))}
	for _, p := range r.Chart {
		var t int64
		var parts []string
		for _, k := range ks {
			t += p.Sends[k]
			if len(ks) > 1 {
				parts = append(parts, fmt.Sprintf("%s %d", k, p.Sends[k]))
			}
		}
		if t == 0 && !p.Minute.Equal(worst) {
			continue
		}
		n := 0.0
		if maxTotal > 0 {
			n = float64(t) * width / float64(maxTotal)
		}
		bar := strings.Repeat(full, int(n))
		if n-float64(int(n)) >= 0.5 {
			bar += part
		}
		mark := "  "
		if p.Minute.Equal(worst) {
			mark = "> "
		}
		line := fmt.Sprintf("%s%s %-*s %4d", mark, p.Minute.Format("15:04"), width+1, bar, t)
		if len(parts) > 0 {
			line += "  (" + strings.Join(parts, ", ") + ")"
		}
		sec.Notes = append(sec.Notes, line)
	}
	return sec
}

type onsetRecord struct {
	Provider          string `csv:"provider"`
	IP                string `csv:"ip"`
	FirstDeferral     string `csv:"first_deferral"`
	FirstDeferralCode string `csv:"first_deferral_code"`
	Deferrals         int64  `csv:"deferrals"`
	FirstFailure      string `csv:"first_failure"`
	FirstFailureCode  string `csv:"first_failure_code"`
	BurstStart        string `csv:"burst_start"`
	BurstSends        int64  `csv:"burst_sends"`
	BurstPeak60s      int64  `csv:"burst_peak_60s"`
	BurstHighestSince string `csv:"burst_highest_since"`
	LagSeconds        int64  `csv:"lag_seconds"`
}

// OnsetDoc renders onsets.
func OnsetDoc(os []analyze.Onset) Doc {
	d := Doc{Value: os}
	if len(os) == 0 {
		d.Lead = []string{"No deferrals or permanent failures in the data."}
		d.Records = []onsetRecord{}
		return d
	}
	sec := Section{Title: "Onset: first deferral and first permanent block per provider and IP", Header: []string{"provider", "ip", "first deferral (UTC)", "code", "deferrals", "first block (UTC)", "burst before (UTC)", "sends", "lag"}, Right: []int{4, 7}}
	var recs []onsetRecord
	for _, o := range os {
		rec := onsetRecord{Provider: o.Provider, IP: o.IP, LagSeconds: o.LagSeconds}
		row := []string{o.Provider, o.IP, "-", "", "0", "-", "-", "", o.Lag}
		if f := o.FirstDeferral; f != nil {
			row[2], row[3], row[4] = f.Time.Format("2006-01-02 15:04:05"), codeOf(f), Int(f.Count)
			rec.FirstDeferral, rec.FirstDeferralCode, rec.Deferrals = f.Time.Format(time.RFC3339), codeOf(f), f.Count
		}
		if f := o.FirstFailure; f != nil {
			row[5] = f.Time.Format("2006-01-02 15:04:05") + " " + codeOf(f)
			rec.FirstFailure, rec.FirstFailureCode = f.Time.Format(time.RFC3339), codeOf(f)
		}
		if b := o.Burst; b != nil {
			row[6], row[7] = b.Start.Format("2006-01-02 15:04"), Int(b.Sends)
			rec.BurstStart, rec.BurstSends, rec.BurstPeak60s, rec.BurstHighestSince = b.Start.Format(time.RFC3339), b.Sends, b.Peak60s, timePtr(b.HighestSince)
		}
		sec.Rows = append(sec.Rows, row)
		sec.Notes = append(sec.Notes, o.Sentence)
		recs = append(recs, rec)
	}
	d.Records = recs
	d.Sections = append(d.Sections, sec)
	return d
}

func codeOf(p *analyze.ProblemEvent) string {
	if p.EnhancedCode != "" {
		return p.EnhancedCode
	}
	if p.SMTPCode != 0 {
		return fmt.Sprint(p.SMTPCode)
	}
	return ""
}

type rateRecord struct {
	Start        string  `csv:"start"`
	Provider     string  `csv:"provider"`
	IP           string  `csv:"ip"`
	Sends        int64   `csv:"sends"`
	Attempts     int64   `csv:"attempts"`
	Delivered    int64   `csv:"delivered"`
	Deferred     int64   `csv:"deferred"`
	Bounced      int64   `csv:"bounced"`
	DeferralRate float64 `csv:"deferral_rate"`
	BounceRate   float64 `csv:"bounce_rate"`
	Band         string  `csv:"band"`
}

// RatesDoc renders a rate report. Only windows outside the healthy band are
// listed in the table for people; CSV and JSON carry every window.
func RatesDoc(r *analyze.RateReport, all bool) Doc {
	d := Doc{Value: r}
	d.Lead = append(d.Lead, fmt.Sprintf("Deferral and bounce rates to %s per %s. Bands: healthy < 2%%, watch 2-5%%, throttle 5-15%%, pause growth 15%%+.", r.Provider, r.Window))
	tot := Section{Title: "Whole range", Header: []string{"provider", "ip", "sends", "attempts", "deferred", "bounced", "deferral rate", "bounce rate", "band"}, Right: []int{2, 3, 4, 5, 6, 7}}
	for _, t := range r.Totals {
		tot.Rows = append(tot.Rows, []string{t.Provider, t.IP, Int(t.Sends), Int(t.Attempts), Int(t.Deferred), Int(t.Bounced), pct(t.DeferralRate), pct(t.BounceRate), string(t.Band)})
	}
	d.Sections = append(d.Sections, tot)
	sec := Section{Title: "Windows outside the healthy band", Header: []string{"window (UTC)", "provider", "ip", "attempts", "deferred", "deferral rate", "band"}, Right: []int{3, 4, 5}}
	if all {
		sec.Title = "Every window"
	}
	var recs []rateRecord
	hidden := 0
	for _, x := range r.Rows {
		recs = append(recs, rateRecord{Start: x.Start.Format(time.RFC3339), Provider: x.Provider, IP: x.IP, Sends: x.Sends, Attempts: x.Attempts,
			Delivered: x.Delivered, Deferred: x.Deferred, Bounced: x.Bounced, DeferralRate: x.DeferralRate, BounceRate: x.BounceRate, Band: string(x.Band)})
		if !all && x.Band == analyze.BandHealthy {
			hidden++
			continue
		}
		sec.Rows = append(sec.Rows, []string{x.Start.Format("2006-01-02 15:04"), x.Provider, x.IP, Int(x.Attempts), Int(x.Deferred), pct(x.DeferralRate), string(x.Band)})
	}
	if hidden > 0 {
		sec.Notes = append(sec.Notes, fmt.Sprintf("%d healthy windows not shown (--all shows them).", hidden))
	}
	d.Records = recs
	d.Sections = append(d.Sections, sec)
	if len(r.Delays) > 0 {
		ds := Section{Title: "Deferred messages and their delivery delay (from first attempt)", Header: []string{"provider", "deferred", "delivered later", "p50", "p95", "max", "never delivered (horizon " + r.RetryHorizon + ")", "still retrying"}, Right: []int{1, 2, 6, 7}}
		for _, x := range r.Delays {
			ds.Rows = append(ds.Rows, []string{x.Provider, Int(x.Deferred), Int(x.Delivered), dur(x.P50Seconds), dur(x.P95Seconds), dur(x.MaxSeconds), Int(x.PastHorizon), Int(x.StillRetrying)})
		}
		d.Sections = append(d.Sections, ds)
	}
	return d
}

type simRecord struct {
	Limit        string  `csv:"limit"`
	Algorithm    string  `csv:"algorithm"`
	Class        string  `csv:"class"`
	Sends        int64   `csv:"sends"`
	Delayed      int64   `csv:"delayed"`
	P50          float64 `csv:"delay_p50_seconds"`
	P95          float64 `csv:"delay_p95_seconds"`
	P99          float64 `csv:"delay_p99_seconds"`
	Max          float64 `csv:"delay_max_seconds"`
	WorstBacklog int64   `csv:"worst_backlog"`
	WorstDrain   float64 `csv:"worst_drain_seconds"`
	Recommended  bool    `csv:"recommended"`
}

// SimulateDoc renders a limiter replay.
func SimulateDoc(r *analyze.SimReport) Doc {
	d := Doc{Value: r}
	if sumSends(r) == 0 {
		d.Lead = append(d.Lead, fmt.Sprintf("No sends to %s in the data to replay.", r.Provider))
		d.Records = []simRecord{}
		return d
	}
	d.Lead = append(d.Lead, fmt.Sprintf("Replaying %s recorded sends to %s through a per-IP limiter (%s to %s UTC, IPs: %s).",
		Int(sumSends(r)), r.Provider, dateOf(r.First), dateOf(r.Last), strings.Join(r.IPs, ", ")))
	sec := Section{Title: "Added delay", Header: []string{"limit", "class", "sends", "delayed", "p50", "p95", "p99", "max", "worst backlog", "worst drain"}, Right: []int{2, 3, 8}}
	var recs []simRecord
	add := func(x analyze.SimResult, rec bool) {
		class := x.Class
		if class == "" {
			class = "all"
		}
		label := x.Limit + " " + string(x.Algorithm)
		if rec {
			label += " (lowest within max delay)"
		}
		backlog := Int(x.WorstBacklog)
		if x.WorstBacklogAt != nil {
			backlog += " at " + x.WorstBacklogAt.Format("2006-01-02 15:04") + " on " + x.WorstBacklogIP
		}
		drain := dur(x.WorstDrainSeconds)
		if x.Class != "" {
			// Queues are per IP, shared by every class: the backlog and
			// drain are on the all-classes line only.
			backlog, drain = "-", "-"
		}
		sec.Rows = append(sec.Rows, []string{label, class, Int(x.Sends), Int(x.Delayed), dur(x.P50Seconds), dur(x.P95Seconds), dur(x.P99Seconds), dur(x.MaxSeconds), backlog, drain})
		recs = append(recs, simRecord{x.Limit, string(x.Algorithm), x.Class, x.Sends, x.Delayed, x.P50Seconds, x.P95Seconds, x.P99Seconds, x.MaxSeconds, x.WorstBacklog, x.WorstDrainSeconds, rec})
	}
	for _, x := range r.Results {
		add(x, false)
	}
	if r.Recommended != nil {
		add(*r.Recommended, true)
		sec.Notes = append(sec.Notes, fmt.Sprintf("Lowest limit whose p95 added delay stays within %s: %s per IP.", dur(r.MaxDelaySeconds), r.Recommended.Limit))
	}
	d.Records = recs
	d.Sections = append(d.Sections, sec)
	return d
}

func sumSends(r *analyze.SimReport) int64 {
	if len(r.Results) == 0 {
		return 0
	}
	return r.Results[0].Sends
}

package analyze

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/senderscope/senderscope/ingest"
)

// SendSource is what the spike and onset analyses read. *ingest.Store
// implements it; tests may too.
type SendSource interface {
	SendMinutes(ctx context.Context, provider string, from, to time.Time) ([]ingest.MinuteSends, error)
	SendTimes(ctx context.Context, provider, ip string, fromMs, toMs int64) ([]int64, error)
}

// SpikeOptions select what spikes counts.
type SpikeOptions struct {
	Provider     Provider      // "" = every provider
	Window       time.Duration // 1m, 5m, 1h or 1d
	ByIP         bool          // one series per sending IP instead of the total
	AutoByIP     bool          // decide ByIP from the data: per IP when sending IPs are known
	Top          int           // how many windows to show (0 = all that pass Over)
	Over         int64         // only windows with more sends than this
	BaselineDays int           // days before a window whose daily peaks make its baseline (default 30)
	Since, Until time.Time     // the windows to rank; history before Since still counts for "highest since"
	ChartMinutes int           // minutes either side of the worst spike to chart (default 20)
}

// Spike is one window of sends.
type Spike struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	IP    string    `json:"ip,omitempty"` // empty for the total over every IP
	Sends int64     `json:"sends"`
	// Peak60s is the most sends in any 60 seconds overlapping the window
	// (not aligned to the minute), from event times; -1 when only
	// pre-aggregated counts cover the window.
	Peak60s   int64      `json:"peak_60s"`
	PeakStart *time.Time `json:"peak_start,omitempty"`
	// Baseline is the median of the daily peaks (busiest window of each day
	// with sends) over the BaselineDays before the window's day.
	Baseline float64 `json:"baseline"`
	Factor   float64 `json:"factor"` // Sends / Baseline; 0 when there is no baseline
	// HighestSince is the start of the last earlier window with at least as
	// many sends; nil when there was none (the highest ever in the data).
	HighestSince      *time.Time `json:"highest_since,omitempty"`
	HighestSinceSends int64      `json:"highest_since_sends,omitempty"`
	HighestEver       bool       `json:"highest_ever"`
}

// ChartPoint is one minute of the chart around the worst spike.
type ChartPoint struct {
	Minute time.Time        `json:"minute"`
	Sends  map[string]int64 `json:"sends"` // by IP ("" for total)
}

// SpikeReport is the result of Spikes.
type SpikeReport struct {
	Provider     string     `json:"provider"`
	Window       string     `json:"window"`
	ByIP         bool       `json:"by_ip"`
	IPs          []string   `json:"ips"`
	First        *time.Time `json:"first,omitempty"`
	Last         *time.Time `json:"last,omitempty"`
	Windows      int        `json:"windows"` // windows with sends in the ranked range
	BaselineDays int        `json:"baseline_days"`
	Spikes       []Spike    `json:"spikes"`
	// TotalSpikes ranks the same windows summed over every IP, when Spikes
	// is per IP: a burst split across IPs shows its full size here.
	TotalSpikes []Spike      `json:"total_spikes,omitempty"`
	Chart       []ChartPoint `json:"chart,omitempty"`
}

// window is one bucket of one series.
type window struct {
	start int64 // Unix seconds
	sends int64
}

// ParseWindow accepts 1m, 5m, 1h, 1d (and other Go durations that divide a day).
func ParseWindow(s string) (time.Duration, error) {
	if s == "1d" {
		return 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Minute || d%time.Minute != 0 || (24*time.Hour)%d != 0 {
		return 0, fmt.Errorf("window %q: use a whole number of minutes that divides a day, e.g. 1m, 5m, 1h, 1d", s)
	}
	return d, nil
}

// FormatWindow prints a window the way users type it.
func FormatWindow(d time.Duration) string {
	switch {
	case d == 24*time.Hour:
		return "1d"
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	default:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
}

// buildSeries buckets minute counts (in minute order, as SendMinutes
// returns them) into windows, per IP when byIP.
func buildSeries(ms []ingest.MinuteSends, win time.Duration, byIP bool) (map[string][]window, []string) {
	w := int64(win / time.Second)
	keyOf := func(m ingest.MinuteSends) string {
		if !byIP {
			return ""
		}
		if m.IP == "" {
			return ingest.UnknownIP
		}
		return m.IP
	}
	// A handful of IPs: find a row's series by comparing with the last one
	// used and then the few others, not by hashing every row's key. A first
	// pass sizes each series, since regrowing a million windows costs more.
	var keys []string
	var sizes []int
	cur := -1
	for _, m := range ms {
		if k := keyOf(m); cur < 0 || keys[cur] != k {
			if cur = slices.Index(keys, k); cur < 0 {
				keys, sizes, cur = append(keys, k), append(sizes, 0), len(keys)
			}
		}
		sizes[cur]++
	}
	series := make([][]window, len(keys))
	for i, n := range sizes {
		series[i] = make([]window, 0, n)
	}
	cur = -1
	for _, m := range ms {
		if k := keyOf(m); cur < 0 || keys[cur] != k {
			cur = slices.Index(keys, k)
		}
		start := (m.Minute * 60) / w * w
		ws := series[cur]
		switch k := len(ws) - 1; {
		case k >= 0 && ws[k].start == start:
			ws[k].sends += m.Sends
		case k >= 0 && ws[k].start > start:
			return buildSeriesUnordered(ms, win, byIP)
		default:
			series[cur] = append(ws, window{start, m.Sends})
		}
	}
	out := make(map[string][]window, len(keys))
	for i, k := range keys {
		out[k] = series[i]
	}
	keys = slices.Clone(keys)
	sort.Strings(keys)
	return out, keys
}

// buildSeriesUnordered is buildSeries for minute counts in any order.
func buildSeriesUnordered(ms []ingest.MinuteSends, win time.Duration, byIP bool) (map[string][]window, []string) {
	sorted := slices.Clone(ms)
	slices.SortStableFunc(sorted, func(a, b ingest.MinuteSends) int { return cmp.Compare(a.Minute, b.Minute) })
	return buildSeries(sorted, win, byIP)
}

// highestSince gives, for each window, the index of the last earlier window
// with at least as many sends (-1 when none), with a monotonic stack.
func highestSince(ws []window) []int {
	out := make([]int, len(ws))
	var stack []int
	for i, w := range ws {
		for len(stack) > 0 && ws[stack[len(stack)-1]].sends < w.sends {
			stack = stack[:len(stack)-1]
		}
		out[i] = -1
		if len(stack) > 0 {
			out[i] = stack[len(stack)-1]
		}
		stack = append(stack, i)
	}
	return out
}

// dailyPeaks is the busiest window of each UTC day with sends, by day number.
func dailyPeaks(ws []window) map[int64]int64 {
	out := map[int64]int64{}
	for _, w := range ws {
		d := w.start / 86400
		if w.sends > out[d] {
			out[d] = w.sends
		}
	}
	return out
}

// baseline is the median of daily peaks over the days days before start's day.
func baseline(peaks map[int64]int64, start int64, days int) float64 {
	d := start / 86400
	var vals []int64
	for k := d - int64(days); k < d; k++ {
		if v, ok := peaks[k]; ok {
			vals = append(vals, v)
		}
	}
	return median(vals)
}

func median(vals []int64) float64 {
	if len(vals) == 0 {
		return 0
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	n := len(vals)
	if n%2 == 1 {
		return float64(vals[n/2])
	}
	return float64(vals[n/2-1]+vals[n/2]) / 2
}

// slidingPeak is the most times in any 60 s span that overlaps [from, to),
// and where that span starts. times must be ascending (Unix ms).
func slidingPeak(times []int64, from, to int64) (int64, int64) {
	var best, at int64
	j := 0
	for i := 0; i < len(times); i++ {
		t := times[i]
		if t < from-59999 || t >= to {
			continue
		}
		if j < i {
			j = i
		}
		for j < len(times) && times[j] < t+60000 {
			j++
		}
		if n := int64(j - i); n > best {
			best, at = n, t
		}
	}
	return best, at
}

// Spikes ranks the windows of sends to a provider.
func Spikes(ctx context.Context, src SendSource, opts SpikeOptions) (*SpikeReport, error) {
	if opts.Window == 0 {
		opts.Window = time.Minute
	}
	if opts.BaselineDays == 0 {
		opts.BaselineDays = 30
	}
	if opts.ChartMinutes == 0 {
		opts.ChartMinutes = 20
	}
	// History before Since is read too: "highest since" and the baseline look back.
	ms, err := src.SendMinutes(ctx, string(opts.Provider), time.Time{}, opts.Until)
	if err != nil {
		return nil, err
	}
	if opts.AutoByIP {
		opts.ByIP = false
		for _, m := range ms {
			if m.IP != "" {
				opts.ByIP = true
				break
			}
		}
	}
	rep := &SpikeReport{Provider: providerLabel(opts.Provider), Window: FormatWindow(opts.Window), ByIP: opts.ByIP, BaselineDays: opts.BaselineDays}
	var err2 error
	if rep.Spikes, err2 = rankWindows(ctx, src, ms, opts, rep); err2 != nil {
		return nil, err2
	}
	if opts.ByIP {
		total := opts
		total.ByIP = false
		if rep.TotalSpikes, err2 = rankWindows(ctx, src, ms, total, nil); err2 != nil {
			return nil, err2
		}
	}
	if len(rep.Spikes) > 0 {
		rep.Chart = chartAround(ms, rep.Spikes[0].Start, opts.ChartMinutes, opts.ByIP)
	}
	return rep, nil
}

// rankWindows ranks one view (per IP or total) of the minute counts. It
// fills rep's range fields when rep is not nil.
func rankWindows(ctx context.Context, src SendSource, ms []ingest.MinuteSends, opts SpikeOptions, rep *SpikeReport) ([]Spike, error) {
	var spikes []Spike
	series, keys := buildSeries(ms, opts.Window, opts.ByIP)
	if opts.ByIP && rep != nil {
		rep.IPs = keys
	}
	since := int64(-1 << 62)
	if !opts.Since.IsZero() {
		since = opts.Since.Unix()
	}
	type cand struct {
		key string
		i   int
		w   window
	}
	// better ranks by sends, then the earlier window; equal ones keep the
	// order they were found in (keys sorted, windows in time order).
	better := func(a, b cand) bool {
		if a.w.sends != b.w.sends {
			return a.w.sends > b.w.sends
		}
		return a.w.start < b.w.start
	}
	var cands []cand
	// floor is the sends of the worst kept window once Top are kept: most
	// windows are below it and cost one comparison.
	floor := int64(-1)
	add := func(c cand) {
		if opts.Top <= 0 {
			cands = append(cands, c)
			return
		}
		// Keep only the best Top, in order.
		if len(cands) == opts.Top && !better(c, cands[len(cands)-1]) {
			return
		}
		at := sort.Search(len(cands), func(i int) bool { return better(c, cands[i]) })
		if len(cands) < opts.Top {
			cands = append(cands, cand{})
		}
		copy(cands[at+1:], cands[at:])
		cands[at] = c
		if len(cands) == opts.Top {
			floor = cands[len(cands)-1].w.sends
		}
	}
	hs := map[string][]int{}
	first, last, n := int64(1<<62), int64(-1<<62), 0
	for _, k := range keys {
		ws := series[k]
		hs[k] = highestSince(ws)
		for i, w := range ws {
			if w.start < since {
				continue
			}
			if w.sends > opts.Over && w.sends >= floor {
				add(cand{k, i, w})
			}
			n++
			first, last = min(first, w.start), max(last, w.start)
		}
	}
	if rep != nil && n > 0 {
		f, l := time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC()
		rep.Windows, rep.First, rep.Last = n, &f, &l
	}
	if opts.Top <= 0 {
		sort.SliceStable(cands, func(a, b int) bool { return better(cands[a], cands[b]) })
	}
	peaks := map[string]map[int64]int64{}
	winSec := int64(opts.Window / time.Second)
	for _, c := range cands {
		ws := series[c.key]
		w := ws[c.i]
		if peaks[c.key] == nil {
			peaks[c.key] = dailyPeaks(ws)
		}
		sp := Spike{Start: time.Unix(w.start, 0).UTC(), End: time.Unix(w.start+winSec, 0).UTC(), Sends: w.sends}
		if opts.ByIP {
			sp.IP = c.key
		}
		sp.Baseline = baseline(peaks[c.key], w.start, opts.BaselineDays)
		if sp.Baseline > 0 {
			sp.Factor = float64(w.sends) / sp.Baseline
		}
		if j := hs[c.key][c.i]; j >= 0 {
			t := time.Unix(ws[j].start, 0).UTC()
			sp.HighestSince, sp.HighestSinceSends = &t, ws[j].sends
		} else {
			sp.HighestEver = true
		}
		if err := fillPeak(ctx, src, string(opts.Provider), sp.IP, &sp, opts.Window); err != nil {
			return nil, err
		}
		spikes = append(spikes, sp)
	}
	return spikes, nil
}

// fillPeak sets the sliding 60-second peak of a window from event times of
// one IP ("" = every IP, ingest.UnknownIP = the sends without a known IP).
func fillPeak(ctx context.Context, src SendSource, provider, ip string, sp *Spike, win time.Duration) error {
	from, to := sp.Start.UnixMilli(), sp.End.UnixMilli()
	times, err := src.SendTimes(ctx, provider, ip, from-60000, to+60000)
	if err != nil {
		return err
	}
	if len(times) == 0 {
		sp.Peak60s = -1 // only pre-aggregated counts cover it
		return nil
	}
	n, at := slidingPeak(times, from, to)
	if win == time.Minute && sp.Sends > n {
		n, at = sp.Sends, from // counts cover more than the stored events
	}
	sp.Peak60s = n
	t := time.UnixMilli(at).UTC()
	sp.PeakStart = &t
	return nil
}

func chartAround(ms []ingest.MinuteSends, center time.Time, span int, byIP bool) []ChartPoint {
	c := center.Unix() / 60
	byMinute := map[int64]map[string]int64{}
	for _, m := range ms {
		if m.Minute < c-int64(span) || m.Minute > c+int64(span) {
			continue
		}
		key := ""
		if byIP {
			key = m.IP
			if key == "" {
				key = ingest.UnknownIP
			}
		}
		if byMinute[m.Minute] == nil {
			byMinute[m.Minute] = map[string]int64{}
		}
		byMinute[m.Minute][key] += m.Sends
	}
	var out []ChartPoint
	for m := c - int64(span); m <= c+int64(span); m++ {
		p := ChartPoint{Minute: time.Unix(m*60, 0).UTC(), Sends: byMinute[m]}
		if p.Sends == nil {
			p.Sends = map[string]int64{}
		}
		out = append(out, p)
	}
	return out
}

func providerLabel(p Provider) string {
	if p == "" {
		return "all"
	}
	return string(p)
}

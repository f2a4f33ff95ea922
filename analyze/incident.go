package analyze

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/senderscope/senderscope/ingest"
)

// IncidentSource is what the incident report reads beyond an investigation.
type IncidentSource interface {
	Outcomes(ctx context.Context, provider string, from, to time.Time) ([]ingest.MinuteOutcomes, error)
}

// IncidentOptions shape the incident report's timeline, charts and reply groups.
type IncidentOptions struct {
	RetryHorizon time.Duration // how long the sender retries a deferred message (default 72h)
	Before       time.Duration // minutes charted before a burst or the first deferral (default 30m)
	After        time.Duration // and after the first deferral (default 60m)
}

// TimelineKind says what a timeline entry marks.
type TimelineKind string

// The timeline's entries, in the order they usually happen.
const (
	TimelineBurst          TimelineKind = "burst"
	TimelineFirstDeferral  TimelineKind = "first_deferral"
	TimelineFirstBlock     TimelineKind = "first_block"
	TimelinePeakHour       TimelineKind = "peak_hour"
	TimelineRetryHorizon   TimelineKind = "retry_horizon"
	TimelineRecovered      TimelineKind = "recovered"
	TimelineLastDeferral   TimelineKind = "last_deferral"
	TimelineStillDeferring TimelineKind = "still_deferring"
	TimelineDataEnd        TimelineKind = "data_end"
)

// TimelineEvent is one moment of the incident.
type TimelineEvent struct {
	Time time.Time    `json:"time"`
	Kind TimelineKind `json:"kind"`
	IP   string       `json:"ip,omitempty"`
	Text string       `json:"text"`
}

// ChartMarker is a moment drawn on a minute chart.
type ChartMarker struct {
	Time  time.Time    `json:"time"`
	Kind  TimelineKind `json:"kind"`
	Label string       `json:"label"`
}

// IPMinutes is one sending IP's sends and deferrals, one value per minute of
// a MinuteWindow.
type IPMinutes struct {
	IP       string  `json:"ip"`
	Sends    []int64 `json:"sends"`
	Deferred []int64 `json:"deferred"`
}

// MinuteWindow is the per-minute traffic to the provider around a moment
// of the incident: the burst, the first deferrals.
type MinuteWindow struct {
	Title   string        `json:"title"`
	From    time.Time     `json:"from"`
	Minutes int           `json:"minutes"`
	Markers []ChartMarker `json:"markers"`
	Series  []IPMinutes   `json:"series"`
}

// HourTotal is one hour's outcomes at the provider over every IP.
type HourTotal struct {
	Start        time.Time `json:"start"`
	Attempts     int64     `json:"attempts"`
	Deferred     int64     `json:"deferred"`
	DeferralRate float64   `json:"deferral_rate"`
	Band         Band      `json:"band"`
}

// ReplyIP is a reply group's events on one sending IP.
type ReplyIP struct {
	IP       string `json:"ip"`
	Deferred int64  `json:"deferred"`
	Bounced  int64  `json:"bounced"`
}

// ReplyGroup is the deferrals and bounces from one provider with one
// classification and normalized reply, over every sending IP.
type ReplyGroup struct {
	Provider     string    `json:"provider"` // recipient provider
	Reason       Reason    `json:"reason"`
	Temporary    bool      `json:"temporary"`
	Scope        Scope     `json:"scope"`
	SMTPCode     int       `json:"smtp_code,omitempty"`
	EnhancedCode string    `json:"enhanced_code,omitempty"`
	RuleID       string    `json:"rule_id"`
	Key          string    `json:"key"`    // the normalized reply
	Sample       string    `json:"sample"` // one reply of the group, verbatim
	Meaning      string    `json:"meaning"`
	Action       string    `json:"action"`
	Links        []string  `json:"links"`
	Deferred     int64     `json:"deferred"`
	Bounced      int64     `json:"bounced"`
	Recipients   int64     `json:"recipients"` // distinct, summed over IPs
	First        time.Time `json:"first"`
	Last         time.Time `json:"last"`
	IPs          []ReplyIP `json:"ips"`
}

// Incident is what the incident report adds to an investigation.
type Incident struct {
	Timeline     []TimelineEvent `json:"timeline"`
	PeakHour     *HourTotal      `json:"peak_hour,omitempty"` // the hour with the most deferrals
	LastDeferral *time.Time      `json:"last_deferral,omitempty"`
	// RecoveredAt is the start of the hour from which every hour to the end
	// of the data stays in the healthy band; nil when it never does.
	RecoveredAt  *time.Time     `json:"recovered_at,omitempty"`
	RetryHorizon string         `json:"retry_horizon"`
	Windows      []MinuteWindow `json:"minute_windows"`
	// ReplyGroups are the largest groups of classified deferrals and
	// bounces since RepliesSince (see AddReplies).
	ReplyGroups      []ReplyGroup `json:"reply_groups"`
	ReplyGroupsTotal int          `json:"reply_groups_total"`
	RepliesSince     *time.Time   `json:"replies_since,omitempty"`
	ReplyRules       string       `json:"reply_rules,omitempty"` // the classifier's rules version
}

// stillDeferringWithin: a last deferral this close to the end of the data
// means the deferrals had not stopped when the data was taken.
const stillDeferringWithin = time.Hour

// BuildIncident adds the timeline and the minute charts' data to an
// investigation; AddReplies adds the classified replies.
func BuildIncident(ctx context.Context, src IncidentSource, inv *Investigation, opts IncidentOptions) (*Incident, error) {
	if opts.RetryHorizon == 0 {
		opts.RetryHorizon = 72 * time.Hour
	}
	if opts.Before == 0 {
		opts.Before = 30 * time.Minute
	}
	if opts.After == 0 {
		opts.After = time.Hour
	}
	out := &Incident{Timeline: []TimelineEvent{}, Windows: []MinuteWindow{}, ReplyGroups: []ReplyGroup{}, RetryHorizon: FormatLag(opts.RetryHorizon)}
	bursts := incidentBursts(inv)
	var outs []ingest.MinuteOutcomes
	if inv.IncidentStart != nil || len(bursts) > 0 {
		from := time.Time{}
		if inv.IncidentStart != nil {
			from = *inv.IncidentStart
		}
		for _, b := range bursts {
			if from.IsZero() || b.Start.Before(from) {
				from = b.Start
			}
		}
		var err error
		if outs, err = src.Outcomes(ctx, inv.Provider, from.Add(-opts.Before), time.Time{}); err != nil {
			return nil, err
		}
	}
	out.Timeline = timeline(inv, bursts, outs, out, opts)
	out.Windows = minuteWindows(inv, bursts, outs, opts)
	return out, nil
}

// RepliesSince is where the incident report starts counting replies: the
// day before the incident, or the whole data when there is none.
func RepliesSince(inv *Investigation) time.Time {
	if inv.IncidentStart == nil {
		return time.Time{}
	}
	return inv.IncidentStart.Add(-24 * time.Hour)
}

// AddReplies keeps the top largest groups of a deferral report, each folded
// over the sending IPs (the report counts IPs per group, not a row each).
func (inc *Incident) AddReplies(rep *DeferralReport, top int) {
	inc.RepliesSince, inc.ReplyRules = rep.Since, rep.Rules
	inc.ReplyGroups, inc.ReplyGroupsTotal = foldReplies(rep.Groups, top)
}

// incidentBursts are the bursts that came before the first deferrals (one
// per minute, however many IPs name it), or the busiest minute when nothing
// was deferred.
func incidentBursts(inv *Investigation) []Spike {
	var out []Spike
	seen := map[int64]bool{}
	for _, o := range inv.Onsets {
		if o.Provider != inv.Provider || o.Burst == nil || seen[o.Burst.Start.Unix()] {
			continue
		}
		seen[o.Burst.Start.Unix()] = true
		out = append(out, *o.Burst)
	}
	if len(out) == 0 && inv.IncidentStart == nil && inv.Spikes != nil {
		top := inv.Spikes.TotalSpikes
		if len(top) == 0 {
			top = inv.Spikes.Spikes
		}
		if len(top) > 0 {
			out = append(out, top[0])
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

func timeline(inv *Investigation, bursts []Spike, outs []ingest.MinuteOutcomes, inc *Incident, opts IncidentOptions) []TimelineEvent {
	prov := ProviderName(inv.Provider)
	var ev []TimelineEvent
	what := "Burst"
	if inv.IncidentStart == nil {
		what = "Busiest minute"
	}
	for _, b := range bursts {
		text := fmt.Sprintf("%s: %d sends to %s in one minute", what, b.Sends, prov)
		if b.Peak60s > b.Sends {
			text += fmt.Sprintf(" (%d in the busiest 60 s)", b.Peak60s)
		}
		if b.HighestSince != nil {
			text += fmt.Sprintf(", the highest since %s (%d)", b.HighestSince.UTC().Format("2006-01-02 15:04"), b.HighestSinceSends)
		} else {
			text += ", the highest in the data"
		}
		ev = append(ev, TimelineEvent{Time: b.Start, Kind: TimelineBurst, Text: text + "."})
	}
	for _, o := range inv.Onsets {
		if o.Provider != inv.Provider {
			continue
		}
		if f := o.FirstDeferral; f != nil {
			text := fmt.Sprintf("First %sdeferral from %s on %s", codePrefix(f), prov, ipOr(o.IP))
			if o.Burst != nil {
				text += fmt.Sprintf(", %s after the burst", o.Lag)
			}
			text += fmt.Sprintf("; %s deferrals on this IP in the data.", countText(f.Count))
			ev = append(ev, TimelineEvent{Time: f.Time, Kind: TimelineFirstDeferral, IP: o.IP, Text: text})
		}
		if f := o.FirstFailure; f != nil {
			ev = append(ev, TimelineEvent{Time: f.Time, Kind: TimelineFirstBlock, IP: o.IP,
				Text: fmt.Sprintf("First permanent %sblock from %s on %s; %s such bounces on this IP in the data.", codePrefix(f), prov, ipOr(o.IP), countText(f.Count))})
		}
	}
	if inv.IncidentStart == nil {
		return sortTimeline(ev)
	}
	hours, lastDef, end := hourTotals(outs, *inv.IncidentStart)
	for i := range hours {
		if h := &hours[i]; h.Deferred > 0 && (inc.PeakHour == nil || h.Deferred > inc.PeakHour.Deferred) {
			inc.PeakHour = h
		}
	}
	if p := inc.PeakHour; p != nil {
		ev = append(ev, TimelineEvent{Time: p.Start, Kind: TimelinePeakHour,
			Text: fmt.Sprintf("Busiest hour of deferrals: %s of %s attempts deferred (%.1f%%, %s band) over every IP.", countText(p.Deferred), countText(p.Attempts), p.DeferralRate*100, p.Band)})
	}
	horizon := inv.IncidentStart.Add(opts.RetryHorizon)
	htext := fmt.Sprintf("Messages deferred at the start reach the %s retry horizon: from here, what is still undelivered expires.", FormatLag(opts.RetryHorizon))
	if inv.Rates != nil {
		for _, d := range inv.Rates.Delays {
			if d.Provider == inv.Provider {
				htext += fmt.Sprintf(" Of %s messages deferred at least once, %s were delivered later (p95 delay %s), %s never within the horizon, %s still retrying at the end of the data.",
					countText(d.Deferred), countText(d.Delivered), FormatLag(time.Duration(d.P95Seconds)*time.Second), countText(d.PastHorizon), countText(d.StillRetrying))
			}
		}
	}
	if !end.IsZero() && horizon.After(end) {
		htext += " (After the end of the data.)"
	}
	ev = append(ev, TimelineEvent{Time: horizon, Kind: TimelineRetryHorizon, Text: htext})
	if !lastDef.IsZero() {
		inc.LastDeferral = &lastDef
		if end.Sub(lastDef) < stillDeferringWithin && len(hours) > 0 {
			last := hours[len(hours)-1]
			ev = append(ev, TimelineEvent{Time: end, Kind: TimelineStillDeferring,
				Text: fmt.Sprintf("Still deferring when the data ends: %.1f%% of attempts deferred in the last hour (%s band).", last.DeferralRate*100, last.Band)})
		} else {
			ev = append(ev, TimelineEvent{Time: lastDef, Kind: TimelineLastDeferral, Text: fmt.Sprintf("Last deferral from %s in the data.", prov)})
		}
	}
	if r := recovery(hours); r != nil {
		inc.RecoveredAt = r
		ev = append(ev, TimelineEvent{Time: *r, Kind: TimelineRecovered, Text: "Deferral rate back in the healthy band (under 2 %) in every hour from here to the end of the data."})
	}
	if !end.IsZero() {
		ev = append(ev, TimelineEvent{Time: end, Kind: TimelineDataEnd, Text: "End of the data."})
	}
	return sortTimeline(ev)
}

func sortTimeline(ev []TimelineEvent) []TimelineEvent {
	rank := map[TimelineKind]int{}
	for i, k := range []TimelineKind{TimelineBurst, TimelineFirstDeferral, TimelineFirstBlock, TimelinePeakHour, TimelineRetryHorizon,
		TimelineRecovered, TimelineLastDeferral, TimelineStillDeferring, TimelineDataEnd} {
		rank[k] = i
	}
	// By minute, as the timeline is read, then in the order things happen:
	// the peak hour starting at 21:00 follows a first deferral at 21:00:05.
	sort.SliceStable(ev, func(i, j int) bool {
		a, b := ev[i].Time.Truncate(time.Minute), ev[j].Time.Truncate(time.Minute)
		if !a.Equal(b) {
			return a.Before(b)
		}
		if rank[ev[i].Kind] != rank[ev[j].Kind] {
			return rank[ev[i].Kind] < rank[ev[j].Kind]
		}
		return ev[i].Time.Before(ev[j].Time)
	})
	if ev == nil {
		ev = []TimelineEvent{}
	}
	return ev
}

// hourTotals sums outcomes per hour over every IP from the hour of start,
// and returns the last minute with a deferral and the end of the data.
func hourTotals(outs []ingest.MinuteOutcomes, start time.Time) ([]HourTotal, time.Time, time.Time) {
	from := start.Unix() / 3600 * 3600
	by := map[int64]*HourTotal{}
	var lastDef, end int64
	for _, o := range outs {
		s := o.Minute * 60
		end = max(end, s+60)
		if o.Deferred > 0 {
			lastDef = max(lastDef, s)
		}
		if s < from {
			continue
		}
		h := s / 3600 * 3600
		t := by[h]
		if t == nil {
			t = &HourTotal{Start: time.Unix(h, 0).UTC()}
			by[h] = t
		}
		t.Attempts += o.Attempts
		t.Deferred += o.Deferred
	}
	hours := make([]HourTotal, 0, len(by))
	for _, t := range by {
		if t.Attempts > 0 {
			t.DeferralRate = float64(t.Deferred) / float64(t.Attempts)
		}
		t.Band = BandFor(t.DeferralRate)
		hours = append(hours, *t)
	}
	sort.Slice(hours, func(i, j int) bool { return hours[i].Start.Before(hours[j].Start) })
	var lt, et time.Time
	if lastDef > 0 {
		lt = time.Unix(lastDef, 0).UTC()
	}
	if end > 0 {
		et = time.Unix(end, 0).UTC()
	}
	return hours, lt, et
}

// recovery is the start of the hour after the last hour outside the healthy
// band, when some hour with attempts follows it.
func recovery(hours []HourTotal) *time.Time {
	last := -1
	for i, h := range hours {
		if h.Band != BandHealthy {
			last = i
		}
	}
	if last < 0 || last == len(hours)-1 {
		return nil
	}
	t := hours[last].Start.Add(time.Hour)
	return &t
}

// maxWindow keeps a merged minute chart readable.
const maxWindow = 6 * time.Hour

// minuteWindows cuts the per-minute charts: around the burst, and from
// before the first deferral to after the last IP's first deferral; one
// chart when they are close.
func minuteWindows(inv *Investigation, bursts []Spike, outs []ingest.MinuteOutcomes, opts IncidentOptions) []MinuteWindow {
	type span struct {
		title    string
		from, to time.Time
		markers  []ChartMarker
	}
	var spans []span
	if len(bursts) > 0 {
		b := bursts[0]
		s := span{title: "Around the burst", from: b.Start.Add(-opts.Before), to: b.Start.Add(opts.Before)}
		if inv.IncidentStart == nil {
			s.title = "Around the busiest minute"
		}
		for _, x := range bursts {
			s.to = maxTime(s.to, x.Start.Add(opts.Before))
			s.markers = append(s.markers, ChartMarker{Time: x.Start, Kind: TimelineBurst, Label: fmt.Sprintf("burst %d/min", x.Sends)})
		}
		spans = append(spans, s)
	}
	var first, lastFirst time.Time
	var fm []ChartMarker
	for _, o := range inv.Onsets {
		if o.Provider != inv.Provider || o.FirstDeferral == nil {
			continue
		}
		t := o.FirstDeferral.Time
		if first.IsZero() || t.Before(first) {
			first = t
		}
		lastFirst = maxTime(lastFirst, t)
		fm = append(fm, ChartMarker{Time: t, Kind: TimelineFirstDeferral, Label: "first deferral " + ipOr(o.IP)})
	}
	if !first.IsZero() {
		s := span{title: "Around the first deferrals", from: first.Add(-opts.Before), to: lastFirst.Add(opts.After), markers: fm}
		if n := len(spans); n > 0 && !s.from.After(spans[n-1].to.Add(15*time.Minute)) && s.to.Sub(spans[n-1].from) <= maxWindow {
			spans[n-1].title = "From the burst to the first deferrals"
			spans[n-1].to = maxTime(spans[n-1].to, s.to)
			spans[n-1].markers = append(spans[n-1].markers, s.markers...)
		} else {
			spans = append(spans, s)
		}
	}
	var ws []MinuteWindow
	for _, s := range spans {
		from := s.from.Truncate(time.Minute)
		n := int(s.to.Sub(from) / time.Minute)
		w := MinuteWindow{Title: s.title, From: from, Minutes: n, Markers: s.markers, Series: []IPMinutes{}}
		sort.SliceStable(w.Markers, func(i, j int) bool { return w.Markers[i].Time.Before(w.Markers[j].Time) })
		byIP := map[string]*IPMinutes{}
		a := from.Unix() / 60
		for _, o := range outs {
			i := int(o.Minute - a)
			if i < 0 || i >= n || (o.Sends == 0 && o.Deferred == 0) {
				continue
			}
			ip := ipOr(o.IP)
			m := byIP[ip]
			if m == nil {
				m = &IPMinutes{IP: ip, Sends: make([]int64, n), Deferred: make([]int64, n)}
				byIP[ip] = m
			}
			m.Sends[i] += o.Sends
			m.Deferred[i] += o.Deferred
		}
		for _, m := range byIP {
			w.Series = append(w.Series, *m)
		}
		sort.Slice(w.Series, func(i, j int) bool { return IPLess(w.Series[i].IP, w.Series[j].IP) })
		ws = append(ws, w)
	}
	if ws == nil {
		ws = []MinuteWindow{}
	}
	return ws
}

// foldReplies folds per-IP groups into one per provider, classification
// and normalized reply, largest first, and keeps top.
func foldReplies(rows []DeferralGroup, top int) ([]ReplyGroup, int) {
	type key struct {
		provider, key, enhanced, rule string
		reason                        Reason
		code                          int
	}
	by := map[key]*ReplyGroup{}
	var order []key
	for _, r := range rows {
		k := key{r.Provider, r.Key, r.EnhancedCode, r.RuleID, r.Reason, r.Code}
		g := by[k]
		if g == nil {
			links := append([]string{}, r.Links...)
			g = &ReplyGroup{Provider: r.Provider, Reason: r.Reason, Temporary: r.Temporary, Scope: r.Scope, SMTPCode: r.Code,
				EnhancedCode: r.EnhancedCode, RuleID: r.RuleID, Key: r.Key, Sample: r.Sample, Meaning: r.Meaning, Action: r.Action,
				Links: links, First: r.First, Last: r.Last}
			by[k] = g
			order = append(order, k)
		}
		g.Deferred += r.Deferred
		g.Bounced += r.Bounced
		g.Recipients += r.Recipients
		g.First, g.Last = minTime(g.First, r.First), maxTime(g.Last, r.Last)
		ip := ipOr(r.IP)
		if i := slices.IndexFunc(g.IPs, func(x ReplyIP) bool { return x.IP == ip }); i >= 0 {
			g.IPs[i].Deferred += r.Deferred
			g.IPs[i].Bounced += r.Bounced
		} else {
			g.IPs = append(g.IPs, ReplyIP{IP: ip, Deferred: r.Deferred, Bounced: r.Bounced})
		}
	}
	out := make([]ReplyGroup, 0, len(order))
	for _, k := range order {
		g := by[k]
		sort.Slice(g.IPs, func(i, j int) bool { return IPLess(g.IPs[i].IP, g.IPs[j].IP) })
		out = append(out, *g)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Deferred+a.Bounced != b.Deferred+b.Bounced {
			return a.Deferred+a.Bounced > b.Deferred+b.Bounced
		}
		return a.Provider+"\x00"+a.Key < b.Provider+"\x00"+b.Key
	})
	total := len(out)
	if len(out) > top {
		out = out[:top]
	}
	return out, total
}

func codePrefix(p *ProblemEvent) string {
	switch {
	case p.EnhancedCode != "":
		return p.EnhancedCode + " "
	case p.SMTPCode != 0:
		return fmt.Sprint(p.SMTPCode, " ")
	}
	return ""
}

func ipOr(ip string) string {
	if ip == "" {
		return "unknown"
	}
	return ip
}

// IPLess orders IPs as people read them: 203.0.113.7 before 203.0.113.10.
func IPLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	if len(pa) == 4 && len(pb) == 4 {
		for i := range pa {
			if len(pa[i]) != len(pb[i]) {
				return len(pa[i]) < len(pb[i])
			}
			if pa[i] != pb[i] {
				return pa[i] < pb[i]
			}
		}
		return false
	}
	return a < b
}

func countText(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

package report

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/senderscope/senderscope/analyze"
	"github.com/senderscope/senderscope/checks"
)

// IncidentView is the incident report: an investigation with its timeline,
// charts' data and grouped replies, as "senderscope report" writes it.
type IncidentView struct {
	InvestigationView
	Title       string            `json:"title"`
	Database    string            `json:"database"`
	GeneratedAt time.Time         `json:"generated_at"`
	Redacted    bool              `json:"redacted"` // recipient addresses replaced by [redacted]@domain
	Incident    *analyze.Incident `json:"incident"`
}

// The report's sections, numbered once so the text can refer to them.
const (
	secWhat = iota + 1
	secProviders
	secIPs
	secSpikes
	secRates
	secReplies
	secDNS
	secLimit
	secNext
)

// LimitSection is the number of the report's section on the recommended limit.
const LimitSection = secLimit

func secTitle(n int, s string) string { return fmt.Sprintf("%d. %s", n, s) }

// IncidentDoc renders the incident report for Markdown and JSON.
func IncidentDoc(v *IncidentView) Doc {
	d := Doc{Value: v}
	d.Lead = append(d.Lead, "## "+v.Title)
	d.Lead = append(d.Lead, reportByline(v))
	d.Lead = append(d.Lead, summaryLines(v)...)
	d.Sections = append(d.Sections, timelineSection(v), providersSection(v), ipsSection(v), spikesSection(v),
		ratesSection(v), replyGroupsSection(v), dnsSection(v), limitSection(v), nextSection(v))
	return d
}

func reportByline(v *IncidentView) string {
	s := fmt.Sprintf("Generated %s UTC from %s (%s events", v.GeneratedAt.UTC().Format("2006-01-02 15:04"), v.Database, Int(v.Events))
	if v.First != nil && v.Last != nil {
		s += fmt.Sprintf(", %s to %s UTC", v.First.Format("2006-01-02"), v.Last.Format("2006-01-02"))
	}
	s += "); sources: " + v.Source + "."
	if v.Redacted {
		s += " Recipient addresses are redacted ([redacted]@domain)."
	}
	return s
}

// summaryLines are the few sentences a reader needs before the detail.
func summaryLines(v *IncidentView) []string {
	inv := v.Investigation
	prov := analyze.ProviderName(inv.Provider)
	if inv.IncidentStart == nil {
		return []string{fmt.Sprintf("No deferrals or blocks from %s in the data.", prov)}
	}
	var out []string
	s := fmt.Sprintf("%s started deferring at %s UTC", prov, inv.IncidentStart.Format("2006-01-02 15:04"))
	for _, p := range inv.Impact {
		if p.Provider == inv.Provider {
			s += fmt.Sprintf("; since then %s of %s attempts were deferred (%s, %s band)", Int(p.Deferred), Int(p.Attempts), pct(p.DeferralRate), p.Band)
		}
	}
	out = append(out, s+".")
	if only := onlyAffected(inv); only != "" {
		out = append(out, only)
	}
	if rec := recommended(inv); rec != nil {
		out = append(out, fmt.Sprintf("Recommended limit: %s per IP (p95 added delay %s on the traffic before the incident; see %d).", rec.Limit, dur(rec.P95Seconds), secLimit))
	}
	return out
}

func recommended(inv *analyze.Investigation) *analyze.SimResult {
	if inv.Simulation == nil {
		return nil
	}
	return inv.Simulation.Recommended
}

var timelineLabels = map[analyze.TimelineKind]string{
	analyze.TimelineBurst:          "burst",
	analyze.TimelineFirstDeferral:  "first deferral",
	analyze.TimelineFirstBlock:     "first block",
	analyze.TimelinePeakHour:       "peak deferral hour",
	analyze.TimelineRetryHorizon:   "retry horizon",
	analyze.TimelineRecovered:      "recovered",
	analyze.TimelineLastDeferral:   "last deferral",
	analyze.TimelineStillDeferring: "still deferring",
	analyze.TimelineDataEnd:        "end of data",
}

func timelineLabel(k analyze.TimelineKind) string {
	if l, ok := timelineLabels[k]; ok {
		return l
	}
	return string(k)
}

func timelineSection(v *IncidentView) Section {
	s := Section{Title: secTitle(secWhat, "What happened"), Header: []string{"time (UTC)", "event", "ip", "detail"}}
	for _, e := range v.Incident.Timeline {
		s.Rows = append(s.Rows, []string{e.Time.UTC().Format("2006-01-02 15:04"), timelineLabel(e.Kind), e.IP, e.Text})
	}
	if len(s.Rows) == 0 {
		s.Header = nil
		s.Notes = append(s.Notes, "Nothing to put on a timeline: no bursts and no deferrals.")
	}
	return s
}

func providersSection(v *IncidentView) Section {
	inv := v.Investigation
	s := Section{Title: secTitle(secProviders, "Which providers"), Header: []string{"provider", "attempts", "deferred", "bounced", "deferral rate", "band", "7 days before"}, Right: []int{1, 2, 3, 4}}
	if inv.IncidentStart != nil {
		s.Intro = append(s.Intro, fmt.Sprintf("Outcomes per provider since %s UTC, and the deferral rate in the 7 days before.", inv.IncidentStart.Format("2006-01-02 15:04")))
	} else {
		s.Intro = append(s.Intro, "Outcomes per provider over the whole data.")
	}
	for _, p := range inv.Impact {
		before := "-"
		if p.BeforeAttempts > 0 {
			before = pct(p.BeforeRate)
		}
		s.Rows = append(s.Rows, []string{p.Provider, Int(p.Attempts), Int(p.Deferred), Int(p.Bounced), pct(p.DeferralRate), string(p.Band), before})
	}
	if only := onlyAffected(inv); only != "" {
		s.Notes = append(s.Notes, only)
	}
	return s
}

func ipsSection(v *IncidentView) Section {
	inv := v.Investigation
	prov := analyze.ProviderName(inv.Provider)
	s := Section{Title: secTitle(secIPs, "Which IPs"), Header: []string{"ip", "sends", "attempts", "deferred", "deferral rate", "band", "first deferral (UTC)"}, Right: []int{1, 2, 3, 4}}
	if inv.IncidentStart != nil {
		s.Intro = append(s.Intro, fmt.Sprintf("Traffic to %s per sending IP from a day before the incident to the end of the data.", prov))
	} else {
		s.Intro = append(s.Intro, fmt.Sprintf("Traffic to %s per sending IP.", prov))
	}
	first := map[string]string{}
	for _, o := range inv.Onsets {
		if o.Provider == inv.Provider && o.FirstDeferral != nil {
			first[o.IP] = o.FirstDeferral.Time.Format("2006-01-02 15:04:05")
		}
	}
	if inv.Rates != nil {
		tot := append([]analyze.RateRow(nil), inv.Rates.Totals...)
		sort.SliceStable(tot, func(i, j int) bool { return analyze.IPLess(tot[i].IP, tot[j].IP) })
		for _, t := range tot {
			f := first[t.IP]
			if f == "" {
				f = "-"
			}
			s.Rows = append(s.Rows, []string{t.IP, Int(t.Sends), Int(t.Attempts), Int(t.Deferred), pct(t.DeferralRate), string(t.Band), f})
		}
	}
	if len(s.Rows) == 0 {
		s.Header = nil
		s.Notes = append(s.Notes, fmt.Sprintf("No traffic to %s in this range.", prov))
	}
	return s
}

func spikesSection(v *IncidentView) Section {
	inv := v.Investigation
	prov := analyze.ProviderName(inv.Provider)
	s := Section{Title: secTitle(secSpikes, fmt.Sprintf("The spikes: busiest minutes to %s", prov)), Header: []string{"minute (UTC)", "sends", "peak in 60 s", "vs baseline", "highest since"}, Right: []int{1, 2}}
	if inv.Spikes == nil {
		return s
	}
	spikes := inv.Spikes.TotalSpikes
	if len(spikes) == 0 {
		spikes = inv.Spikes.Spikes
	}
	for _, x := range spikes {
		s.Rows = append(s.Rows, []string{x.Start.Format("2006-01-02 15:04"), Int(x.Sends), peakText(x), factorText(x), sinceText(x)})
	}
	s.Intro = append(s.Intro, "Every sending IP together; \"highest since\" is the last earlier minute with at least as many sends.")
	for _, o := range inv.Onsets {
		if o.Provider == inv.Provider {
			s.Notes = append(s.Notes, "- "+o.Sentence)
		}
	}
	return s
}

// dayRate is one day's outcomes on one IP, rolled up from the hourly rates.
type dayRate struct {
	day, ip            string
	attempts, deferred int64
	hours, unhealthy   int // hours with attempts, and of those outside the healthy band
}

func ratesSection(v *IncidentView) Section {
	inv := v.Investigation
	s := Section{Title: secTitle(secRates, "Deferral rates, by day and IP"), Header: []string{"day (UTC)", "ip", "attempts", "deferred", "deferral rate", "band", "hours outside healthy"}, Right: []int{2, 3, 4, 6}}
	s.Intro = append(s.Intro, "Bands: healthy under 2 %, watch 2-5 %, throttle 5-15 %, pause volume growth at 15 % and over.")
	if inv.Rates == nil {
		return s
	}
	for _, r := range dailyRates(inv.Rates.Rows) {
		rate := 0.0
		if r.attempts > 0 {
			rate = float64(r.deferred) / float64(r.attempts)
		}
		s.Rows = append(s.Rows, []string{r.day, r.ip, Int(r.attempts), Int(r.deferred), pct(rate), string(analyze.BandFor(rate)), fmt.Sprintf("%d of %d", r.unhealthy, r.hours)})
	}
	for _, d := range inv.Rates.Delays {
		s.Notes = append(s.Notes, fmt.Sprintf("%s messages to %s were deferred at least once: %s delivered later (delay p50 %s, p95 %s, max %s), %s never delivered within the %s retry horizon, %s still retrying at the end of the data.",
			Int(d.Deferred), d.Provider, Int(d.Delivered), dur(d.P50Seconds), dur(d.P95Seconds), dur(d.MaxSeconds), Int(d.PastHorizon), inv.Rates.RetryHorizon, Int(d.StillRetrying)))
	}
	return s
}

func dailyRates(rows []analyze.RateRow) []dayRate {
	by := map[string]*dayRate{}
	var keys []string
	for _, r := range rows {
		day := r.Start.UTC().Format("2006-01-02")
		k := day + "\x00" + r.IP
		d := by[k]
		if d == nil {
			d = &dayRate{day: day, ip: r.IP}
			by[k] = d
			keys = append(keys, k)
		}
		d.attempts += r.Attempts
		d.deferred += r.Deferred
		d.hours++
		if r.Band != analyze.BandHealthy {
			d.unhealthy++
		}
	}
	out := make([]dayRate, 0, len(keys))
	for _, k := range keys {
		out = append(out, *by[k])
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].day != out[j].day {
			return out[i].day < out[j].day
		}
		return analyze.IPLess(out[i].ip, out[j].ip)
	})
	return out
}

// replyClass is the classification: the reason and whether it passes.
func replyClass(g analyze.ReplyGroup) string {
	if g.Reason == "" {
		return "not classified"
	}
	if g.Temporary {
		return string(g.Reason) + " (temporary)"
	}
	return string(g.Reason) + " (permanent)"
}

func replyCode(g analyze.ReplyGroup) string {
	switch {
	case g.EnhancedCode != "" && g.SMTPCode != 0:
		return fmt.Sprintf("%d %s", g.SMTPCode, g.EnhancedCode)
	case g.EnhancedCode != "":
		return g.EnhancedCode
	case g.SMTPCode != 0:
		return fmt.Sprint(g.SMTPCode)
	}
	return "-"
}

func replyIPs(g analyze.ReplyGroup) string {
	var parts []string
	for _, ip := range g.IPs {
		parts = append(parts, fmt.Sprintf("%s: %s", ip.IP, Int(ip.Deferred+ip.Bounced)))
	}
	return strings.Join(parts, "; ")
}

func replyGroupsSection(v *IncidentView) Section {
	inc := v.Incident
	s := Section{Title: secTitle(secReplies, "Classified deferrals and bounces"), Header: []string{"provider", "code", "reason", "deferred", "bounced", "per IP", "reply (sample)", "what to do"}, Right: []int{3, 4}, Lists: []int{5}}
	since := ""
	if inc.RepliesSince != nil {
		since = fmt.Sprintf(" since %s UTC", inc.RepliesSince.Format("2006-01-02 15:04"))
	}
	s.Intro = append(s.Intro, fmt.Sprintf("Deferrals and bounces%s, grouped by classification and normalized reply (ids, IP addresses, recipient addresses and times folded); classified with %s, as senderscope classify does.", since, inc.ReplyRules))
	for _, g := range inc.ReplyGroups {
		s.Rows = append(s.Rows, []string{g.Provider, replyCode(g), replyClass(g), Int(g.Deferred), Int(g.Bounced), replyIPs(g), clip(oneLine(g.Sample), 200), g.Action})
	}
	if len(s.Rows) == 0 {
		s.Header = nil
		s.Notes = append(s.Notes, "No deferrals or bounces with a reply text in this range.")
	} else if inc.ReplyGroupsTotal > len(inc.ReplyGroups) {
		s.Notes = append(s.Notes, fmt.Sprintf("The largest %d of %d groups.", len(inc.ReplyGroups), inc.ReplyGroupsTotal))
	}
	return s
}

func dnsSection(v *IncidentView) Section {
	s := Section{Title: secTitle(secDNS, "DNS and authentication")}
	if v.Checks == nil {
		s.Notes = append(s.Notes, v.ChecksSkipped)
		return s
	}
	s.Header = []string{"severity", "finding", "subject", "explanation"}
	for _, f := range v.Checks.Findings {
		if f.Severity == checks.SeverityOK || f.Severity == checks.SeverityInfo {
			continue
		}
		s.Rows = append(s.Rows, []string{string(f.Severity), f.ID, f.Subject, f.Message})
	}
	if len(s.Rows) == 0 {
		s.Header = nil
	}
	s.Notes = append(s.Notes, fmt.Sprintf("%s: %d ok, %d info, %d warn, %d fail (senderscope check --domain %s shows the DNS evidence).", v.Checks.Domain,
		v.Checks.Counts["ok"], v.Checks.Counts["info"], v.Checks.Counts["warn"], v.Checks.Counts["fail"], v.Checks.Domain))
	return s
}

func limitSection(v *IncidentView) Section {
	s := Section{Title: secTitle(secLimit, "Recommended limit (replayed on the traffic before the incident)")}
	s.Notes = limitNotes(v.Investigation.Simulation)
	if len(s.Notes) == 0 {
		s.Notes = append(s.Notes, "No sends to replay.")
	}
	return s
}

// limitNotes describe the limiter replay in sentences.
func limitNotes(sim *analyze.SimReport) []string {
	if sim == nil || len(sim.Results) == 0 {
		return nil
	}
	var out []string
	if rec := sim.Recommended; rec != nil {
		out = append(out, fmt.Sprintf("Lowest limit whose p95 added delay stays within %s: %s per IP (p95 %s, max %s).", dur(sim.MaxDelaySeconds), rec.Limit, dur(rec.P95Seconds), dur(rec.MaxSeconds)))
	}
	r := sim.Results[0]
	out = append(out, fmt.Sprintf("For comparison, %s per IP (%s): %s of %s sends wait; added delay p50 %s, p95 %s, p99 %s, max %s; worst backlog %s; the worst batch takes %s to drain.",
		r.Limit, r.Algorithm, Int(r.Delayed), Int(r.Sends), dur(r.P50Seconds), dur(r.P95Seconds), dur(r.P99Seconds), dur(r.MaxSeconds), Int(r.WorstBacklog), dur(r.WorstDrainSeconds)))
	for _, c := range sim.Results[1:] {
		out = append(out, fmt.Sprintf("  %s mail at %s: p95 %s, max %s.", c.Class, c.Limit, dur(c.P95Seconds), dur(c.MaxSeconds)))
	}
	return out
}

func nextSection(v *IncidentView) Section {
	s := Section{Title: secTitle(secNext, "Next steps")}
	for _, n := range v.Next {
		s.Notes = append(s.Notes, "- "+n)
	}
	return s
}

// IncidentTitle names the report after what it is about.
func IncidentTitle(inv *analyze.Investigation) string {
	prov := analyze.ProviderName(inv.Provider)
	if inv.IncidentStart == nil {
		return fmt.Sprintf("Delivery report: no deferrals from %s", prov)
	}
	return fmt.Sprintf("Incident report: %s deferrals from %s", prov, inv.IncidentStart.Format("2006-01-02 15:04 UTC"))
}

// oneLine joins a multi-line reply ("550-5.1.1 ...\n550-5.1.1 ...") into one
// line for a table cell.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

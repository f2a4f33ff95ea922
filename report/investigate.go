package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/senderscope/senderscope/analyze"
	"github.com/senderscope/senderscope/checks"
)

// InvestigationView is an investigation with its context, as investigate prints it.
type InvestigationView struct {
	Source        string                  `json:"source"`
	Events        int64                   `json:"events"`
	First         *time.Time              `json:"first,omitempty"`
	Last          *time.Time              `json:"last,omitempty"`
	Investigation *analyze.Investigation  `json:"investigation"`
	Deferrals     *analyze.DeferralReport `json:"deferrals,omitempty"`
	Ticket        *analyze.Ticket         `json:"ticket,omitempty"`
	Checks        *checks.Report          `json:"checks,omitempty"`
	ChecksSkipped string                  `json:"checks_skipped,omitempty"`
	Next          []string                `json:"next"`
}

// InvestigationDoc tells the incident's story in the order a person reads it.
func InvestigationDoc(v *InvestigationView, terminal bool) Doc {
	inv := v.Investigation
	d := Doc{Value: v}
	prov := analyze.ProviderName(inv.Provider)
	span := ""
	if v.First != nil && v.Last != nil {
		span = fmt.Sprintf(", %s to %s UTC", v.First.Format("2006-01-02"), v.Last.Format("2006-01-02"))
	}
	d.Lead = append(d.Lead, fmt.Sprintf("senderscope investigation of %s: %s events%s", v.Source, Int(v.Events), span))

	what := Section{Title: "1. What happened"}
	if inv.IncidentStart == nil {
		what.Notes = append(what.Notes, fmt.Sprintf("No deferrals or blocks from %s in the data.", prov))
	} else {
		what.Intro = append(what.Intro, fmt.Sprintf("%s started deferring at %s UTC. Since then, per provider:", prov, inv.IncidentStart.Format("2006-01-02 15:04")))
		what.Header = []string{"provider", "attempts", "deferred", "deferral rate", "band", "7 days before"}
		what.Right = []int{1, 2, 3}
		for _, p := range inv.Impact {
			before := "-"
			if p.BeforeAttempts > 0 {
				before = pct(p.BeforeRate)
			}
			what.Rows = append(what.Rows, []string{p.Provider, Int(p.Attempts), Int(p.Deferred), pct(p.DeferralRate), string(p.Band), before})
		}
		if only := onlyAffected(inv); only != "" {
			what.Notes = append(what.Notes, only)
		}
	}
	d.Sections = append(d.Sections, what)

	onset := Section{Title: "2. When it started, and what came before"}
	for _, o := range inv.Onsets {
		onset.Notes = append(onset.Notes, "- "+o.Sentence)
		if o.FirstDeferral != nil && o.FirstDeferral.Reply != "" {
			onset.Notes = append(onset.Notes, "  reply: "+clip(o.FirstDeferral.Reply, 220))
		}
	}
	if len(onset.Notes) == 0 {
		onset.Notes = append(onset.Notes, "No deferrals to link to a burst.")
	}
	d.Sections = append(d.Sections, onset)

	sp := Section{Title: fmt.Sprintf("3. The busiest minutes to %s (every IP together)", prov), Header: []string{"minute (UTC)", "sends", "peak in 60 s", "vs baseline", "highest since"}, Right: []int{1, 2}}
	spikes := inv.Spikes.TotalSpikes
	if len(spikes) == 0 {
		spikes = inv.Spikes.Spikes
	}
	for _, s := range spikes {
		sp.Rows = append(sp.Rows, []string{s.Start.Format("2006-01-02 15:04"), Int(s.Sends), peakText(s), factorText(s), sinceText(s)})
	}
	sp.Notes = append(sp.Notes, "`senderscope spikes` has the per-IP view and a chart; a per-minute GROUP BY misses bursts that straddle a minute (peak in 60 s).")
	d.Sections = append(d.Sections, sp)

	d.Sections = append(d.Sections, repliesSection(v))

	auth := Section{Title: "5. Authentication and identity"}
	switch {
	case v.Checks != nil:
		auth.Header = []string{"severity", "finding", "subject", "explanation"}
		for _, f := range v.Checks.Findings {
			if f.Severity == checks.SeverityOK || f.Severity == checks.SeverityInfo {
				continue
			}
			auth.Rows = append(auth.Rows, []string{string(f.Severity), f.ID, f.Subject, f.Message})
		}
		auth.Notes = append(auth.Notes, fmt.Sprintf("%s: %d ok, %d info, %d warn, %d fail (senderscope check for the evidence).", v.Checks.Domain,
			v.Checks.Counts["ok"], v.Checks.Counts["info"], v.Checks.Counts["warn"], v.Checks.Counts["fail"]))
	default:
		auth.Notes = append(auth.Notes, v.ChecksSkipped)
	}
	d.Sections = append(d.Sections, auth)

	lim := Section{Title: "6. What a limit would cost (replayed on the traffic before the incident)"}
	if sim := inv.Simulation; sim != nil && len(sim.Results) > 0 {
		r := sim.Results[0]
		lim.Notes = append(lim.Notes, fmt.Sprintf("%s per IP (%s): %s of %s sends wait; added delay p50 %s, p95 %s, p99 %s, max %s; worst backlog %s; the worst batch takes %s to drain.",
			r.Limit, r.Algorithm, Int(r.Delayed), Int(r.Sends), dur(r.P50Seconds), dur(r.P95Seconds), dur(r.P99Seconds), dur(r.MaxSeconds), Int(r.WorstBacklog), dur(r.WorstDrainSeconds)))
		for _, c := range sim.Results[1:] {
			lim.Notes = append(lim.Notes, fmt.Sprintf("  %s mail: p95 %s, max %s.", c.Class, dur(c.P95Seconds), dur(c.MaxSeconds)))
		}
		if rec := sim.Recommended; rec != nil {
			lim.Notes = append(lim.Notes, fmt.Sprintf("Lowest limit whose p95 added delay stays within %s: %s per IP (p95 %s, max %s).", dur(sim.MaxDelaySeconds), rec.Limit, dur(rec.P95Seconds), dur(rec.MaxSeconds)))
		}
	}
	d.Sections = append(d.Sections, lim)

	if t := v.Ticket; t != nil {
		d.Sections = append(d.Sections, ticketSection(t))
	}

	next := Section{Title: "8. Next"}
	for _, n := range v.Next {
		next.Notes = append(next.Notes, "- "+n)
	}
	d.Sections = append(d.Sections, next)
	return d
}

// onlyAffected says whether the provider under investigation is the only one deferring.
func onlyAffected(inv *analyze.Investigation) string {
	var others []string
	var hit bool
	for _, p := range inv.Impact {
		if p.Provider == inv.Provider {
			hit = p.Band != analyze.BandHealthy
			continue
		}
		if p.Band != analyze.BandHealthy && p.Attempts >= 100 {
			others = append(others, p.Provider)
		}
	}
	switch {
	case hit && len(others) == 0:
		return fmt.Sprintf("Only %s is affected: every other provider stays in the healthy band.", analyze.ProviderName(inv.Provider))
	case hit:
		return "Also outside the healthy band: " + strings.Join(others, ", ") + "."
	}
	return ""
}

// repliesSection says what the deferrals mean and what to do, most events first.
func repliesSection(v *InvestigationView) Section {
	sec := Section{Title: fmt.Sprintf("4. What %s's replies say", analyze.ProviderName(v.Investigation.Provider))}
	if v.Deferrals == nil || len(v.Deferrals.Groups) == 0 {
		sec.Notes = append(sec.Notes, "No deferrals or bounces to classify.")
		return sec
	}
	type agg struct {
		g      analyze.DeferralGroup
		events int64
		ips    []string
	}
	var order []string
	byKey := map[string]*agg{}
	for _, g := range v.Deferrals.Groups {
		k := string(g.Reason) + "|" + g.EnhancedCode + "|" + g.RuleID
		a := byKey[k]
		if a == nil {
			a = &agg{g: g}
			byKey[k] = a
			order = append(order, k)
		}
		a.events += g.Events
		if g.IP != "" && !contains2(a.ips, g.IP) {
			a.ips = append(a.ips, g.IP)
		}
	}
	sec.Header = []string{"events", "reason", "code", "temporary", "sending IPs", "meaning", "matched rule"}
	sec.Right = []int{0}
	for i, k := range order {
		if i == 6 {
			sec.Notes = append(sec.Notes, fmt.Sprintf("... %d more kinds: senderscope classify", len(order)-6))
			break
		}
		a := byKey[k]
		tmp := "no"
		if a.g.Temporary {
			tmp = "yes"
		}
		code := strings.TrimSpace(fmt.Sprintf("%d %s", a.g.Code, a.g.EnhancedCode))
		if s := analyze.MicrosoftRuleID(a.g.Sample); s != "" {
			code += " (" + s + ")"
		}
		sec.Rows = append(sec.Rows, []string{Int(a.events), string(a.g.Reason), code, tmp, strings.Join(a.ips, ", "), clip(a.g.Meaning, 70), a.g.RuleID})
	}
	top := byKey[order[0]].g
	if top.Action != "" {
		sec.Notes = append(sec.Notes, "What to do about the most frequent: "+top.Action)
	}
	if len(top.Links) > 0 {
		sec.Notes = append(sec.Notes, "Where to escalate: "+strings.Join(top.Links, " ; "))
	}
	return sec
}

func contains2(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// ticketSection is the draft request in short: where it goes and the form.
func ticketSection(t *analyze.Ticket) Section {
	sec := Section{Title: "7. Draft request to Microsoft's sender support"}
	where := t.Route.Name
	if t.Route.URL != "" {
		where += " (" + t.Route.URL + ")"
	}
	sec.Intro = append(sec.Intro, "Where: "+where, "Why: "+t.Route.Why)
	for _, n := range t.Notices {
		sec.Intro = append(sec.Intro, "NOTE: "+n)
	}
	if t.Route.Channel == analyze.ChannelNone {
		return sec
	}
	sec.Header = []string{"form field", "value"}
	for _, f := range t.Form {
		v := f.Value
		switch {
		case f.Missing:
			v = "(missing)"
		case f.ID == "ErrorMessages":
			v = fmt.Sprintf("%d verbatim replies, e.g. %s", len(t.ErrorMessages), clip(t.ErrorMessages[0], 90))
		}
		sec.Rows = append(sec.Rows, []string{f.Label, v})
	}
	if len(t.Missing) > 0 {
		sec.Notes = append(sec.Notes, "Missing: "+strings.Join(t.Missing, "; ")+".")
	}
	sec.Notes = append(sec.Notes, "The ask: "+t.Ask)
	sec.Notes = append(sec.Notes, "senderscope ticket prints the whole draft, with the evidence block for the reply to the ticket e-mail, and takes the contact details.")
	return sec
}

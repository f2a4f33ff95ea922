package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/senderscope/senderscope/analyze"
)

// classifyRecord is one classified reply as a CSV row.
type classifyRecord struct {
	Reply        string `csv:"reply"`
	Code         int    `csv:"code"`
	EnhancedCode string `csv:"enhanced_code"`
	Reason       string `csv:"reason"`
	Temporary    bool   `csv:"temporary"`
	Scope        string `csv:"scope"`
	Provider     string `csv:"provider"`
	RuleID       string `csv:"rule_id"`
	Meaning      string `csv:"meaning"`
	Action       string `csv:"action"`
	Links        string `csv:"links"`
}

// ClassifyDoc renders classified replies: one row per input reply, then what
// each distinct rule means and what to do about it.
func ClassifyDoc(cs []analyze.Classification) Doc {
	if cs == nil {
		cs = []analyze.Classification{}
	}
	d := Doc{Value: cs}
	tab := Section{Header: []string{"#", "reason", "temporary", "scope", "provider", "code", "rule", "reply"}, Right: []int{0}}
	recs := make([]classifyRecord, 0, len(cs))
	var order []string
	byRule := map[string]analyze.Classification{}
	for i, c := range cs {
		tab.Rows = append(tab.Rows, []string{strconv.Itoa(i + 1), string(c.Reason), yesNo(c.Temporary, "yes", "no"), string(c.Scope),
			string(c.Provider), codes(c.Code, c.EnhancedCode), dash(c.RuleID), clip(firstLine(c.Reply), 70)})
		recs = append(recs, classifyRecord{Reply: c.Reply, Code: c.Code, EnhancedCode: c.EnhancedCode, Reason: string(c.Reason),
			Temporary: c.Temporary, Scope: string(c.Scope), Provider: string(c.Provider), RuleID: c.RuleID, Meaning: c.Meaning,
			Action: c.Action, Links: strings.Join(c.Links, " ")})
		if _, ok := byRule[c.RuleID]; !ok {
			byRule[c.RuleID] = c
			order = append(order, c.RuleID)
		}
	}
	d.Records = recs
	d.Sections = append(d.Sections, tab)
	d.Sections = append(d.Sections, actionSections(order, func(id string) (analyze.Reason, string, string, []string) {
		c := byRule[id]
		return c.Reason, c.Meaning, c.Action, c.Links
	})...)
	return d
}

// deferralRecord is one group of stored deferrals and bounces as a CSV row.
type deferralRecord struct {
	Reason        string `csv:"reason"`
	Temporary     bool   `csv:"temporary"`
	Scope         string `csv:"scope"`
	Provider      string `csv:"provider"`
	ReplyProvider string `csv:"reply_provider"`
	IP            string `csv:"sending_ip"`
	Events        int64  `csv:"events"`
	Deferred      int64  `csv:"deferred"`
	Bounced       int64  `csv:"bounced"`
	Recipients    int64  `csv:"recipients"`
	First         string `csv:"first"`
	Last          string `csv:"last"`
	Code          int    `csv:"code"`
	EnhancedCode  string `csv:"enhanced_code"`
	RuleID        string `csv:"rule_id"`
	Key           string `csv:"key"`
	Sample        string `csv:"sample"`
	Action        string `csv:"action"`
}

// DeferralsDoc renders the stored deferrals and bounces grouped by reason,
// provider, sending IP and normalized reply.
func DeferralsDoc(r *analyze.DeferralReport) Doc {
	d := Doc{Value: r}
	var events int64
	for _, g := range r.Groups {
		events += g.Events
	}
	span := "all stored time"
	switch {
	case r.Since != nil && r.Until != nil:
		span = TimeUTC(*r.Since) + " to " + TimeUTC(*r.Until) + " (UTC)"
	case r.Since != nil:
		span = "since " + TimeUTC(*r.Since) + " (UTC)"
	case r.Until != nil:
		span = "until " + TimeUTC(*r.Until) + " (UTC)"
	}
	who := "all providers"
	if r.Provider != "" {
		who = r.Provider
	}
	d.Lead = append(d.Lead, fmt.Sprintf("Deferrals and bounces, %s, %s: %s events in %d groups (%d stored reply groups, rules %s)",
		who, span, Int(events), len(r.Groups), r.Replies, r.Rules))
	if r.Refreshed > 0 {
		d.Lead = append(d.Lead, fmt.Sprintf("Stored classification updated for %d reply groups.", r.Refreshed))
	}
	if r.Stale > 0 {
		d.Lead = append(d.Lead, fmt.Sprintf("%d stored reply groups were classified with other rules; run with --refresh to store these verdicts.", r.Stale))
	}
	tab := Section{Header: []string{"reason", "temporary", "provider", "sending ip", "events", "recipients", "first", "last", "sample reply"},
		Right: []int{4, 5}}
	recs := make([]deferralRecord, 0, len(r.Groups))
	var order []string
	byRule := map[string]analyze.DeferralGroup{}
	for _, g := range r.Groups {
		tab.Rows = append(tab.Rows, []string{string(g.Reason), yesNo(g.Temporary, "yes", "no"), g.Provider, dash(g.IP), Int(g.Events),
			Int(g.Recipients), TimeUTC(g.First), TimeUTC(g.Last), clip(firstLine(g.Sample), 60)})
		recs = append(recs, deferralRecord{Reason: string(g.Reason), Temporary: g.Temporary, Scope: string(g.Scope), Provider: g.Provider,
			ReplyProvider: string(g.ReplyProvider), IP: g.IP, Events: g.Events, Deferred: g.Deferred, Bounced: g.Bounced,
			Recipients: g.Recipients, First: TimeUTC(g.First), Last: TimeUTC(g.Last), Code: g.Code, EnhancedCode: g.EnhancedCode,
			RuleID: g.RuleID, Key: g.Key, Sample: g.Sample, Action: g.Action})
		if _, ok := byRule[g.RuleID]; !ok {
			byRule[g.RuleID] = g
			order = append(order, g.RuleID)
		}
	}
	if len(r.Groups) == 0 {
		tab.Notes = append(tab.Notes, "No deferrals or bounces with a reply in this range.")
	}
	d.Records = recs
	d.Sections = append(d.Sections, tab)
	d.Sections = append(d.Sections, actionSections(order, func(id string) (analyze.Reason, string, string, []string) {
		g := byRule[id]
		return g.Reason, g.Meaning, g.Action, g.Links
	})...)
	return d
}

// actionSections explains each distinct rule once: what it means, what to
// do, where to escalate.
func actionSections(order []string, get func(id string) (analyze.Reason, string, string, []string)) []Section {
	if len(order) == 0 {
		return nil
	}
	s := Section{Title: "What each means and what to do"}
	for _, id := range order {
		reason, meaning, action, links := get(id)
		s.Notes = append(s.Notes, fmt.Sprintf("%s (%s): %s", reason, dash(id), meaning), "  Do: "+action)
		if len(links) > 0 {
			s.Notes = append(s.Notes, "  See: "+strings.Join(links, " "))
		}
	}
	return []Section{s}
}

func codes(code int, enhanced string) string {
	switch {
	case code != 0 && enhanced != "":
		return strconv.Itoa(code) + " " + enhanced
	case code != 0:
		return strconv.Itoa(code)
	case enhanced != "":
		return enhanced
	}
	return "-"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

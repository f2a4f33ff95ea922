package analyze

import (
	"context"
	"fmt"
	"time"

	"github.com/senderscope/senderscope/ingest"
)

// DeferralQuery selects the stored deferrals and bounces to group.
type DeferralQuery struct {
	Since, Until time.Time // zero: unbounded; Until is exclusive
	Provider     Provider  // recipient provider; "" for all
	// Refresh writes this classifier's verdicts back to the store for every
	// reply classified with other rules (or not at all).
	Refresh bool
}

// DeferralGroup is one row of the answer to "what is failing": stored
// deferrals and bounces with the same reason, recipient provider, sending IP
// and normalized reply.
type DeferralGroup struct {
	Reason        Reason    `json:"reason"`
	Temporary     bool      `json:"temporary"`
	Scope         Scope     `json:"scope"`
	Provider      string    `json:"provider"`       // recipient provider, as stored
	ReplyProvider Provider  `json:"reply_provider"` // who wrote the reply, as the classifier reads it
	IP            string    `json:"sending_ip"`
	Events        int64     `json:"events"`
	Deferred      int64     `json:"deferred"`
	Bounced       int64     `json:"bounced"`
	Recipients    int64     `json:"recipients"` // distinct
	First         time.Time `json:"first"`
	Last          time.Time `json:"last"`
	Code          int       `json:"code"`
	EnhancedCode  string    `json:"enhanced_code"`
	RuleID        string    `json:"rule_id"`
	Key           string    `json:"key"`
	Sample        string    `json:"sample"` // the reply of the group's latest event, verbatim
	Meaning       string    `json:"meaning"`
	Action        string    `json:"action"`
	Links         []string  `json:"links"`
}

// DeferralReport groups the stored deferrals and bounces.
type DeferralReport struct {
	Rules    string     `json:"rules_version"`
	Since    *time.Time `json:"since,omitempty"`
	Until    *time.Time `json:"until,omitempty"`
	Provider string     `json:"provider,omitempty"`
	Replies  int        `json:"reply_groups"` // stored reply groups (replies with one normalized key)
	// Stale counts stored reply groups whose classification was made with
	// other rules (or none); Refreshed how many of them this run rewrote.
	Stale     int             `json:"stale_classifications"`
	Refreshed int64           `json:"refreshed"`
	Groups    []DeferralGroup `json:"groups"`
}

// Deferrals classifies every stored reply group and groups the stored
// deferrals and bounces by reason, recipient provider, sending IP and
// normalized reply, most events first.
func Deferrals(ctx context.Context, store *ingest.Store, c *Classifier, q DeferralQuery) (*DeferralReport, error) {
	replies, err := store.Replies(ctx)
	if err != nil {
		return nil, fmt.Errorf("deferrals: %w", err)
	}
	rep := &DeferralReport{Rules: c.Version(), Provider: string(q.Provider), Replies: len(replies), Groups: []DeferralGroup{}}
	if !q.Since.IsZero() {
		rep.Since = &q.Since
	}
	if !q.Until.IsZero() {
		rep.Until = &q.Until
	}
	groupOf := make(map[int64]string, len(replies))
	byGroup := map[string]Classification{}
	stale := map[int64]ingest.ReplyClass{}
	for _, r := range replies {
		cl := c.ClassifyParts(r.Text, r.Code, r.Enhanced)
		g := string(cl.Reason) + "\t" + cl.Key
		groupOf[r.ID] = g
		if _, ok := byGroup[g]; !ok {
			byGroup[g] = cl
		}
		if r.ClassifiedWith != c.Version() {
			stale[r.ID] = ingest.ReplyClass{Reason: string(cl.Reason), Temporary: cl.Temporary, RuleID: cl.RuleID}
		}
	}
	rep.Stale = len(stale)
	if q.Refresh && len(stale) > 0 {
		if rep.Refreshed, err = store.SetReplyClasses(ctx, c.Version(), stale); err != nil {
			return nil, fmt.Errorf("deferrals: %w", err)
		}
		rep.Stale = 0
	}
	rows, err := store.ReplyGroups(ctx, ingest.ReplyGroupQuery{Since: q.Since, Until: q.Until, Provider: string(q.Provider), Group: groupOf})
	if err != nil {
		return nil, fmt.Errorf("deferrals: %w", err)
	}
	for _, row := range rows {
		cl, ok := byGroup[row.Group]
		if !ok {
			cl = c.Classify(row.Sample)
		}
		links := cl.Links
		if links == nil {
			links = []string{}
		}
		rep.Groups = append(rep.Groups, DeferralGroup{
			Reason: cl.Reason, Temporary: cl.Temporary, Scope: cl.Scope, Provider: row.Provider, ReplyProvider: cl.Provider,
			IP: row.IP, Events: row.Events, Deferred: row.Deferred, Bounced: row.Bounced, Recipients: row.Recipients,
			First: row.First, Last: row.Last, Code: cl.Code, EnhancedCode: cl.EnhancedCode, RuleID: cl.RuleID, Key: cl.Key,
			Sample: row.Sample, Meaning: cl.Meaning, Action: cl.Action, Links: links,
		})
	}
	return rep, nil
}

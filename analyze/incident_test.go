package analyze

import (
	"context"
	"testing"
	"time"

	"github.com/senderscope/senderscope/ingest"
)

// fakeIncident serves fixed outcomes.
type fakeIncident struct {
	outs []ingest.MinuteOutcomes
}

func (f *fakeIncident) Outcomes(_ context.Context, _ string, from, _ time.Time) ([]ingest.MinuteOutcomes, error) {
	var out []ingest.MinuteOutcomes
	for _, o := range f.outs {
		if o.Minute*60 >= from.Unix() {
			out = append(out, o)
		}
	}
	return out, nil
}

// incidentAt builds an investigation whose burst and first deferral are
// the given times, on one IP.
func incidentAt(burst, first time.Time) *Investigation {
	b := &Spike{Start: burst, End: burst.Add(time.Minute), Sends: 40}
	return &Investigation{
		Provider:      "microsoft",
		IncidentStart: &first,
		Onsets: []Onset{{Provider: "microsoft", IP: "203.0.113.7", Burst: b, Lag: FormatLag(first.Sub(burst)),
			FirstDeferral: &ProblemEvent{Time: first, EnhancedCode: "4.7.650", Count: 10}}},
	}
}

// minutes makes one outcome row per minute in [from, from+n) on one IP.
func minutes(from time.Time, n int, ip string, sends, attempts, deferred int64) []ingest.MinuteOutcomes {
	var out []ingest.MinuteOutcomes
	for i := 0; i < n; i++ {
		out = append(out, ingest.MinuteOutcomes{Minute: from.Unix()/60 + int64(i), Provider: "microsoft", IP: ip, Sends: sends, Attempts: attempts, Deferred: deferred})
	}
	return out
}

func TestBuildIncidentWindowsMerge(t *testing.T) {
	burst := time.Date(2026, 2, 24, 19, 40, 0, 0, time.UTC)
	for _, tc := range []struct {
		first   time.Time
		windows int
	}{
		{burst.Add(20 * time.Minute), 1}, // close: one chart from the burst to the deferrals
		{burst.Add(3 * time.Hour), 2},    // far apart: two charts
	} {
		src := &fakeIncident{outs: minutes(burst.Add(-time.Hour), 300, "203.0.113.7", 2, 2, 0)}
		inc, err := BuildIncident(context.Background(), src, incidentAt(burst, tc.first), IncidentOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(inc.Windows) != tc.windows {
			t.Fatalf("first deferral %s after the burst: %d windows, want %d", tc.first.Sub(burst), len(inc.Windows), tc.windows)
		}
		w := inc.Windows[0]
		if !w.From.Equal(burst.Add(-30 * time.Minute)) {
			t.Errorf("window starts %v, want 30m before the burst", w.From)
		}
		last := inc.Windows[len(inc.Windows)-1]
		if end := last.From.Add(time.Duration(last.Minutes) * time.Minute); !end.Equal(tc.first.Add(time.Hour)) {
			t.Errorf("last window ends %v, want an hour after the first deferral", end)
		}
		for _, w := range inc.Windows {
			if len(w.Series) != 1 || len(w.Series[0].Sends) != w.Minutes {
				t.Fatalf("series %+v", w.Series)
			}
			for i, v := range w.Series[0].Sends {
				if v != 2 {
					t.Fatalf("minute %d of %q: %d sends, want 2", i, w.Title, v)
				}
			}
		}
	}
}

func TestBuildIncidentRecovery(t *testing.T) {
	burst := time.Date(2026, 2, 24, 19, 40, 0, 0, time.UTC)
	first := time.Date(2026, 2, 24, 22, 0, 0, 0, time.UTC)
	ip := "203.0.113.7"
	// Healthy before, all deferred 22:00-01:00, healthy after until 06:00.
	outs := minutes(burst.Add(-time.Hour), 200, ip, 1, 1, 0)
	outs = append(outs, minutes(first, 180, ip, 1, 4, 4)...)
	outs = append(outs, minutes(first.Add(3*time.Hour), 300, ip, 1, 1, 0)...)
	src := &fakeIncident{outs: outs}
	inc, err := BuildIncident(context.Background(), src, incidentAt(burst, first), IncidentOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if inc.RecoveredAt == nil || !inc.RecoveredAt.Equal(first.Add(3*time.Hour)) {
		t.Errorf("recovered at %v, want 01:00", inc.RecoveredAt)
	}
	if inc.LastDeferral == nil || !inc.LastDeferral.Equal(first.Add(179*time.Minute)) {
		t.Errorf("last deferral %v, want 00:59", inc.LastDeferral)
	}
	if inc.PeakHour == nil || inc.PeakHour.Deferred != 240 || inc.PeakHour.Band != BandPause {
		t.Errorf("peak hour %+v, want 240 deferred, pause", inc.PeakHour)
	}
	got := map[TimelineKind]bool{}
	for _, e := range inc.Timeline {
		got[e.Kind] = true
	}
	for _, k := range []TimelineKind{TimelineBurst, TimelineFirstDeferral, TimelinePeakHour, TimelineLastDeferral, TimelineRecovered, TimelineRetryHorizon, TimelineDataEnd} {
		if !got[k] {
			t.Errorf("no %s in the timeline", k)
		}
	}
	if got[TimelineStillDeferring] {
		t.Error("still deferring after recovery")
	}
	for i := 1; i < len(inc.Timeline); i++ {
		if inc.Timeline[i].Time.Truncate(time.Minute).Before(inc.Timeline[i-1].Time.Truncate(time.Minute)) {
			t.Errorf("timeline out of order at %d: %+v", i, inc.Timeline)
		}
	}

	// The same incident with the data ending while still deferring.
	src.outs = outs[:len(outs)-300]
	inc, err = BuildIncident(context.Background(), src, incidentAt(burst, first), IncidentOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if inc.RecoveredAt != nil {
		t.Errorf("recovered at %v with deferrals to the end", inc.RecoveredAt)
	}
	last := inc.Timeline[len(inc.Timeline)-1]
	var still bool
	for _, e := range inc.Timeline {
		still = still || e.Kind == TimelineStillDeferring
	}
	if !still {
		t.Errorf("no still_deferring entry: %+v", inc.Timeline)
	}
	if last.Kind != TimelineRetryHorizon {
		t.Errorf("the retry horizon, after the data, should come last: %+v", last)
	}
}

func TestAddReplies(t *testing.T) {
	t0 := time.Date(2026, 2, 24, 22, 1, 0, 0, time.UTC)
	c, err := NewClassifier()
	if err != nil {
		t.Fatal(err)
	}
	// Rows as Deferrals returns them: one per classification, provider, IP
	// and normalized reply.
	row := func(reply, ip string, deferred, bounced int64) DeferralGroup {
		cl := c.Classify(reply)
		return DeferralGroup{Reason: cl.Reason, Temporary: cl.Temporary, Scope: cl.Scope, Provider: "microsoft", IP: ip,
			Events: deferred + bounced, Deferred: deferred, Bounced: bounced, Recipients: deferred + bounced, First: t0, Last: t0.Add(time.Duration(deferred) * time.Minute),
			Code: cl.Code, EnhancedCode: cl.EnhancedCode, RuleID: cl.RuleID, Key: cl.Key, Sample: reply, Meaning: cl.Meaning, Action: cl.Action, Links: cl.Links}
	}
	rep := &DeferralReport{Rules: c.Version(), Since: &t0, Groups: []DeferralGroup{
		row("451 4.7.650 The mail server [203.0.113.10] has been temporarily rate limited due to IP reputation. (S775)", "203.0.113.10", 7, 1),
		row("451 4.7.650 The mail server [203.0.113.7] has been temporarily rate limited due to IP reputation. (S775)", "203.0.113.7", 5, 0),
		row("550 5.1.1 <jane@outlook.com>: Recipient address rejected: User unknown", "203.0.113.7", 0, 2),
		row("550 5.7.1 Unfortunately, messages from [203.0.113.7] weren't sent. (S3150)", "203.0.113.7", 0, 1),
	}}
	inc := &Incident{}
	inc.AddReplies(rep, 2)
	if inc.ReplyGroupsTotal != 3 {
		t.Errorf("%d groups, want 3: the two IPs' 4.7.650 as one", inc.ReplyGroupsTotal)
	}
	if len(inc.ReplyGroups) != 2 {
		t.Fatalf("%d groups kept, want 2", len(inc.ReplyGroups))
	}
	g := inc.ReplyGroups[0]
	if g.EnhancedCode != "4.7.650" || g.Reason != rep.Groups[0].Reason || g.Action == "" || g.Deferred != 12 || g.Bounced != 1 || g.Recipients != 13 {
		t.Errorf("first group %+v", g)
	}
	if len(g.IPs) != 2 || g.IPs[0].IP != "203.0.113.7" || g.IPs[0].Deferred != 5 || g.IPs[1].Deferred != 7 {
		t.Errorf("per IP %+v, want 203.0.113.7 first", g.IPs)
	}
	if !g.Last.Equal(t0.Add(7 * time.Minute)) {
		t.Errorf("last %v", g.Last)
	}
	if inc.ReplyGroups[1].EnhancedCode != "5.1.1" || inc.ReplyRules != c.Version() || !inc.RepliesSince.Equal(t0) {
		t.Errorf("second group %+v, rules %q, since %v", inc.ReplyGroups[1], inc.ReplyRules, inc.RepliesSince)
	}
}

package analyze

import (
	"context"
	"testing"
	"time"

	"github.com/senderscope/senderscope/ingest"
)

// fakeIncident serves fixed outcomes and reply counts.
type fakeIncident struct {
	outs    []ingest.MinuteOutcomes
	replies []ingest.ReplyGroupCount
	query   ingest.ReplyCountQuery
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

func (f *fakeIncident) ReplyGroupCounts(_ context.Context, q ingest.ReplyCountQuery) ([]ingest.ReplyGroupCount, error) {
	f.query = q
	var out []ingest.ReplyGroupCount
	for _, r := range f.replies {
		if q.Regroup != nil {
			r.Key = q.Regroup(r.Key)
		}
		out = append(out, r)
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

func TestBuildIncidentReplyGroups(t *testing.T) {
	first := time.Date(2026, 2, 24, 22, 0, 0, 0, time.UTC)
	t0 := first.Add(time.Minute)
	mk := func(key, ip string, deferred, bounced int64) ingest.ReplyGroupCount {
		return ingest.ReplyGroupCount{Key: key, SMTPCode: 451, EnhancedCode: "4.7.650", Sample: key, Provider: "microsoft", IP: ip,
			Deferred: deferred, Bounced: bounced, First: t0, Last: t0}
	}
	src := &fakeIncident{replies: []ingest.ReplyGroupCount{
		mk("451 4.7.650 The mail server [203.0.113.7] has been temporarily rate limited (S775) [MxId=11B4D5615725ED91]", "203.0.113.7", 5, 0),
		mk("451 4.7.650 The mail server [203.0.113.10] has been temporarily rate limited (S775) [MxId=11BE67B0BE727E5C]", "203.0.113.10", 7, 1),
		mk("451 4.7.650 The mail server [203.0.113.7] has been temporarily rate limited (S775) [MxId=11BEBBBBEEDACCC2]", "203.0.113.7", 3, 0),
		{Key: "550 5.1.1 <jane@outlook.com>: Recipient address rejected", SMTPCode: 550, EnhancedCode: "5.1.1", Provider: "microsoft", IP: "203.0.113.7", Bounced: 2, First: t0, Last: t0},
		{Key: "550 5.1.1 <joe@outlook.com>: Recipient address rejected", SMTPCode: 550, EnhancedCode: "5.1.1", Reason: "hasmoved", Provider: "microsoft", IP: "203.0.113.7", Bounced: 1, First: t0, Last: t0},
	}}
	inc, err := BuildIncident(context.Background(), src, incidentAt(first.Add(-time.Hour), first), IncidentOptions{TopReplies: 2})
	if err != nil {
		t.Fatal(err)
	}
	if src.query.From.IsZero() || !src.query.From.Equal(first.Add(-24*time.Hour)) {
		t.Errorf("replies counted from %v, want a day before the incident", src.query.From)
	}
	if inc.ReplyGroupsTotal != 3 {
		t.Errorf("%d groups, want 3: the 4.7.650s as one, and the 5.1.1s apart by classification", inc.ReplyGroupsTotal)
	}
	if len(inc.ReplyGroups) != 2 {
		t.Fatalf("%d groups kept, want TopReplies = 2", len(inc.ReplyGroups))
	}
	g := inc.ReplyGroups[0]
	if g.Deferred != 15 || g.Bounced != 1 || len(g.IPs) != 2 || g.IPs[0].IP != "203.0.113.7" || g.IPs[0].Deferred != 8 || g.IPs[1].Deferred != 7 {
		t.Errorf("4.7.650 group %+v", g)
	}
	if inc.ReplyGroups[1].EnhancedCode != "5.1.1" || inc.ReplyGroups[1].Reason != "" || inc.ReplyGroups[1].Bounced != 2 {
		t.Errorf("second group %+v", inc.ReplyGroups[1])
	}
}

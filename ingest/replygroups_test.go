package ingest

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestReplyGroupCounts(t *testing.T) {
	s := openTemp(t)
	csv := `created_at,email,status,response,ip
2026-02-24 21:00:00+00,a@hotmail.com,deferred,451 4.7.650 rate limited [MxId=AAA1],203.0.113.7
2026-02-24 21:30:00+00,a@hotmail.com,deferred,451 4.7.650 rate limited [MxId=AAA2],203.0.113.7
2026-02-24 21:40:00+00,b@hotmail.com,deferred,451 4.7.650 rate limited [MxId=BBB1],203.0.113.10
2026-02-24 21:45:00+00,c@hotmail.com,bounced,550 5.1.1 <c@hotmail.com>: unknown,203.0.113.10
2026-02-24 21:50:00+00,d@example.org,bounced,550 5.1.1 <d@example.org>: unknown,203.0.113.10
2026-02-24 21:55:00+00,e@hotmail.com,delivered,250 2.6.0 Queued,203.0.113.7
2026-02-23 10:00:00+00,f@hotmail.com,deferred,451 4.7.650 rate limited [MxId=OLD1],203.0.113.7
`
	if _, err := Ingest(context.Background(), s, []Input{{Name: "-", Reader: strings.NewReader(csv)}}, Options{Enrich: testEnrich}); err != nil {
		t.Fatal(err)
	}
	// Without a normalizer at ingest, every reply is its own group; the
	// regroup function folds the ids while the rows are read.
	fold := func(k string) string {
		if i := strings.Index(k, "[MxId="); i >= 0 {
			return k[:i] + "[MxId=#]"
		}
		return k
	}
	from := time.Date(2026, 2, 24, 0, 0, 0, 0, time.UTC)
	rows, err := s.ReplyGroupCounts(context.Background(), ReplyCountQuery{Provider: "microsoft", From: from, Regroup: fold})
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		key, ip, code  string
		deferred, bncd int64
	}
	var all []got
	for _, r := range rows {
		all = append(all, got{r.Key, r.IP, r.EnhancedCode, r.Deferred, r.Bounced})
	}
	want := []got{
		{"451 4.7.650 rate limited [MxId=#]", "203.0.113.7", "4.7.650", 2, 0},
		{"451 4.7.650 rate limited [MxId=#]", "203.0.113.10", "4.7.650", 1, 0},
		{"550 5.1.1 <c@hotmail.com>: unknown", "203.0.113.10", "5.1.1", 0, 1},
	}
	if len(all) != len(want) {
		t.Fatalf("got %+v\nwant %+v", all, want)
	}
	for i := range want {
		if all[i] != want[i] {
			t.Errorf("row %d: got %+v, want %+v", i, all[i], want[i])
		}
	}
	if r := rows[0]; !r.First.Equal(time.Date(2026, 2, 24, 21, 0, 0, 0, time.UTC)) || !r.Last.Equal(time.Date(2026, 2, 24, 21, 30, 0, 0, time.UTC)) || !strings.HasPrefix(r.Sample, "451 4.7.650 rate limited [MxId=AAA") {
		t.Errorf("first row %+v", r)
	}
	// Every provider, unfolded: one group per distinct reply.
	rows, err = s.ReplyGroupCounts(context.Background(), ReplyCountQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 {
		t.Errorf("%d rows over every provider and time, want 6: %+v", len(rows), rows)
	}
}

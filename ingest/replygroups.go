package ingest

import (
	"context"
	"database/sql"
	"sort"
	"time"
)

// ReplyCountQuery selects the deferrals and bounces to count by reply group.
type ReplyCountQuery struct {
	Provider string    // "" = every provider
	From, To time.Time // zero = unbounded; To is exclusive
	// Regroup maps a stored group key (the normalized reply) to the key to
	// count under; nil keeps the stored groups. Rows are folded as they are
	// read, so a store with one group per event does not hold them all.
	Regroup func(key string) string
}

// ReplyGroupCount is the deferrals and bounces of one reply group to one
// provider from one sending IP.
type ReplyGroupCount struct {
	Key          string // the group key (after Regroup)
	SMTPCode     int    // 0 when unknown
	EnhancedCode string // "" when unknown
	Reason       string // the stored classification, "" when none
	Sample       string // a reply of the group, verbatim: the first stored
	Provider     string
	IP           string // "" when the events carry no sending IP
	Deferred     int64
	Bounced      int64
	First, Last  time.Time
}

// ReplyGroupCounts counts deferrals and bounces per reply group (with its
// code and classification), provider and sending IP. Events without a stored
// reply are not counted: there is nothing to classify. Rows come most events
// first.
func (s *Store) ReplyGroupCounts(ctx context.Context, q ReplyCountQuery) ([]ReplyGroupCount, error) {
	a, b := int64(0), int64(1<<62)
	if !q.From.IsZero() {
		a = q.From.UnixMilli()
	}
	if !q.To.IsZero() {
		b = q.To.UnixMilli()
	}
	// Counting first and joining the group's text after keeps the grouping
	// on integers: the texts are long and, without a normalizer at ingest,
	// there is one group per distinct reply.
	sqlq := `SELECT g.key, g.code, g.enhanced_code, coalesce(g.reason, ''), g.sample, p.name, coalesce(i.ip, ''),
		c.deferred, c.bounced, c.first, c.last
	FROM (SELECT e.group_id, e.provider_id, e.ip_id, sum(e.type_id = 4) AS deferred, sum(e.type_id = 5) AS bounced,
			min(e.ts) AS first, max(e.ts) AS last
		FROM events e
		WHERE e.type_id IN (4, 5) AND e.group_id IS NOT NULL AND e.ts >= ? AND e.ts < ?`
	args := []any{a, b}
	if q.Provider != "" {
		sqlq += ` AND e.provider_id = (SELECT id FROM providers WHERE name = ?)`
		args = append(args, q.Provider)
	}
	sqlq += ` GROUP BY e.group_id, e.provider_id, e.ip_id) c
	JOIN reply_groups g ON g.id = c.group_id
	JOIN providers p ON p.id = c.provider_id
	LEFT JOIN ips i ON i.id = c.ip_id
	ORDER BY c.group_id`
	rows, err := s.db.QueryContext(ctx, sqlq, args...)
	if err != nil {
		return nil, wrapDBErr("count replies", err)
	}
	defer rows.Close()
	type k struct {
		key, enhanced, reason, provider, ip string
		code                                int
	}
	acc := map[k]*ReplyGroupCount{}
	for rows.Next() {
		var key, sample sql.RawBytes
		var x ReplyGroupCount
		var first, last int64
		if err := rows.Scan(&key, &x.SMTPCode, &x.EnhancedCode, &x.Reason, &sample, &x.Provider, &x.IP,
			&x.Deferred, &x.Bounced, &first, &last); err != nil {
			return nil, wrapDBErr("count replies", err)
		}
		gk := string(key)
		if q.Regroup != nil {
			gk = q.Regroup(gk)
		}
		id := k{gk, x.EnhancedCode, x.Reason, x.Provider, x.IP, x.SMTPCode}
		r := acc[id]
		if r == nil {
			x.Key, x.Sample = gk, string(sample)
			x.First, x.Last = time.UnixMilli(first).UTC(), time.UnixMilli(last).UTC()
			acc[id] = &x
			continue
		}
		r.Deferred += x.Deferred
		r.Bounced += x.Bounced
		if t := time.UnixMilli(first).UTC(); t.Before(r.First) {
			r.First = t
		}
		if t := time.UnixMilli(last).UTC(); t.After(r.Last) {
			r.Last = t
		}
	}
	if err := rows.Err(); err != nil {
		return nil, wrapDBErr("count replies", err)
	}
	out := make([]ReplyGroupCount, 0, len(acc))
	for _, r := range acc {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Deferred+a.Bounced != b.Deferred+b.Bounced {
			return a.Deferred+a.Bounced > b.Deferred+b.Bounced
		}
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		if a.EnhancedCode != b.EnhancedCode || a.SMTPCode != b.SMTPCode {
			return a.EnhancedCode < b.EnhancedCode || (a.EnhancedCode == b.EnhancedCode && a.SMTPCode < b.SMTPCode)
		}
		if a.Reason != b.Reason {
			return a.Reason < b.Reason
		}
		if a.Provider != b.Provider {
			return a.Provider < b.Provider
		}
		return a.IP < b.IP
	})
	return out, nil
}

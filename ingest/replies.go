package ingest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// StoredReply is one reply group in the store (replies that normalize to the
// same key), as classified so far.
type StoredReply struct {
	ID             int64
	Key            string // the normalized reply, as ingest's Normalize made it
	Text           string // the first reply seen in the group, verbatim
	Code           int
	Enhanced       string
	ClassifiedWith string // rules version of the stored classification, "" if none
}

// Replies returns every reply group.
func (s *Store) Replies(ctx context.Context) ([]StoredReply, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, key, sample, code, enhanced_code, coalesce(classified_with, '')
		FROM reply_groups ORDER BY id`)
	if err != nil {
		return nil, wrapDBErr("read replies", err)
	}
	defer rows.Close()
	var out []StoredReply
	for rows.Next() {
		var r StoredReply
		if err := rows.Scan(&r.ID, &r.Key, &r.Text, &r.Code, &r.Enhanced, &r.ClassifiedWith); err != nil {
			return nil, wrapDBErr("read replies", err)
		}
		out = append(out, r)
	}
	return out, wrapDBErr("read replies", rows.Err())
}

// SetReplyClasses stores classifications of reply groups (by id) made with
// the rules named version, in one transaction, and returns how many changed.
func (s *Store) SetReplyClasses(ctx context.Context, version string, classes map[int64]ReplyClass) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, wrapDBErr("store reply classes", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `UPDATE reply_groups SET reason = ?, temporary = ?, rule_id = ?, classified_with = ?
		WHERE id = ? AND (classified_with IS NOT ? OR reason IS NOT ? OR temporary IS NOT ? OR rule_id IS NOT ?)`)
	if err != nil {
		return 0, wrapDBErr("store reply classes", err)
	}
	defer stmt.Close()
	var changed int64
	for id, c := range classes {
		res, err := stmt.ExecContext(ctx, c.Reason, c.Temporary, c.RuleID, version, id, version, c.Reason, c.Temporary, c.RuleID)
		if err != nil {
			return 0, wrapDBErr("store reply classes", err)
		}
		n, _ := res.RowsAffected()
		changed += n
	}
	if err := tx.Commit(); err != nil {
		return 0, wrapDBErr("store reply classes", err)
	}
	return changed, nil
}

// ReplyGroupQuery selects the deferrals and bounces to group.
type ReplyGroupQuery struct {
	Since, Until time.Time // zero: unbounded; Until is exclusive
	Provider     string    // recipient provider (events.provider); "" for all
	// Group maps a stored reply group id to the group to count it in
	// (decided by the classifier, which may merge stored groups); stored
	// groups not in the map are counted on their own.
	Group map[int64]string
}

// ReplyGroupRow is one group of stored deferrals and bounces: same group
// key, recipient provider and sending IP.
type ReplyGroupRow struct {
	Group      string
	Provider   string
	IP         string // "" when the events carry no sending IP
	Events     int64
	Deferred   int64
	Bounced    int64
	Recipients int64 // distinct recipients
	First      time.Time
	Last       time.Time
	Sample     string // the reply of the group's latest event, verbatim
}

// ReplyGroups counts deferrals and bounces per group, provider and sending
// IP. The caller's grouping is loaded into a temporary table on one
// connection so the whole count, distinct recipients included, is one query.
func (s *Store) ReplyGroups(ctx context.Context, q ReplyGroupQuery) ([]ReplyGroupRow, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, wrapDBErr("group replies", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `CREATE TEMP TABLE IF NOT EXISTS count_groups (group_id INTEGER PRIMARY KEY, grp TEXT NOT NULL)`); err != nil {
		return nil, wrapDBErr("group replies", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS temp.count_groups`)
	if err := fillReplyGroups(ctx, conn, q.Group); err != nil {
		return nil, err
	}
	since, until := int64(0), int64(1<<62)
	if !q.Since.IsZero() {
		since = q.Since.UnixMilli()
	}
	if !q.Until.IsZero() {
		until = q.Until.UnixMilli()
	}
	// The latest event's reply is the sample: max() over "ts reply" text
	// picks it without a second pass.
	rows, err := conn.QueryContext(ctx, `
		SELECT coalesce(g.grp, 'group:' || e.group_id), p.name, coalesce(i.ip, ''),
		       count(*), sum(e.type_id = 4), sum(e.type_id = 5), count(DISTINCT e.recipient),
		       min(e.ts), max(e.ts), max(printf('%015d ', e.ts) || e.reply)
		FROM events e
		JOIN providers p ON p.id = e.provider_id
		LEFT JOIN ips i ON i.id = e.ip_id
		LEFT JOIN temp.count_groups g ON g.group_id = e.group_id
		WHERE e.type_id IN (4, 5) AND e.group_id IS NOT NULL AND `+tsRange("e", "?", "?")+` AND (? = '' OR p.name = ?)
		GROUP BY 1, 2, 3
		ORDER BY 4 DESC, 1, 2, 3`, since, until, q.Provider, q.Provider)
	if err != nil {
		return nil, wrapDBErr("group replies", err)
	}
	var out []ReplyGroupRow
	for rows.Next() {
		var r ReplyGroupRow
		var first, last int64
		var latest string
		if err := rows.Scan(&r.Group, &r.Provider, &r.IP, &r.Events, &r.Deferred, &r.Bounced, &r.Recipients, &first, &last, &latest); err != nil {
			rows.Close()
			return nil, wrapDBErr("group replies", err)
		}
		r.First, r.Last = time.UnixMilli(first).UTC(), time.UnixMilli(last).UTC()
		_, r.Sample, _ = strings.Cut(latest, " ")
		out = append(out, r)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, wrapDBErr("group replies", err)
	}
	return out, nil
}

func fillReplyGroups(ctx context.Context, conn *sql.Conn, groups map[int64]string) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return wrapDBErr("group replies", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO temp.count_groups (group_id, grp) VALUES (?, ?)`)
	if err != nil {
		return wrapDBErr("group replies", err)
	}
	defer stmt.Close()
	for id, g := range groups {
		if _, err := stmt.ExecContext(ctx, id, g); err != nil {
			return wrapDBErr("group replies", fmt.Errorf("reply %d: %w", id, err))
		}
	}
	return wrapDBErr("group replies", tx.Commit())
}

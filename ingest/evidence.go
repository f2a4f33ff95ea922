package ingest

import (
	"context"
	"database/sql"
	"time"
)

// CodeGroup is the deferrals or bounces with one code on one IP.
type CodeGroup struct {
	Type         EventType
	IP           string
	SMTPCode     int
	EnhancedCode string
	Count        int64
	Recipients   int64 // distinct recipients affected
	First, Last  time.Time
	Sample       string // the first reply of the group, verbatim
	LastSample   string // the last reply of the group, verbatim
	Reason       string // the reply group's classification, when known
}

// CodeGroups groups a provider's deferrals and bounces in [from, to) by type,
// sending IP and codes, most frequent first.
func (s *Store) CodeGroups(ctx context.Context, provider string, from, to time.Time) ([]CodeGroup, error) {
	a, b := msBounds(from, to)
	q := `WITH grp AS (SELECT e.type_id, e.ip_id, e.code, e.enhanced, count(*) AS n, count(DISTINCT e.recipient) AS r,
			min(e.ts) AS f, max(e.ts) AS l, coalesce(max(g.reason), '') AS reason
		FROM events e LEFT JOIN reply_groups g ON g.id = e.group_id
		WHERE e.type_id IN (4, 5) AND ` + tsRange("e", "?", "?")
	args := []any{a, b}
	if provider != "" {
		q += ` AND e.provider_id = (SELECT id FROM providers WHERE name = ?)`
		args = append(args, provider)
	}
	q += ` GROUP BY e.type_id, e.ip_id, e.code, e.enhanced)
		SELECT grp.type_id, coalesce(i.ip, ''), coalesce(grp.code, 0),
			coalesce(CASE WHEN grp.enhanced IS NOT NULL THEN printf('%d.%d.%d', grp.enhanced / 100000,
				grp.enhanced / 1000 % 100, grp.enhanced % 1000) END, ''),
			grp.n, grp.r, grp.f, grp.l,
			(SELECT x.reply FROM events x WHERE ` + tsRange("x", "grp.f", "grp.f + 1") + ` AND x.type_id = grp.type_id
				AND x.ip_id IS grp.ip_id AND x.enhanced IS grp.enhanced LIMIT 1),
			(SELECT x.reply FROM events x WHERE ` + tsRange("x", "grp.l", "grp.l + 1") + ` AND x.type_id = grp.type_id
				AND x.ip_id IS grp.ip_id AND x.enhanced IS grp.enhanced LIMIT 1),
			grp.reason
		FROM grp LEFT JOIN ips i ON i.id = grp.ip_id ORDER BY grp.n DESC`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrapDBErr("group deferrals", err)
	}
	defer rows.Close()
	var out []CodeGroup
	for rows.Next() {
		var g CodeGroup
		var typeID, first, last int64
		var sample, lastSample sql.NullString
		if err := rows.Scan(&typeID, &g.IP, &g.SMTPCode, &g.EnhancedCode, &g.Count, &g.Recipients, &first, &last, &sample, &lastSample, &g.Reason); err != nil {
			return nil, err
		}
		g.Type = EventTypes[typeID-1]
		g.First, g.Last = time.UnixMilli(first).UTC(), time.UnixMilli(last).UTC()
		g.Sample, g.LastSample = sample.String, lastSample.String
		out = append(out, g)
	}
	return out, rows.Err()
}

func msBounds(from, to time.Time) (int64, int64) {
	a, b := int64(0), int64(1<<62)
	if !from.IsZero() {
		a = from.UnixMilli()
	}
	if !to.IsZero() {
		b = to.UnixMilli()
	}
	return a, b
}

// DomainCount is events at one recipient domain.
type DomainCount struct {
	Domain string
	Count  int64
}

// DeferredDomains counts a provider's deferrals and bounces by recipient domain.
func (s *Store) DeferredDomains(ctx context.Context, provider string, from, to time.Time) ([]DomainCount, error) {
	a, b := msBounds(from, to)
	q := `SELECT substr(e.recipient, instr(e.recipient, '@') + 1) AS d, count(*) FROM events e
		WHERE e.type_id IN (4, 5) AND ` + tsRange("e", "?", "?")
	args := []any{a, b}
	if provider != "" {
		q += ` AND e.provider_id = (SELECT id FROM providers WHERE name = ?)`
		args = append(args, provider)
	}
	q += ` GROUP BY d ORDER BY count(*) DESC, d`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrapDBErr("count deferred domains", err)
	}
	defer rows.Close()
	var out []DomainCount
	for rows.Next() {
		var d DomainCount
		if err := rows.Scan(&d.Domain, &d.Count); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// SNDSRows returns the stored SNDS days for the IPs ("" = all) in [from, to).
func (s *Store) SNDSRows(ctx context.Context, from, to time.Time) ([]SNDSDay, error) {
	a, b := msBounds(from, to)
	rows, err := s.db.QueryContext(ctx, `SELECT ip, activity_start, activity_end, rcpt_commands, data_commands, recipients,
		filter_result, complaint_rate, trap_hits, comments FROM snds_data WHERE activity_start >= ? AND activity_start < ?
		ORDER BY activity_start, ip`, a, b)
	if err != nil {
		return nil, wrapDBErr("read SNDS data", err)
	}
	defer rows.Close()
	var out []SNDSDay
	for rows.Next() {
		var d SNDSDay
		var start, end int64
		if err := rows.Scan(&d.IP, &start, &end, &d.RCPT, &d.DATA, &d.Recipients, &d.Filter, &d.ComplaintRate, &d.TrapHits, &d.Comments); err != nil {
			return nil, err
		}
		d.Start, d.End = time.UnixMilli(start).UTC(), time.UnixMilli(end).UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

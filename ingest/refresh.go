package ingest

import (
	"context"
	"sort"
)

// sendExpr decides, per event row e joined with its source s, whether it is a
// send: explicit sources count processed/sent events, the others the first
// attempt of each message (attempt 1, or no attempt number).
const sendExpr = `CASE WHEN s.send_kind = 'explicit' THEN e.type_id IN (1, 2)
	ELSE e.type_id IN (3, 4, 5) AND coalesce(e.attempt, 1) <= 1 END`

// Refresh brings event_minutes up to date with the events of every range
// ingest recorded as changed. Analyses call it before reading; it is cheap
// when nothing changed.
func (s *Store) Refresh(ctx context.Context) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return wrapDBErr("refresh aggregates", err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM dirty_ranges`).Scan(&n); err != nil || n == 0 {
		return wrapDBErr("refresh aggregates", err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return wrapDBErr("refresh aggregates", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	rows, err := conn.QueryContext(ctx, `SELECT id, first_minute, last_minute FROM dirty_ranges`)
	if err != nil {
		return wrapDBErr("refresh aggregates", err)
	}
	type span struct{ a, b int64 }
	var spans []span
	var maxID int64
	for rows.Next() {
		var id int64
		var sp span
		if err := rows.Scan(&id, &sp.a, &sp.b); err != nil {
			rows.Close()
			return err
		}
		spans = append(spans, sp)
		maxID = max(maxID, id)
	}
	rows.Close()
	sort.Slice(spans, func(i, j int) bool { return spans[i].a < spans[j].a })
	var merged []span
	for _, sp := range spans {
		if k := len(merged) - 1; k >= 0 && sp.a <= merged[k].b+1 {
			merged[k].b = max(merged[k].b, sp.b)
			continue
		}
		merged = append(merged, sp)
	}
	for _, sp := range merged {
		if _, err := conn.ExecContext(ctx, `DELETE FROM event_minutes
			WHERE provider_id IN (SELECT id FROM providers) AND minute BETWEEN ? AND ?`, sp.a, sp.b); err != nil {
			return wrapDBErr("refresh aggregates", err)
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO event_minutes
			(minute, provider_id, ip_id, sends, attempts, delivered, deferred, bounced, dropped, complaints)
			SELECT e.ts / 60000, e.provider_id, coalesce(e.ip_id, 0),
				sum(`+sendExpr+`), sum(e.type_id IN (3, 4, 5)), sum(e.type_id = 3), sum(e.type_id = 4),
				sum(e.type_id = 5), sum(e.type_id = 6), sum(e.type_id = 7)
			FROM events e JOIN sources s ON s.id = e.source_id
			WHERE `+tsRange("e", "?", "? + 1")+`
			GROUP BY 1, 2, 3`, sp.a*60000, sp.b*60000+59999); err != nil {
			return wrapDBErr("refresh aggregates", err)
		}
	}
	if _, err := conn.ExecContext(ctx, `DELETE FROM dirty_ranges WHERE id <= ?`, maxID); err != nil {
		return wrapDBErr("refresh aggregates", err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return wrapDBErr("refresh aggregates", err)
	}
	return nil
}

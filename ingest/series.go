package ingest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"
)

// MinuteSends is the sends of one minute from one sending IP ("" = unknown or
// not split by IP).
type MinuteSends struct {
	Minute int64 // Unix minutes
	IP     string
	Sends  int64
}

// UnknownIP selects, in SendTimes, the sends whose sending IP is not known.
const UnknownIP = "unknown"

// providerID returns the id of a provider name, 0 when none is stored.
func (s *Store) providerID(ctx context.Context, name string) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT id FROM providers WHERE name = ?`, name).Scan(&id)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	return id, err
}

// SendMinutes returns sends per minute and IP to a provider ("" = every
// provider) in [from, to), from events and from pre-aggregated counts,
// in minute order.
//
// Events and counts may measure the same sends at different grain (a
// warehouse's per-minute totals next to the per-IP events of the same
// evening), so they are reconciled per minute, never added: each known IP
// gets the larger of its two counts, the minute's total is the largest of
// the events' total, the counts' total and the known IPs' sum, and whatever
// the known IPs do not explain is reported under IP "".
func (s *Store) SendMinutes(ctx context.Context, provider string, from, to time.Time) ([]MinuteSends, error) {
	if err := s.Refresh(ctx); err != nil {
		return nil, err
	}
	a, b := minuteBounds(from, to)
	ips, err := s.ipNames(ctx)
	if err != nil {
		return nil, err
	}
	type cntRow struct {
		m, n int64
		ip   string
	}
	var cnts []cntRow
	// Two columns, not three: the driver's cost is per column read, and
	// minute and ip id fit one integer (ip ids are small, checked below).
	evQ := `SELECT minute * 1048576 + ip_id, sends FROM event_minutes
		WHERE provider_id = ? AND minute BETWEEN ? AND ? AND sends > 0 ORDER BY minute`
	cntQ := `SELECT minute, ip, sum(sends) FROM minute_counts WHERE provider_id = ? AND minute BETWEEN ? AND ?
		GROUP BY minute, ip ORDER BY minute`
	args := []any{a, b}
	if provider != "" {
		pid, err := s.providerID(ctx, provider)
		if err != nil {
			return nil, wrapDBErr("read send counts", err)
		}
		args = []any{pid, a, b}
	} else {
		evQ = `SELECT minute * 1048576 + ip_id, sum(sends) FROM event_minutes
			WHERE provider_id IN (SELECT id FROM providers) AND minute BETWEEN ? AND ?
			GROUP BY minute, ip_id HAVING sum(sends) > 0 ORDER BY minute`
		cntQ = `SELECT minute, ip, sum(sends) FROM minute_counts WHERE minute BETWEEN ? AND ?
			GROUP BY minute, ip ORDER BY minute`
	}
	// Hundreds of thousands of rows: read them through the driver, not
	// database/sql, whose per-row locking and conversions cost as much as
	// SQLite's own work.
	for id := range ips {
		if id >= 1<<20 {
			return nil, fmt.Errorf("read send counts: ip id %d is too large to pack with the minute", id)
		}
	}
	// Counts first (a warehouse export: usually far fewer rows), then the
	// events streamed past them, both in minute order, one minute at a time.
	err = s.rawRows(ctx, cntQ, args, func(v []driver.Value) error {
		cnts = append(cnts, cntRow{m: asInt(v[0]), ip: asString(v[1]), n: asInt(v[2])})
		return nil
	})
	if err != nil {
		return nil, wrapDBErr("read send counts", err)
	}
	if len(cnts) == 0 && provider != "" {
		return s.eventMinutes(ctx, evQ, args, ips)
	}
	var out []MinuteSends
	if len(cnts) == 0 {
		// Events only: each row is already one minute and IP.
		err = s.rawRows(ctx, evQ, args, func(v []driver.Value) error {
			k := asInt(v[0])
			out = append(out, MinuteSends{Minute: k >> 20, IP: ips[k&(1<<20-1)], Sends: asInt(v[1])})
			return nil
		})
		if err != nil {
			return nil, wrapDBErr("read send counts", err)
		}
		return out, nil
	}
	var r reconciler
	j := 0
	flushCounts := func(before int64) {
		for j < len(cnts) && cnts[j].m < before {
			m := cnts[j].m
			for ; j < len(cnts) && cnts[j].m == m; j++ {
				r.put(m, cnts[j].ip, 1, cnts[j].n, &out)
			}
		}
	}
	err = s.rawRows(ctx, evQ, args, func(v []driver.Value) error {
		k := asInt(v[0])
		m := k >> 20
		if m != r.minute {
			flushCounts(m)
			for ; j < len(cnts) && cnts[j].m == m; j++ {
				r.put(m, cnts[j].ip, 1, cnts[j].n, &out)
			}
		}
		r.put(m, ips[k&(1<<20-1)], 0, asInt(v[1]), &out)
		return nil
	})
	if err != nil {
		return nil, wrapDBErr("read send counts", err)
	}
	flushCounts(1<<63 - 1)
	r.flush(&out)
	return out, nil
}

// eventMinutes reads one provider's event minutes (args: provider id, first
// and last minute) when there are no counts to reconcile: each row is then
// one minute and IP. The range is split into parts read on their own
// connections at once, since SQLite's stepping through the rows is most of
// a warm spikes run and a second core halves it.
func (s *Store) eventMinutes(ctx context.Context, evQ string, args []any, ips map[int64]string) ([]MinuteSends, error) {
	var lo, hi sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT minute FROM event_minutes WHERE provider_id = ?1 AND minute >= ?2 ORDER BY minute LIMIT 1),
		(SELECT minute FROM event_minutes WHERE provider_id = ?1 AND minute <= ?3 ORDER BY minute DESC LIMIT 1)`, args...).Scan(&lo, &hi); err != nil {
		return nil, wrapDBErr("read send counts", err)
	}
	if !lo.Valid || !hi.Valid {
		return nil, nil
	}
	span := hi.Int64 - lo.Int64 + 1
	parts := int64(min(runtime.GOMAXPROCS(0), 4))
	if span < 100_000 {
		parts = 1 // not worth a second connection
	}
	res := make([][]MinuteSends, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for p := range parts {
		a, b := lo.Int64+span*p/parts, lo.Int64+span*(p+1)/parts-1
		wg.Go(func() {
			// Sized from the span (an overestimate's memory is never
			// touched), so a million rows are not copied while growing.
			out := make([]MinuteSends, 0, min((b-a+1)*int64(len(ips)+1), 1<<24))
			errs[p] = s.rawRows(ctx, evQ, []any{args[0], a, b}, func(v []driver.Value) error {
				k := asInt(v[0])
				out = append(out, MinuteSends{Minute: k >> 20, IP: ips[k&(1<<20-1)], Sends: asInt(v[1])})
				return nil
			})
			res[p] = out
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, wrapDBErr("read send counts", err)
	}
	if parts == 1 {
		return res[0], nil
	}
	n := 0
	for _, r := range res {
		n += len(r)
	}
	out := make([]MinuteSends, 0, n)
	for _, r := range res {
		out = append(out, r...)
	}
	return out, nil
}

// reconciler gathers one minute's sends from events (side 0) and counts
// (side 1) per IP and writes the minute out when the next one starts.
type reconciler struct {
	minute int64
	cells  []reconcileCell
}

type reconcileCell struct {
	ip    string
	sends [2]int64
}

func (r *reconciler) put(m int64, ip string, side int, n int64, out *[]MinuteSends) {
	if m != r.minute {
		r.flush(out)
		r.minute = m
	}
	for i := range r.cells {
		if r.cells[i].ip == ip {
			r.cells[i].sends[side] += n
			return
		}
	}
	c := reconcileCell{ip: ip}
	c.sends[side] = n
	r.cells = append(r.cells, c)
}

// flush writes the gathered minute: known IPs in order, then "" for what
// they do not explain, first within the minute.
func (r *reconciler) flush(out *[]MinuteSends) {
	if len(r.cells) == 0 {
		return
	}
	cells := r.cells
	// A few cells a minute: insertion sort, without sort.Slice's allocation.
	for x := 1; x < len(cells); x++ {
		for y := x; y > 0 && cells[y].ip < cells[y-1].ip; y-- {
			cells[y], cells[y-1] = cells[y-1], cells[y]
		}
	}
	var total [2]int64
	var known int64
	for _, c := range cells {
		total[0] += c.sends[0]
		total[1] += c.sends[1]
		if c.ip != "" {
			known += max(c.sends[0], c.sends[1])
		}
	}
	if rest := max(total[0], total[1], known) - known; rest > 0 {
		*out = append(*out, MinuteSends{Minute: r.minute, IP: "", Sends: rest})
	}
	for _, c := range cells {
		if c.ip != "" {
			*out = append(*out, MinuteSends{Minute: r.minute, IP: c.ip, Sends: max(c.sends[0], c.sends[1])})
		}
	}
	r.cells = r.cells[:0]
}

// rawRows runs a query on one connection through the driver and calls fn
// with each row's values (valid only during the call).
func (s *Store) rawRows(ctx context.Context, q string, args []any, fn func([]driver.Value) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		qc, ok := dc.(driver.QueryerContext)
		if !ok {
			return errors.New("the SQLite driver cannot run queries directly")
		}
		nv := make([]driver.NamedValue, len(args))
		for i, a := range args {
			nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
		}
		rows, err := qc.QueryContext(ctx, q, nv)
		if err != nil {
			return err
		}
		defer rows.Close()
		vals := make([]driver.Value, len(rows.Columns()))
		for {
			if err := rows.Next(vals); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			if err := fn(vals); err != nil {
				return err
			}
		}
	})
}

func asInt(v driver.Value) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	}
	return 0
}

func asString(v driver.Value) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}

// ipNames maps ip ids to addresses; 0 (unknown) maps to "".
func (s *Store) ipNames(ctx context.Context) (map[int64]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, ip FROM ips`)
	if err != nil {
		return nil, wrapDBErr("read sending IPs", err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var ip string
		if err := rows.Scan(&id, &ip); err != nil {
			return nil, err
		}
		out[id] = ip
	}
	return out, rows.Err()
}

func minuteBounds(from, to time.Time) (int64, int64) {
	a, b := int64(0), int64(1<<40)
	if !from.IsZero() {
		a = from.Unix() / 60
	}
	if !to.IsZero() {
		b = (to.Unix()-1)/60 + 0
	}
	return a, b
}

// SendTimes returns the times (Unix ms, ascending) of the sends to a provider
// ("" = every provider) in [fromMs, toMs), from one IP ("" = every IP,
// UnknownIP = the sends whose IP is not known).
func (s *Store) SendTimes(ctx context.Context, provider, ip string, fromMs, toMs int64) ([]int64, error) {
	q := `SELECT e.ts FROM events e JOIN sources s ON s.id = e.source_id
		WHERE ` + tsRange("e", "?", "?") + ` AND ` + sendExpr
	args := []any{fromMs, toMs}
	if provider != "" {
		q += ` AND e.provider_id = (SELECT id FROM providers WHERE name = ?)`
		args = append(args, provider)
	}
	switch ip {
	case "":
	case UnknownIP:
		q += ` AND e.ip_id IS NULL`
	default:
		q += ` AND e.ip_id = (SELECT id FROM ips WHERE ip = ?)`
		args = append(args, ip)
	}
	q += ` ORDER BY e.id`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrapDBErr("read send times", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var t int64
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// HasEvents reports whether any events (not only counts) are stored.
func (s *Store) HasEvents(ctx context.Context) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM events LIMIT 1`).Scan(&one)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return err == nil, wrapDBErr("read events", err)
}

// Problem is the first event of one kind on one IP to one provider.
type Problem struct {
	Provider     string
	IP           string
	Time         time.Time
	Type         EventType
	SMTPCode     int
	EnhancedCode string
	Reply        string
	Reason       string // classification stored with the reply, when known
	Count        int64  // events of this kind on this IP in the range
}

// FirstProblems returns, per provider and IP, the first deferral and the
// first permanent block in [from, to). A block is a permanent failure with a
// 5.7.x (security or policy) status or a blocking classification, not an
// ordinary unknown-user bounce.
func (s *Store) FirstProblems(ctx context.Context, provider string, from, to time.Time) ([]Problem, error) {
	a, b := int64(0), int64(1<<62)
	if !from.IsZero() {
		a = from.UnixMilli()
	}
	if !to.IsZero() {
		b = to.UnixMilli()
	}
	q := `WITH firsts AS (
		SELECT e.provider_id, e.ip_id, e.type_id, min(e.ts) AS ts, count(*) AS n
		FROM events e LEFT JOIN reply_groups g ON g.id = e.group_id
		WHERE (e.type_id = 4 OR (e.type_id = 5 AND (e.enhanced BETWEEN 507000 AND 507999
			OR g.reason IN ('blocked', 'badreputation', 'spamdetected', 'policyviolation', 'authfailure', 'requireptr'))))
			AND ` + tsRange("e", "?", "?")
	args := []any{a, b}
	if provider != "" {
		q += ` AND e.provider_id = (SELECT id FROM providers WHERE name = ?)`
		args = append(args, provider)
	}
	q += ` GROUP BY e.provider_id, e.ip_id, e.type_id)
	SELECT p.name, coalesce(i.ip, ''), f.type_id, f.ts, f.n,
		coalesce(e.code, 0), coalesce(CASE WHEN e.enhanced IS NOT NULL THEN printf('%d.%d.%d', e.enhanced / 100000,
		e.enhanced / 1000 % 100, e.enhanced % 1000) END, ''), coalesce(e.reply, ''), coalesce(g.reason, '')
	FROM firsts f
	JOIN providers p ON p.id = f.provider_id
	LEFT JOIN ips i ON i.id = f.ip_id
	JOIN events e ON ` + tsRange("e", "f.ts", "f.ts + 1") + ` AND e.provider_id = f.provider_id AND e.type_id = f.type_id
		AND e.ip_id IS f.ip_id
	LEFT JOIN reply_groups g ON g.id = e.group_id
	GROUP BY f.provider_id, f.ip_id, f.type_id
	ORDER BY f.ts`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrapDBErr("read first deferrals", err)
	}
	defer rows.Close()
	var out []Problem
	for rows.Next() {
		var p Problem
		var typeID, ts int64
		if err := rows.Scan(&p.Provider, &p.IP, &typeID, &ts, &p.Count, &p.SMTPCode, &p.EnhancedCode, &p.Reply, &p.Reason); err != nil {
			return nil, err
		}
		p.Type = EventTypes[typeID-1]
		p.Time = time.UnixMilli(ts).UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

// MinuteOutcomes are one minute's delivery outcomes on one IP to one provider.
type MinuteOutcomes struct {
	Minute    int64
	Provider  string
	IP        string
	Sends     int64
	Attempts  int64
	Delivered int64
	Deferred  int64
	Bounced   int64
}

// Outcomes returns per-minute outcomes in [from, to) for a provider ("" = all).
func (s *Store) Outcomes(ctx context.Context, provider string, from, to time.Time) ([]MinuteOutcomes, error) {
	if err := s.Refresh(ctx); err != nil {
		return nil, err
	}
	a, b := minuteBounds(from, to)
	q := `SELECT m.minute, p.name, coalesce(i.ip, ''), m.sends, m.attempts, m.delivered, m.deferred, m.bounced
		FROM event_minutes m JOIN providers p ON p.id = m.provider_id LEFT JOIN ips i ON i.id = m.ip_id
		WHERE m.minute BETWEEN ? AND ?`
	args := []any{a, b}
	if provider != "" {
		q += ` AND m.provider_id = (SELECT id FROM providers WHERE name = ?)`
		args = append(args, provider)
	} else {
		q += ` AND m.provider_id IN (SELECT id FROM providers)`
	}
	q += ` ORDER BY m.minute`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrapDBErr("read outcomes", err)
	}
	defer rows.Close()
	var out []MinuteOutcomes
	for rows.Next() {
		var o MinuteOutcomes
		if err := rows.Scan(&o.Minute, &o.Provider, &o.IP, &o.Sends, &o.Attempts, &o.Delivered, &o.Deferred, &o.Bounced); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// MessageDelay is one message that was deferred at least once.
type MessageDelay struct {
	Provider  string
	IP        string // IP of the first attempt
	First     time.Time
	Delivered time.Time // zero when never delivered
	Bounced   bool
	Deferrals int64
}

// DeferredMessages returns every message to a provider ("" = all) whose first
// attempt was in [from, to) and that was deferred at least once, with when
// (if ever) it was delivered. Messages are told apart by message id, or by
// recipient when the source has none.
func (s *Store) DeferredMessages(ctx context.Context, provider string, from, to time.Time) ([]MessageDelay, error) {
	a, b := int64(0), int64(1<<62)
	if !from.IsZero() {
		a = from.UnixMilli()
	}
	if !to.IsZero() {
		b = to.UnixMilli()
	}
	q := `SELECT p.name, coalesce(i.ip, ''), m.first, m.delivered, m.bounced, m.deferrals FROM (
		SELECT e.provider_id, min(e.ip_id) AS ip_id, min(e.ts) AS first,
			max(CASE WHEN e.type_id = 3 THEN e.ts END) AS delivered, max(e.type_id = 5) AS bounced,
			sum(e.type_id = 4) AS deferrals
		FROM events e
		WHERE e.type_id IN (3, 4, 5) AND ` + tsRange("e", "?", maxTSExpr)
	args := []any{a}
	if provider != "" {
		q += ` AND e.provider_id = (SELECT id FROM providers WHERE name = ?)`
		args = append(args, provider)
	}
	q += ` GROUP BY e.provider_id, coalesce(e.message_id, e.recipient)
		HAVING sum(e.type_id = 4) > 0 AND min(e.ts) < ?) m
		JOIN providers p ON p.id = m.provider_id LEFT JOIN ips i ON i.id = m.ip_id`
	args = append(args, b)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrapDBErr("read deferred messages", err)
	}
	defer rows.Close()
	var out []MessageDelay
	for rows.Next() {
		var m MessageDelay
		var first int64
		var delivered sql.NullInt64
		if err := rows.Scan(&m.Provider, &m.IP, &first, &delivered, &m.Bounced, &m.Deferrals); err != nil {
			return nil, err
		}
		m.First = time.UnixMilli(first).UTC()
		if delivered.Valid {
			m.Delivered = time.UnixMilli(delivered.Int64).UTC()
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// SendEvent is one send: when, from which IP, and its mail class.
type SendEvent struct {
	Ms    int64
	IP    string
	Class string
}

// Sends returns every send to a provider ("" = all) in [from, to), in time order.
func (s *Store) Sends(ctx context.Context, provider string, from, to time.Time) ([]SendEvent, error) {
	a, b := int64(0), int64(1<<62)
	if !from.IsZero() {
		a = from.UnixMilli()
	}
	if !to.IsZero() {
		b = to.UnixMilli()
	}
	q := `SELECT e.ts, coalesce(i.ip, ''), coalesce(c.word, '') FROM events e JOIN sources s ON s.id = e.source_id
		LEFT JOIN ips i ON i.id = e.ip_id LEFT JOIN words c ON c.id = e.class_id
		WHERE ` + tsRange("e", "?", "?") + ` AND ` + sendExpr
	args := []any{a, b}
	if provider != "" {
		q += ` AND e.provider_id = (SELECT id FROM providers WHERE name = ?)`
		args = append(args, provider)
	}
	q += ` ORDER BY e.id`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrapDBErr("read sends", err)
	}
	defer rows.Close()
	var out []SendEvent
	for rows.Next() {
		var e SendEvent
		if err := rows.Scan(&e.Ms, &e.IP, &e.Class); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

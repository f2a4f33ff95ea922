package ingest

import (
	"context"
	"database/sql"
	"time"
)

// Overview is what the database holds.
type Overview struct {
	Path       string          `json:"database"`
	Schema     int             `json:"schema_version"`
	Events     int64           `json:"events"`
	First      *time.Time      `json:"first,omitempty"`
	Last       *time.Time      `json:"last,omitempty"`
	ByProvider []ProviderTypes `json:"by_provider"`
	IPs        []IPCount       `json:"sending_ips"`
	Runs       []RunInfo       `json:"runs"`
	Rejects    int64           `json:"rejects"`
	SNDS       []SNDSDay       `json:"snds"`
	Blocks     []SNDSBlockInfo `json:"snds_blocks"`
	Counts     []CountsInfo    `json:"minute_counts"`
}

// SNDSDay is one IP's SNDS data for one activity period.
type SNDSDay struct {
	IP            string    `json:"ip"`
	Start         time.Time `json:"activity_start"`
	End           time.Time `json:"activity_end"`
	RCPT          int64     `json:"rcpt_commands"`
	DATA          int64     `json:"data_commands"`
	Recipients    int64     `json:"recipients"`
	Filter        string    `json:"filter_result"`
	ComplaintRate string    `json:"complaint_rate"`
	TrapHits      int64     `json:"trap_hits"`
	Comments      string    `json:"comments,omitempty"`
}

// SNDSBlockInfo is a blocked range from SNDS IP Status.
type SNDSBlockInfo struct {
	FirstIP string `json:"first_ip"`
	LastIP  string `json:"last_ip"`
	Reason  string `json:"reason"`
}

// CountsInfo summarises pre-aggregated counts per provider and IP.
type CountsInfo struct {
	Provider string    `json:"provider"`
	IP       string    `json:"ip,omitempty"`
	Minutes  int64     `json:"minutes"`
	Sends    int64     `json:"sends"`
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
}

// ProviderTypes counts one provider's events by type.
type ProviderTypes struct {
	Provider string              `json:"provider"`
	Total    int64               `json:"total"`
	ByType   map[EventType]int64 `json:"by_type"`
}

// IPCount is one sending IP's events.
type IPCount struct {
	IP     string     `json:"ip"`
	Events int64      `json:"events"`
	First  *time.Time `json:"first,omitempty"`
	Last   *time.Time `json:"last,omitempty"`
}

// RunInfo is one ingest run as recorded.
type RunInfo struct {
	ID         int64      `json:"id"`
	Status     string     `json:"status"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Sources    string     `json:"sources"`
	Formats    string     `json:"formats"`
	Read       int64      `json:"read"`
	Stored     int64      `json:"stored"`
	Duplicates int64      `json:"duplicates"`
	Rejected   int64      `json:"rejected"`
	Error      string     `json:"error,omitempty"`
}

// Overview summarises the database. It marks runs of dead processes as
// interrupted first, so what it shows is true.
func (s *Store) Overview(ctx context.Context) (*Overview, error) {
	if err := s.markStaleRuns(ctx); err != nil {
		return nil, err
	}
	o := &Overview{Path: s.path}
	var err error
	if o.Schema, err = s.SchemaVersion(ctx); err != nil {
		return nil, wrapDBErr("read schema version", err)
	}
	var first, last sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT count(*), min(id) >> 20, max(id) >> 20 FROM events`).Scan(&o.Events, &first, &last); err != nil {
		return nil, wrapDBErr("count events", err)
	}
	o.First, o.Last = nullMS(first), nullMS(last)
	rows, err := s.db.QueryContext(ctx, `SELECT p.name, t.name, e.n FROM (SELECT provider_id, type_id, count(*) n FROM events GROUP BY provider_id, type_id) e
		JOIN providers p ON p.id = e.provider_id JOIN event_types t ON t.id = e.type_id`)
	if err != nil {
		return nil, wrapDBErr("count events by provider", err)
	}
	idx := map[string]int{}
	for rows.Next() {
		var p, t string
		var n int64
		if err := rows.Scan(&p, &t, &n); err != nil {
			rows.Close()
			return nil, err
		}
		i, ok := idx[p]
		if !ok {
			i = len(o.ByProvider)
			idx[p] = i
			o.ByProvider = append(o.ByProvider, ProviderTypes{Provider: p, ByType: map[EventType]int64{}})
		}
		o.ByProvider[i].ByType[EventType(t)] += n
		o.ByProvider[i].Total += n
	}
	rows.Close()
	sortProviderTypes(o.ByProvider)
	rows, err = s.db.QueryContext(ctx, `SELECT i.ip, count(*), min(e.ts), max(e.ts) FROM events e JOIN ips i ON i.id = e.ip_id
		GROUP BY i.ip ORDER BY count(*) DESC, i.ip`)
	if err != nil {
		return nil, wrapDBErr("count sending IPs", err)
	}
	for rows.Next() {
		var c IPCount
		var f, l sql.NullInt64
		if err := rows.Scan(&c.IP, &c.Events, &f, &l); err != nil {
			rows.Close()
			return nil, err
		}
		c.First, c.Last = nullMS(f), nullMS(l)
		o.IPs = append(o.IPs, c)
	}
	rows.Close()
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM rejects`).Scan(&o.Rejects); err != nil {
		return nil, wrapDBErr("count rejects", err)
	}
	if err := s.overviewTables(ctx, o); err != nil {
		return nil, err
	}
	if o.Runs, err = s.Runs(ctx); err != nil {
		return nil, err
	}
	return o, nil
}

// Runs lists the ingest runs in order.
func (s *Store) Runs(ctx context.Context) ([]RunInfo, error) {
	var out []RunInfo
	rows, err := s.db.QueryContext(ctx, `SELECT r.id, r.status, r.started_at, r.finished_at, r.records_read, r.stored,
		r.duplicates, r.rejected, coalesce(r.error, ''),
		coalesce((SELECT group_concat(name, ', ') FROM sources WHERE run_id = r.id), ''),
		coalesce((SELECT group_concat(DISTINCT format) FROM sources WHERE run_id = r.id), '')
		FROM ingest_runs r ORDER BY r.id`)
	if err != nil {
		return nil, wrapDBErr("list runs", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r RunInfo
		var started int64
		var finished sql.NullInt64
		if err := rows.Scan(&r.ID, &r.Status, &started, &finished, &r.Read, &r.Stored, &r.Duplicates, &r.Rejected,
			&r.Error, &r.Sources, &r.Formats); err != nil {
			return nil, err
		}
		r.StartedAt = time.UnixMilli(started).UTC()
		r.FinishedAt = nullMS(finished)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Extent is how many events there are, their time range and the sending
// IPs: what investigate needs, without summary's full scans.
type Extent struct {
	Events      int64
	First, Last *time.Time
	IPs         []string
}

// Extent reads the events' count and range (the range from the primary
// key's ends) and the IPs that sent them.
func (s *Store) Extent(ctx context.Context) (*Extent, error) {
	if err := s.Refresh(ctx); err != nil {
		return nil, err
	}
	e := &Extent{}
	var first, last sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM events),
		(SELECT id >> 20 FROM events ORDER BY id LIMIT 1), (SELECT id >> 20 FROM events ORDER BY id DESC LIMIT 1)`).Scan(&e.Events, &first, &last); err != nil {
		return nil, wrapDBErr("count events", err)
	}
	e.First, e.Last = nullMS(first), nullMS(last)
	rows, err := s.db.QueryContext(ctx, `SELECT i.ip FROM ips i WHERE i.id IN (SELECT DISTINCT ip_id FROM event_minutes) ORDER BY i.ip`)
	if err != nil {
		return nil, wrapDBErr("read sending IPs", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ip string
		if err := rows.Scan(&ip); err != nil {
			return nil, err
		}
		e.IPs = append(e.IPs, ip)
	}
	return e, rows.Err()
}

func nullMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMilli(v.Int64).UTC()
	return &t
}

func sortProviderTypes(ps []ProviderTypes) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].Total > ps[j-1].Total; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

func (s *Store) overviewTables(ctx context.Context, o *Overview) error {
	rows, err := s.db.QueryContext(ctx, `SELECT ip, activity_start, activity_end, rcpt_commands, data_commands, recipients,
		filter_result, complaint_rate, trap_hits, comments FROM snds_data ORDER BY activity_start, ip`)
	if err != nil {
		return wrapDBErr("read SNDS data", err)
	}
	for rows.Next() {
		var d SNDSDay
		var start, end int64
		if err := rows.Scan(&d.IP, &start, &end, &d.RCPT, &d.DATA, &d.Recipients, &d.Filter, &d.ComplaintRate, &d.TrapHits, &d.Comments); err != nil {
			rows.Close()
			return err
		}
		d.Start, d.End = time.UnixMilli(start).UTC(), time.UnixMilli(end).UTC()
		o.SNDS = append(o.SNDS, d)
	}
	rows.Close()
	rows, err = s.db.QueryContext(ctx, `SELECT first_ip, last_ip, reason FROM snds_blocks ORDER BY first_ip`)
	if err != nil {
		return wrapDBErr("read SNDS blocks", err)
	}
	for rows.Next() {
		var b SNDSBlockInfo
		if err := rows.Scan(&b.FirstIP, &b.LastIP, &b.Reason); err != nil {
			rows.Close()
			return err
		}
		o.Blocks = append(o.Blocks, b)
	}
	rows.Close()
	rows, err = s.db.QueryContext(ctx, `SELECT p.name, c.ip, count(*), sum(c.sends), min(c.minute), max(c.minute)
		FROM minute_counts c JOIN providers p ON p.id = c.provider_id GROUP BY p.name, c.ip ORDER BY p.name, c.ip`)
	if err != nil {
		return wrapDBErr("read minute counts", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c CountsInfo
		var first, last int64
		if err := rows.Scan(&c.Provider, &c.IP, &c.Minutes, &c.Sends, &first, &last); err != nil {
			return err
		}
		c.First, c.Last = time.Unix(first*60, 0).UTC(), time.Unix(last*60, 0).UTC()
		o.Counts = append(o.Counts, c)
	}
	return rows.Err()
}

// HasSource reports whether a finished run read an input of this name.
func (s *Store) HasSource(ctx context.Context, name string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM sources so JOIN ingest_runs r ON r.id = so.run_id
		WHERE so.name = ? AND r.status = 'finished'`, name).Scan(&n)
	return n > 0, wrapDBErr("read sources", err)
}

package ingest

import (
	"cmp"
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// rowsPerInsert is how many events one INSERT statement carries. Binding is
// the writer's main cost; multi-row statements amortise the per-statement work.
const rowsPerInsert = 256

const eventColumns = "id, dkey, provider_id, type_id, recipient, ip_id, code, enhanced, reply, group_id, message_id, attempt, word_id, class_id, source_id, line"
const eventColumnCount = 16

// commitEvery bounds a transaction by records and by time, so a run commits
// large transactions yet lets a second writer in regularly.
const (
	commitEvery    = 200_000
	commitInterval = 2 * time.Second
)

// writer owns one connection and the run's transactions. Counts are updated in
// the same transaction as the rows they count, so a killed process leaves a
// database whose counts match its rows.
type writer struct {
	s     *Store
	conn  *rawConn
	opts  Options
	runID int64
	free  chan *batch

	inTx    bool
	txStart time.Time
	pending int
	ckpt    *checkpointer

	insN, ins1               *rawStmt // events, rowsPerInsert rows and one row
	keysAt, keyAt            *rawStmt // the dedupe keys at rowsPerInsert ids, at one id
	keyByID                  map[int64]int64
	minN, min1               *rawStmt // minute totals
	ids                      []rowIDs
	insertReject             *rawStmt
	upSNDS, upBlock, upCount *rawStmt

	// kind is how the current source's sends are counted, decided from its
	// first batch; txMinutes are the transaction's per-minute totals,
	// written just before it commits.
	kind                                        string
	txMinutes                                   map[minuteKey]minuteVal
	minuteRows                                  []minuteRow
	upDomain, upIP, upGroup, upWord, upProvider *rawStmt

	domains map[string]int64
	provIDs map[string]int64
	ips     map[string]int64
	groups  map[string]int64
	words   map[string]int64

	// the current source and its uncommitted deltas
	srcID             int64
	srcName           string
	src               counts
	delta             counts
	srcFirst, srcLast int64
	run               counts
	runFirst, runLast int64
	providers         map[string]int64
	reasons           map[string]*ReasonCount
	reasonOrder       []string
	firstRejects      []RejectSample
}

type counts struct{ read, stored, dup, rej, zone int64 }

func (c *counts) add(o counts) {
	c.read += o.read
	c.stored += o.stored
	c.dup += o.dup
	c.rej += o.rej
	c.zone += o.zone
}

func newWriter(ctx context.Context, s *Store, opts Options) (*writer, error) {
	conn, err := openRaw(s.path, int(BusyTimeout/time.Millisecond), writerPragmas...)
	if err != nil {
		return nil, wrapDBErr("connect to database", err)
	}
	w := &writer{s: s, conn: conn, opts: opts, free: make(chan *batch, 8),
		domains: map[string]int64{}, provIDs: map[string]int64{}, ips: map[string]int64{}, groups: map[string]int64{}, words: map[string]int64{},
		providers: map[string]int64{}, reasons: map[string]*ReasonCount{}}
	host, _ := os.Hostname()
	if _, err := conn.exec(`INSERT INTO ingest_runs (started_at, status, pid, host, args, tz) VALUES (?, 'running', ?, ?, ?, ?)`,
		opts.Now().UnixMilli(), os.Getpid(), host, opts.Args, opts.TZ.String()); err != nil {
		conn.close()
		return nil, wrapDBErr("start ingest run", err)
	}
	w.runID = conn.lastInsertID()
	if err := w.prepare(); err != nil {
		conn.close()
		return nil, wrapDBErr("prepare statements", err)
	}
	if w.ckpt = startCheckpointer(s.path); w.ckpt != nil {
		if _, err := conn.exec("PRAGMA wal_autocheckpoint = 0"); err != nil {
			w.close()
			return nil, wrapDBErr("configure checkpoints", err)
		}
	}
	return w, nil
}

// writerPragmas are the Store's connection settings that matter to a writer.
var writerPragmas = []string{"synchronous = NORMAL", "cache_size = " + strconv.Itoa(-cacheSizeKiB), "temp_store = MEMORY"}

func (w *writer) prepare() error {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", eventColumnCount), ",") + ")"
	insertN := "INSERT OR IGNORE INTO events (" + eventColumns + ") VALUES " + strings.TrimSuffix(strings.Repeat(one+",", rowsPerInsert), ",")
	insert1 := "INSERT OR IGNORE INTO events (" + eventColumns + ") VALUES " + one
	stmts := []struct {
		dst **rawStmt
		q   string
	}{
		{&w.insN, insertN},
		{&w.ins1, insert1},
		{&w.keysAt, "SELECT id, dkey FROM events WHERE id IN (" + strings.TrimSuffix(strings.Repeat("?,", rowsPerInsert), ",") + ")"},
		{&w.keyAt, "SELECT dkey FROM events WHERE id = ?"},
		{&w.minN, upsertMinutes(minutesPerUpsert)},
		{&w.min1, upsertMinutes(1)},
		{&w.insertReject, `INSERT INTO rejects (run_id, source_id, line, raw, reason) VALUES (?, ?, ?, ?, ?)`},
		{&w.upDomain, `INSERT INTO domains (domain, provider) VALUES (?, ?)
			ON CONFLICT (domain) DO UPDATE SET provider = excluded.provider RETURNING id`},
		{&w.upProvider, `INSERT INTO providers (name) VALUES (?) ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id`},
		{&w.upIP, `INSERT INTO ips (ip) VALUES (?) ON CONFLICT (ip) DO UPDATE SET ip = excluded.ip RETURNING id`},
		{&w.upGroup, `INSERT INTO reply_groups (key, code, enhanced_code, sample, reason, temporary, rule_id, classified_with)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET key = excluded.key RETURNING id`},
		{&w.upWord, `INSERT INTO words (word) VALUES (?) ON CONFLICT (word) DO UPDATE SET word = excluded.word RETURNING id`},
		// A re-read identical row changes nothing (a duplicate); a corrected
		// one (a later export of the same day or minute) replaces it.
		{&w.upSNDS, `INSERT INTO snds_data (ip, activity_start, activity_end, rcpt_commands, data_commands, recipients,
			filter_result, complaint_rate, complaint_pct, trap_start, trap_end, trap_hits, sample_helo, sample_mail_from,
			comments, source_id, line) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (ip, activity_start) DO UPDATE SET activity_end = excluded.activity_end,
			rcpt_commands = excluded.rcpt_commands, data_commands = excluded.data_commands, recipients = excluded.recipients,
			filter_result = excluded.filter_result, complaint_rate = excluded.complaint_rate,
			complaint_pct = excluded.complaint_pct, trap_start = excluded.trap_start, trap_end = excluded.trap_end,
			trap_hits = excluded.trap_hits, sample_helo = excluded.sample_helo, sample_mail_from = excluded.sample_mail_from,
			comments = excluded.comments, source_id = excluded.source_id, line = excluded.line
			WHERE (activity_end, rcpt_commands, data_commands, recipients, filter_result, complaint_rate, trap_hits, comments)
			IS NOT (excluded.activity_end, excluded.rcpt_commands, excluded.data_commands, excluded.recipients,
			excluded.filter_result, excluded.complaint_rate, excluded.trap_hits, excluded.comments)`},
		{&w.upBlock, `INSERT OR IGNORE INTO snds_blocks (first_ip, last_ip, blocked, reason, source_id, line) VALUES (?, ?, ?, ?, ?, ?)`},
		{&w.upCount, `INSERT INTO minute_counts (minute, provider_id, domain, ip, sends, source_id, line) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (minute, provider_id, domain, ip) DO UPDATE SET sends = excluded.sends,
			source_id = excluded.source_id, line = excluded.line WHERE sends != excluded.sends`},
	}
	for _, st := range stmts {
		p, err := w.conn.cached(st.q)
		if err != nil {
			return err
		}
		*st.dst = p
	}
	return nil
}

func (w *writer) close() {
	w.ckpt.stop()
	if w.inTx {
		w.conn.exec("ROLLBACK")
	}
	w.conn.close()
}

// begin starts a transaction unless one is open. A bulk transaction (one
// that stores a batch, so certainly writes) is where the log may restart:
// see checkpointer.
func (w *writer) begin(ctx context.Context, bulk bool) error {
	if w.inTx {
		return nil
	}
	if bulk {
		w.ckpt.beforeBegin()
	}
	if _, err := w.conn.exec("BEGIN IMMEDIATE"); err != nil {
		return wrapDBErr("begin transaction", err)
	}
	w.inTx, w.txStart, w.pending = true, time.Now(), 0
	return nil
}

// commit writes the pending counts and commits. Interned ids stay valid
// because they were committed with the rows that use them.
func (w *writer) commit(ctx context.Context) error {
	if !w.inTx {
		return nil
	}
	if err := w.flushMinutes(ctx); err != nil {
		return err
	}
	d := w.delta
	if _, err := w.conn.exec(`UPDATE sources SET records_read = records_read + ?, stored = stored + ?,
		duplicates = duplicates + ?, rejected = rejected + ?, zoneless = zoneless + ?,
		first_ts = min(coalesce(first_ts, ?), ?), last_ts = max(coalesce(last_ts, ?), ?) WHERE id = ?`,
		d.read, d.stored, d.dup, d.rej, d.zone, nullTS(w.srcFirst), nullTS(w.srcFirst), nullTS(w.srcLast), nullTS(w.srcLast), w.srcID); err != nil {
		return w.fail(ctx, "update source counts", err)
	}
	if _, err := w.conn.exec(`UPDATE ingest_runs SET records_read = records_read + ?, stored = stored + ?,
		duplicates = duplicates + ?, rejected = rejected + ? WHERE id = ?`,
		d.read, d.stored, d.dup, d.rej, w.runID); err != nil {
		return w.fail(ctx, "update run counts", err)
	}
	if _, err := w.conn.exec("COMMIT"); err != nil {
		return w.fail(ctx, "commit", err)
	}
	w.inTx = false
	w.ckpt.committed()
	w.src.add(d)
	w.run.add(d)
	w.delta = counts{}
	return nil
}

func nullTS(ms int64) any {
	if ms == 0 {
		return nil
	}
	return ms
}

// fail rolls back and forgets interned ids that may have been rolled back too.
func (w *writer) fail(ctx context.Context, what string, err error) error {
	if w.inTx {
		w.conn.exec("ROLLBACK")
		w.inTx = false
	}
	w.domains, w.provIDs, w.ips, w.groups, w.words = map[string]int64{}, map[string]int64{}, map[string]int64{}, map[string]int64{}, map[string]int64{}
	w.delta = counts{}
	clear(w.txMinutes)
	return wrapDBErr(what, err)
}

func (w *writer) beginSource(ctx context.Context, src *SourceSummary) error {
	if _, err := w.conn.exec(`INSERT INTO sources (run_id, name, format, detected) VALUES (?, ?, ?, ?)`,
		w.runID, src.Name, src.Format, src.Detected); err != nil {
		return wrapDBErr("record input", err)
	}
	w.srcID = w.conn.lastInsertID()
	w.srcName = src.Name
	w.kind = ""
	w.src, w.delta = counts{}, counts{}
	w.srcFirst, w.srcLast = 0, 0
	return nil
}

func (w *writer) write(ctx context.Context, b *batch) error {
	if err := w.begin(ctx, true); err != nil {
		return err
	}
	w.delta.zone += b.zoneless
	for _, r := range b.rejects {
		if _, err := w.insertReject.run(w.runID, w.srcID, r.line, r.raw, r.reason); err != nil {
			return w.fail(ctx, "store reject", err)
		}
		w.delta.read++
		w.delta.rej++
		w.noteReject(r)
	}
	if err := w.writeTables(ctx, b); err != nil {
		return err
	}
	// Resolve every interned id first: the raw insert below holds the
	// connection, so no other statement may run inside it.
	if cap(w.ids) < len(b.events) {
		w.ids = make([]rowIDs, len(b.events))
	}
	w.ids = w.ids[:len(b.events)]
	if len(b.events) > 0 {
		w.seen(b.first)
		w.seen(b.last)
	}
	for k, v := range b.minutes {
		w.providers[k.provider] += v.events
	}
	for d, p := range b.domains {
		if _, err := w.domainID(ctx, d, p); err != nil {
			return err
		}
	}
	for i := range b.events {
		if err := w.resolve(ctx, &b.events[i], &w.ids[i]); err != nil {
			return err
		}
	}
	if err := w.decideKind(ctx, b.events); err != nil {
		return err
	}
	var stored int64
	evs, ids := b.events, w.ids
	for len(evs) > 0 {
		n := min(len(evs), rowsPerInsert)
		stmt := w.insN
		if n < rowsPerInsert {
			stmt, n = w.ins1, 1
		}
		var size int64
		for i := 0; i < n; i++ {
			e := &evs[i]
			w.fillRow(stmt, i*eventColumnCount, e, &ids[i], eventID(e.Time.UnixMilli(), e.Key))
			size += int64(len(e.Recipient) + len(e.Reply) + len(e.MessageID) + 40)
		}
		w.ckpt.stored(size)
		k, err := stmt.exec()
		if err == nil && k < int64(n) {
			k, err = w.settle(evs[:n], ids[:n], k)
		}
		if err != nil {
			return w.fail(ctx, "store events", err)
		}
		stored += k
		evs, ids = evs[n:], ids[n:]
	}
	n := int64(len(b.events))
	if err := w.addMinutes(ctx, b.minutes, stored, n); err != nil {
		return err
	}
	w.delta.read += n
	w.delta.stored += stored
	w.delta.dup += n - stored
	w.pending += len(b.events) + len(b.rejects) + len(b.snds) + len(b.blocks) + len(b.counts)
	if w.pending >= commitEvery || time.Since(w.txStart) >= commitInterval {
		return w.commit(ctx)
	}
	return nil
}

// writeTables stores the rows of formats that are not events.
func (w *writer) writeTables(ctx context.Context, b *batch) error {
	exec := func(st *rawStmt, what string, args ...any) error {
		n, err := st.run(args...)
		if err != nil {
			return w.fail(ctx, what, err)
		}
		w.delta.read++
		w.delta.stored += n
		w.delta.dup += 1 - n
		return nil
	}
	for i := range b.snds {
		r := &b.snds[i]
		w.seen(r.Start.UnixMilli())
		var pct any
		if r.ComplaintPct >= 0 {
			pct = r.ComplaintPct
		}
		if err := exec(w.upSNDS, "store SNDS row", r.IP, r.Start.UnixMilli(), r.End.UnixMilli(), r.RCPT, r.DATA, r.Recipients,
			r.Filter, r.ComplaintRate, pct, nullTime(r.TrapStart), nullTime(r.TrapEnd), r.TrapHits, r.HELO, r.MailFrom,
			r.Comment, w.srcID, r.Line); err != nil {
			return err
		}
	}
	for i := range b.blocks {
		r := &b.blocks[i]
		if err := exec(w.upBlock, "store SNDS block", r.FirstIP, r.LastIP, r.Blocked, r.Reason, w.srcID, r.Line); err != nil {
			return err
		}
	}
	for i := range b.counts {
		r := &b.counts[i]
		w.seen(r.Minute.UnixMilli())
		pid, err := w.intern(ctx, w.provIDs, w.upProvider, r.Provider, "intern provider")
		if err != nil {
			return err
		}
		if err := exec(w.upCount, "store count", r.Minute.Unix()/60, pid, r.Domain, r.IP, r.Sends, w.srcID, r.Line); err != nil {
			return err
		}
	}
	return nil
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// seen widens the time ranges of the source and the run.
func (w *writer) seen(ms int64) {
	if w.srcFirst == 0 || ms < w.srcFirst {
		w.srcFirst = ms
	}
	if ms > w.srcLast {
		w.srcLast = ms
	}
	if w.runFirst == 0 || ms < w.runFirst {
		w.runFirst = ms
	}
	if ms > w.runLast {
		w.runLast = ms
	}
}

// rowIDs are one event's interned references; 0 stores NULL.
type rowIDs struct {
	provider, ip, group, word, class int64
}

func (w *writer) resolve(ctx context.Context, e *Event, ids *rowIDs) error {
	var err error
	*ids = rowIDs{}
	if ids.provider, err = w.intern(ctx, w.provIDs, w.upProvider, e.Provider, "intern provider"); err != nil {
		return err
	}
	if e.SendingIP != "" {
		if ids.ip, err = w.intern(ctx, w.ips, w.upIP, e.SendingIP, "intern ip"); err != nil {
			return err
		}
	}
	if e.GroupKey != "" {
		if ids.group, err = w.groupID(ctx, e); err != nil {
			return err
		}
	}
	if e.Word != "" {
		if ids.word, err = w.intern(ctx, w.words, w.upWord, e.Word, "intern word"); err != nil {
			return err
		}
	}
	if e.Class != "" {
		if ids.class, err = w.intern(ctx, w.words, w.upWord, e.Class, "intern class"); err != nil {
			return err
		}
	}
	return nil
}

// settle finds, among events an insert left out (stored of them went in),
// those left out because another event held their slot, not because they
// were already stored, and stores each in the next free slot of its
// millisecond. It returns how many of evs are now stored by this insert.
func (w *writer) settle(evs []Event, ids []rowIDs, stored int64) (int64, error) {
	if w.keyByID == nil {
		w.keyByID = map[int64]int64{}
	}
	clear(w.keyByID)
	for i := 0; i < rowsPerInsert; i++ {
		if i < len(evs) {
			w.keysAt.int(i+1, eventID(evs[i].Time.UnixMilli(), evs[i].Key))
		} else {
			w.keysAt.null(i + 1)
		}
	}
	if err := w.keysAt.query(func() { w.keyByID[w.keysAt.col(0)] = w.keysAt.col(1) }); err != nil {
		return 0, err
	}
	for i := range evs {
		e := &evs[i]
		id := eventID(e.Time.UnixMilli(), e.Key)
		if k, ok := w.keyByID[id]; ok && k == int64(e.Key) {
			continue // stored now or before
		}
		for {
			id = nextSlot(id)
			w.fillRow(w.ins1, 0, e, &ids[i], id)
			n, err := w.ins1.exec()
			if err != nil {
				return 0, err
			}
			if n == 1 {
				stored++
				break
			}
			w.keyAt.int(1, id)
			k, err := w.keyAt.queryInt()
			if err != nil {
				return 0, err
			}
			if k == int64(e.Key) {
				break // stored before, in this slot
			}
		}
	}
	return stored, nil
}

// fillRow binds one row's values in eventColumns order, from parameter at+1,
// for row id. Zero ids and codes and empty strings are stored as NULL.
func (w *writer) fillRow(st *rawStmt, at int, e *Event, ids *rowIDs, id int64) {
	st.int(at+1, id)
	st.int(at+2, int64(e.Key))
	st.int(at+3, ids.provider)
	st.int(at+4, e.Type.ID())
	st.text(at+5, e.Recipient)
	bindID(st, at+6, ids.ip)
	bindID(st, at+7, int64(e.SMTPCode))
	if enh, ok := enhancedInt(e.EnhancedCode); ok {
		st.int(at+8, enh)
	} else {
		st.null(at + 8)
	}
	bindText(st, at+9, e.Reply)
	bindID(st, at+10, ids.group)
	bindText(st, at+11, e.MessageID)
	bindID(st, at+12, int64(e.Attempt))
	bindID(st, at+13, ids.word)
	bindID(st, at+14, ids.class)
	st.int(at+15, w.srcID)
	st.int(at+16, e.Line)
}

func bindID(st *rawStmt, i int, id int64) {
	if id == 0 {
		st.null(i)
	} else {
		st.int(i, id)
	}
}

func bindText(st *rawStmt, i int, s string) {
	if s == "" {
		st.null(i)
	} else {
		st.text(i, s)
	}
}

func (w *writer) intern(ctx context.Context, cache map[string]int64, st *rawStmt, v, what string) (int64, error) {
	if id, ok := cache[v]; ok {
		return id, nil
	}
	st.text(1, v)
	id, err := st.queryInt()
	if err != nil {
		return 0, w.fail(ctx, what, err)
	}
	cache[v] = id
	return id, nil
}

func (w *writer) domainID(ctx context.Context, domain, provider string) (int64, error) {
	if id, ok := w.domains[domain]; ok {
		return id, nil
	}
	w.upDomain.text(1, domain)
	w.upDomain.text(2, provider)
	id, err := w.upDomain.queryInt()
	if err != nil {
		return 0, w.fail(ctx, "intern domain", err)
	}
	w.domains[domain] = id
	return id, nil
}

func (w *writer) groupID(ctx context.Context, e *Event) (int64, error) {
	if id, ok := w.groups[e.GroupKey]; ok {
		return id, nil
	}
	var reason, rule, version, temporary any
	if w.opts.Classify != nil {
		c := w.opts.Classify(e.Reply, e.SMTPCode, e.EnhancedCode)
		reason, rule, version, temporary = c.Reason, c.RuleID, w.opts.ClassifyVersion, c.Temporary
	}
	err := w.upGroup.bind(e.GroupKey, e.SMTPCode, e.EnhancedCode, clip(e.Reply, maxRejectRaw), reason, temporary, rule, version)
	var id int64
	if err == nil {
		id, err = w.upGroup.queryInt()
	}
	if err != nil {
		return 0, w.fail(ctx, "intern reply group", err)
	}
	w.groups[e.GroupKey] = id
	return id, nil
}

func (w *writer) noteReject(r rejectRec) {
	if len(w.firstRejects) < 5 {
		w.firstRejects = append(w.firstRejects, RejectSample{Source: w.srcName, Line: r.line, Reason: r.reason})
	}
	key := w.srcName + "\x00" + r.reason
	if rc, ok := w.reasons[key]; ok {
		rc.Count++
		return
	}
	if len(w.reasons) >= 1000 {
		key = w.srcName + "\x00(other reasons)"
		if rc, ok := w.reasons[key]; ok {
			rc.Count++
			return
		}
		r.reason = "(other reasons)"
	}
	w.reasons[key] = &ReasonCount{Reason: r.reason, Count: 1, FirstLine: r.line, Source: w.srcName}
	w.reasonOrder = append(w.reasonOrder, key)
}

// finish closes the run row. It runs even when the run's context was cancelled.
func (w *writer) finish(ctx context.Context, status, errText string) error {
	if err := w.commit(ctx); err != nil {
		return err
	}
	var e any
	if errText != "" {
		e = errText
	}
	if _, err := w.conn.exec(`UPDATE ingest_runs SET status = ?, finished_at = ?, error = ? WHERE id = ?`,
		status, w.opts.Now().UnixMilli(), e, w.runID); err != nil {
		return wrapDBErr("finish ingest run", err)
	}
	return nil
}

// endSource checks the send kind guessed from the source's first batch
// against the whole source: when they differ (outcomes came only later), the
// source's minutes are refreshed from its events with the right kind.
func (w *writer) endSource(ctx context.Context) error {
	if w.srcFirst == 0 && w.srcLast == 0 {
		return nil
	}
	if err := w.begin(ctx, false); err != nil {
		return err
	}
	kind, err := w.conn.queryText(`SELECT CASE WHEN EXISTS (
			SELECT 1 FROM events e WHERE e.source_id = ?1 AND e.type_id IN (3, 4, 5) AND `+tsRange("e", "?2", "?3 + 1")+`)
			THEN 'first-attempt' ELSE 'explicit' END`, w.srcID, w.srcFirst, w.srcLast)
	if err != nil {
		return w.fail(ctx, "check send kind", err)
	}
	if kind != w.kind {
		if _, err := w.conn.exec(`UPDATE sources SET send_kind = ? WHERE id = ?`, kind, w.srcID); err != nil {
			return w.fail(ctx, "record send kind", err)
		}
		if w.kind != "" {
			if _, err := w.conn.exec(`INSERT INTO dirty_ranges (first_minute, last_minute) VALUES (?, ?)`,
				w.srcFirst/60000, w.srcLast/60000); err != nil {
				return w.fail(ctx, "record refresh range", err)
			}
		}
		w.kind = kind
	}
	return w.commit(ctx)
}

// minuteKey and minuteVal are one row of event_minutes.
type minuteKey struct{ minute, provider, ip int64 }

type minuteVal struct{ sends, attempts, delivered, deferred, bounced, dropped, complaints int64 }

type minuteRow struct {
	k minuteKey
	v minuteVal
}

func (v *minuteVal) add(o minuteVal) {
	v.sends += o.sends
	v.attempts += o.attempts
	v.delivered += o.delivered
	v.deferred += o.deferred
	v.bounced += o.bounced
	v.dropped += o.dropped
	v.complaints += o.complaints
}

// The transaction's minute totals are added to event_minutes by multi-row
// upserts: one statement per row and batch through database/sql was a
// quarter of ingest time for a month of mail, which has about one totals row
// for every four events.
const (
	minutesPerUpsert  = 128
	minuteColumnCount = 10
)

func upsertMinutes(rows int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", minuteColumnCount), ",") + ")"
	return `INSERT INTO event_minutes (minute, provider_id, ip_id, sends, attempts, delivered, deferred, bounced, dropped, complaints)
		VALUES ` + strings.TrimSuffix(strings.Repeat(one+",", rows), ",") + `
		ON CONFLICT (provider_id, minute, ip_id) DO UPDATE SET sends = sends + excluded.sends,
		attempts = attempts + excluded.attempts, delivered = delivered + excluded.delivered,
		deferred = deferred + excluded.deferred, bounced = bounced + excluded.bounced,
		dropped = dropped + excluded.dropped, complaints = complaints + excluded.complaints`
}

// flushMinutes adds the transaction's minute totals to event_minutes, in
// key order so the inserts walk the table's B-tree forwards.
func (w *writer) flushMinutes(ctx context.Context) error {
	if len(w.txMinutes) == 0 {
		return nil
	}
	rows := w.minuteRows[:0]
	for k, v := range w.txMinutes {
		rows = append(rows, minuteRow{k, v})
	}
	slices.SortFunc(rows, func(a, b minuteRow) int {
		return cmp.Or(cmp.Compare(a.k.provider, b.k.provider), cmp.Compare(a.k.minute, b.k.minute), cmp.Compare(a.k.ip, b.k.ip))
	})
	w.minuteRows = rows
	for len(rows) > 0 {
		n := min(len(rows), minutesPerUpsert)
		stmt := w.minN
		if n < minutesPerUpsert {
			stmt, n = w.min1, 1
		}
		for i, r := range rows[:n] {
			at := i * minuteColumnCount
			k, v := r.k, r.v
			for j, x := range [minuteColumnCount]int64{k.minute, k.provider, k.ip, v.sends, v.attempts, v.delivered,
				v.deferred, v.bounced, v.dropped, v.complaints} {
				stmt.int(at+j+1, x)
			}
		}
		if _, err := stmt.exec(); err != nil {
			return w.fail(ctx, "add to the minute totals", err)
		}
		rows = rows[n:]
	}
	clear(w.txMinutes)
	return nil
}

// decideKind sets the source's send kind from its first batch of events:
// a source that logs delivery outcomes counts first attempts as sends; one
// that logs only processed/sent events counts those.
func (w *writer) decideKind(ctx context.Context, evs []Event) error {
	if w.kind != "" || len(evs) == 0 {
		return nil
	}
	w.kind = "explicit"
	for i := range evs {
		if t := evs[i].Type; t == TypeDelivered || t == TypeDeferred || t == TypeBounced {
			w.kind = "first-attempt"
			break
		}
	}
	if _, err := w.conn.exec(`UPDATE sources SET send_kind = ? WHERE id = ?`, w.kind, w.srcID); err != nil {
		return w.fail(ctx, "record send kind", err)
	}
	return nil
}

// addMinutes keeps event_minutes current in the batch's own transaction.
// When every event of the batch was new, its totals are added; when only
// some were (duplicates mixed in, so which ones is unknown), the batch's
// minutes are left for Refresh to recompute from the events.
func (w *writer) addMinutes(ctx context.Context, m map[nameMinute]batchMinute, stored, n int64) error {
	switch {
	case stored == 0:
		return nil
	case stored == n:
		if w.txMinutes == nil {
			w.txMinutes = map[minuteKey]minuteVal{}
		}
		for k, c := range m {
			pid, err := w.intern(ctx, w.provIDs, w.upProvider, k.provider, "intern provider")
			if err != nil {
				return err
			}
			var ip int64
			if k.ip != "" {
				if ip, err = w.intern(ctx, w.ips, w.upIP, k.ip, "intern ip"); err != nil {
					return err
				}
			}
			// Sends are counted as the refresh's sendExpr counts them.
			key := minuteKey{k.minute, pid, ip}
			v := w.txMinutes[key]
			v.add(minuteVal{attempts: c.attempts, delivered: c.delivered, deferred: c.deferred, bounced: c.bounced,
				dropped: c.dropped, complaints: c.complaints})
			switch w.kind {
			case "explicit":
				v.sends += c.explicit
			case "first-attempt":
				v.sends += c.first
			}
			w.txMinutes[key] = v
		}
		return nil
	}
	lo, hi := int64(1<<62), int64(-1<<62)
	for k := range m {
		lo, hi = min(lo, k.minute), max(hi, k.minute)
	}
	if _, err := w.conn.exec(`INSERT INTO dirty_ranges (first_minute, last_minute) VALUES (?, ?)`, lo, hi); err != nil {
		return w.fail(ctx, "record refresh range", err)
	}
	return nil
}

func (w *writer) fillSource(src *SourceSummary) {
	c := w.src
	c.add(w.delta)
	src.Read, src.Stored, src.Duplicates, src.Rejected, src.ZoneAssumed = c.read, c.stored, c.dup, c.rej, c.zone
	src.First, src.Last = msTime(w.srcFirst), msTime(w.srcLast)
}

func (w *writer) fill(sum *RunSummary) {
	c := w.run
	c.add(w.delta)
	sum.Read, sum.Stored, sum.Duplicates, sum.Rejected = c.read, c.stored, c.dup, c.rej
	for _, s := range sum.Sources {
		sum.ZoneAssumed += s.ZoneAssumed
	}
	sum.First, sum.Last = msTime(w.runFirst), msTime(w.runLast)
	sum.Providers = sortedProviders(w.providers)
	sum.FirstRejects = w.firstRejects
	for _, k := range w.reasonOrder {
		sum.RejectReasons = append(sum.RejectReasons, *w.reasons[k])
	}
}

func msTime(ms int64) *time.Time {
	if ms == 0 {
		return nil
	}
	t := time.UnixMilli(ms).UTC()
	return &t
}

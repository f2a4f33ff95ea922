package ingest

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// BusyTimeout is how long a writer waits for another process holding the
// database before giving up with ErrBusy.
const BusyTimeout = 30 * time.Second

// cacheSizeKiB is each connection's page cache: memory stays well under
// 200 MB with the writer's, a reader's and the batches in flight.
const cacheSizeKiB = 24 << 10

// ErrBusy means another senderscope process kept the database locked for
// longer than BusyTimeout.
var ErrBusy = errors.New("database is busy: another senderscope process is writing to it")

// Store is the SQLite event store.
type Store struct {
	db   *sql.DB
	path string
}

// Open opens (creating if needed, readable by its owner only) the database at
// path and applies pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("open database: no path given")
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		// Created here rather than by SQLite so the mode is 0600: the file
		// holds recipient addresses. SQLite gives -wal and -shm the same mode.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("create database %s: %w", path, err)
		}
		if f != nil {
			f.Close()
			// The page size must be set before the first write, and the
			// driver's connection setup reads the empty file first (a
			// page_size pragma in the DSN has no effect), so this connection
			// does it. 32 KiB pages (SQLite's default is 4 KiB): ingest
			// writes every page twice (log, then checkpoint), and larger
			// pages mean fewer B-tree splits, system calls and log frames.
			c, err := openRaw(path, int(BusyTimeout/time.Millisecond), "page_size = 32768", "journal_mode = WAL")
			if err != nil {
				return nil, fmt.Errorf("create database %s: %w", path, err)
			}
			c.close()
		}
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.Itoa(int(BusyTimeout/time.Millisecond))+")")
	q.Add("_pragma", "journal_mode(WAL)")
	// NORMAL is durable against a killed process in WAL mode; only a power
	// loss may roll back the last commits, never corrupt.
	q.Add("_pragma", "synchronous(NORMAL)")
	// Foreign keys stay declared but unenforced: the writer interns every
	// parent row before the events that use it, and enforcement costs six
	// lookups per event plus a statement journal per multi-row insert.
	q.Add("_pragma", "cache_size("+strconv.Itoa(-cacheSizeKiB)+")")
	// Statement journals of multi-row inserts go to memory, not a temp file.
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	// Two processes opening a brand-new file race to switch it to WAL and
	// to create the schema; SQLite answers the loser with an immediate BUSY
	// (deadlock avoidance bypasses the busy handler), so retry for a while.
	deadline := time.Now().Add(BusyTimeout)
	for wait := 20 * time.Millisecond; ; wait = min(wait*2, time.Second) {
		err = s.migrate(ctx)
		if err == nil {
			return s, nil
		}
		err = wrapDBErr(fmt.Sprintf("open database %s", path), err)
		if !errors.Is(err, ErrBusy) || time.Now().After(deadline) || ctx.Err() != nil {
			db.Close()
			return nil, err
		}
		time.Sleep(wait)
	}
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Path is the file the store lives in.
func (s *Store) Path() string { return s.path }

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		prefix, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and '_'", e.Name())
		}
		b, err := migrationFS.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// migrate applies each pending migration in its own transaction and records it.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return err
	}
	ms, err := migrations()
	if err != nil {
		return err
	}
	for _, m := range ms {
		if err := s.applyMigration(ctx, m); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}

func (s *Store) applyMigration(ctx context.Context, m migration) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if f := migrationCode[m.version]; f != nil {
		if err := f(ctx, tx); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, time.Now().UnixMilli()); err != nil {
		return err
	}
	return tx.Commit()
}

// migrationCode is the part of a migration SQL cannot do, run after its SQL
// in the same transaction.
var migrationCode = map[int]func(context.Context, *sql.Tx) error{4: copyEventsToRowid}

// copyEventsToRowid moves the events of a schema-3 database into the rowid
// table: each into the first slot of its millisecond, in one statement; of
// events that share a first slot, the first in key order keeps it and the
// others take the next free slots, as the writer would place them.
func copyEventsToRowid(ctx context.Context, tx *sql.Tx) error {
	cols := strings.TrimPrefix(eventColumns, "id, ")
	first := func(alias string) string { // the first id of an events_0003 row
		return fmt.Sprintf("%[1]sts * %[2]d + (%[1]sdkey & %[3]d)", alias, 1<<slotBits, slotMask)
	}
	var ts, line, source int64
	err := tx.QueryRowContext(ctx, `SELECT ts, line, source_id FROM events_0003 WHERE ts < ? OR ts >= ? LIMIT 1`,
		minEventTime.UnixMilli(), maxEventTime.UnixMilli()).Scan(&ts, &line, &source)
	switch {
	case err == nil:
		return fmt.Errorf("the event at line %d of source %d: %w; ingest into a new database", line, source,
			checkEventTime(time.UnixMilli(ts)))
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO events (id, `+cols+`)
		SELECT `+first("")+`, `+cols+` FROM events_0003 ORDER BY ts, dkey`); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT ts, `+cols+` FROM events_0003 o
		WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = `+first("o.")+` AND e.dkey = o.dkey) ORDER BY ts, dkey`)
	if err != nil {
		return err
	}
	var left [][]any // events whose first slot another holds: few
	for rows.Next() {
		r := make([]any, eventColumnCount)
		ptrs := make([]any, eventColumnCount)
		for i := range r {
			ptrs[i] = &r[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			rows.Close()
			return err
		}
		left = append(left, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range left {
		id := eventID(r[0].(int64), uint64(r[1].(int64)))
		for {
			id = nextSlot(id)
			r[0] = id
			res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO events (`+eventColumns+`) VALUES (?`+strings.Repeat(", ?", eventColumnCount-1)+`)`, r...)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				break
			}
		}
	}
	_, err = tx.ExecContext(ctx, `DROP TABLE events_0003`)
	return err
}

// SchemaVersion is the highest applied migration.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v)
	return int(v.Int64), err
}

// IntegrityCheck runs PRAGMA integrity_check and returns its verdict ("ok").
func (s *Store) IntegrityCheck(ctx context.Context) (string, error) {
	rows, err := s.db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return "", err
		}
		out = append(out, line)
	}
	return strings.Join(out, "; "), rows.Err()
}

// wrapDBErr turns SQLite's busy and locked errors into ErrBusy so the CLI can
// say what is going on and exit with the database code.
func wrapDBErr(what string, err error) error {
	if err == nil {
		return nil
	}
	var se interface{ Code() int } // *sqlite.Error and *rawError
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%s: %w", what, ErrBusy)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

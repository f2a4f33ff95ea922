package ingest

import (
	"database/sql"
	"fmt"
	"strings"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// rawConn is one SQLite connection driven through the C API of modernc's
// transpiled SQLite (modernc.org/sqlite/lib, the library under the
// database/sql driver) instead of through database/sql. The writer uses it
// for all of a run's writes: binding through the driver boxed every value in
// an interface, looked up every parameter's name and malloc'd and copied
// every string, which was a third of ingest time. Here integers are bound
// directly, strings are copied into a reused arena and bound without a copy
// (SQLITE_STATIC), and the connection skips SQLite's per-call mutex
// (SQLITE_OPEN_NOMUTEX) because one goroutine owns it.
//
// A rawConn and its statements must be used by one goroutine at a time.
type rawConn struct {
	tls   *libc.TLS
	db    uintptr
	slot  uintptr // 8 bytes of C memory for out-parameters
	stmts map[string]*rawStmt
}

// cmem turns the address of C memory into a pointer. The memory comes from
// modernc's libc allocator (or SQLite, which uses it): it lies outside the
// Go heap, so the garbage collector neither moves nor frees it, and the
// address stays valid until it is freed. (go vet's unsafeptr check cannot
// tell such addresses from Go ones and flags a plain conversion.)
func cmem(p uintptr) unsafe.Pointer { return unsafe.Add(nil, p) }

// rawError is an SQLite error code with the connection's message.
type rawError struct {
	code int
	msg  string
}

func (e *rawError) Error() string { return e.msg }

// Code is SQLite's extended result code.
func (e *rawError) Code() int { return e.code }

// openRaw opens an existing database file for writing. busyMS is how long a
// statement waits for another connection's lock; pragmas run once.
func openRaw(path string, busyMS int, pragmas ...string) (*rawConn, error) {
	c := &rawConn{tls: libc.NewTLS(), stmts: map[string]*rawStmt{}}
	c.slot = libc.Xmalloc(c.tls, types.Size_t(8))
	name, err := libc.CString(path)
	if c.slot == 0 || err != nil {
		c.close()
		return nil, fmt.Errorf("open %s: out of memory", path)
	}
	defer libc.Xfree(c.tls, name)
	rc := sqlite3.Xsqlite3_open_v2(c.tls, name, c.slot, sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_NOMUTEX, 0)
	c.db = *(*uintptr)(cmem(c.slot))
	if rc != sqlite3.SQLITE_OK {
		err := c.err(rc)
		c.close()
		return nil, err
	}
	sqlite3.Xsqlite3_extended_result_codes(c.tls, c.db, 1)
	sqlite3.Xsqlite3_busy_timeout(c.tls, c.db, int32(busyMS))
	for _, p := range pragmas {
		if _, err := c.exec("PRAGMA " + p); err != nil {
			c.close()
			return nil, err
		}
	}
	return c, nil
}

func (c *rawConn) close() {
	for _, s := range c.stmts {
		s.close()
	}
	c.stmts = nil
	if c.db != 0 {
		sqlite3.Xsqlite3_close_v2(c.tls, c.db)
		c.db = 0
	}
	if c.slot != 0 {
		libc.Xfree(c.tls, c.slot)
		c.slot = 0
	}
	c.tls.Close()
}

// err turns a result code into a rawError carrying the connection's message.
func (c *rawConn) err(rc int32) error {
	code := int(rc)
	msg := libc.GoString(sqlite3.Xsqlite3_errstr(c.tls, rc))
	if c.db != 0 {
		if ext := sqlite3.Xsqlite3_extended_errcode(c.tls, c.db); ext&0xff == rc&0xff {
			code = int(ext)
			msg = libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db))
		}
	}
	return &rawError{code: code, msg: fmt.Sprintf("%s (%d)", msg, code)}
}

// prepare compiles one statement.
func (c *rawConn) prepare(q string) (*rawStmt, error) {
	z, err := libc.CString(q)
	if err != nil {
		return nil, err
	}
	defer libc.Xfree(c.tls, z)
	if rc := sqlite3.Xsqlite3_prepare_v2(c.tls, c.db, z, -1, c.slot, 0); rc != sqlite3.SQLITE_OK {
		return nil, fmt.Errorf("%w in %s", c.err(rc), abbrev(q))
	}
	h := *(*uintptr)(cmem(c.slot))
	if h == 0 {
		return nil, fmt.Errorf("no statement in %s", abbrev(q))
	}
	return &rawStmt{c: c, h: h, params: int(sqlite3.Xsqlite3_bind_parameter_count(c.tls, h))}, nil
}

func abbrev(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) > 80 {
		q = q[:77] + "..."
	}
	return "«" + q + "»"
}

// cached returns the connection's prepared statement for q, preparing it once.
func (c *rawConn) cached(q string) (*rawStmt, error) {
	if s, ok := c.stmts[q]; ok {
		return s, nil
	}
	s, err := c.prepare(q)
	if err != nil {
		return nil, err
	}
	c.stmts[q] = s
	return s, nil
}

// bound returns the connection's statement for q with args bound.
func (c *rawConn) bound(q string, args []any) (*rawStmt, error) {
	s, err := c.cached(q)
	if err != nil {
		return nil, err
	}
	return s, s.bind(args...)
}

// exec runs q with args and returns the number of rows it changed.
func (c *rawConn) exec(q string, args ...any) (int64, error) {
	s, err := c.cached(q)
	if err != nil {
		return 0, err
	}
	return s.run(args...)
}

// queryInt runs q with args and returns the first column of its first row;
// sql.ErrNoRows when it returns none.
func (c *rawConn) queryInt(q string, args ...any) (int64, error) {
	s, err := c.bound(q, args)
	if err != nil {
		return 0, err
	}
	return s.queryInt()
}

// queryText is queryInt for a text column.
func (c *rawConn) queryText(q string, args ...any) (string, error) {
	s, err := c.bound(q, args)
	if err != nil {
		return "", err
	}
	var out string
	found := false
	err = s.query(func() {
		if !found {
			found = true
			if p, n := sqlite3.Xsqlite3_column_text(c.tls, s.h, 0), sqlite3.Xsqlite3_column_bytes(c.tls, s.h, 0); p != 0 && n > 0 {
				out = string(unsafe.Slice((*byte)(cmem(p)), n))
			}
		}
	})
	if err == nil && !found {
		err = sql.ErrNoRows
	}
	return out, err
}

func (c *rawConn) lastInsertID() int64 { return sqlite3.Xsqlite3_last_insert_rowid(c.tls, c.db) }

// rawStmt is a prepared statement. Every execution binds every parameter:
// strings are copied into the statement's arena, which is reused once the
// statement has run, so a parameter left unbound would read stale memory.
type rawStmt struct {
	c      *rawConn
	h      uintptr
	params int
	arena  []cChunk // text of the current execution's parameters
	big    []uintptr
	bindRC int32 // the first failed bind, reported by the execution
}

type cChunk struct {
	p        uintptr
	cap, len int
}

const arenaChunk = 256 << 10

func (s *rawStmt) int(i int, v int64) {
	if rc := sqlite3.Xsqlite3_bind_int64(s.c.tls, s.h, int32(i), v); rc != sqlite3.SQLITE_OK && s.bindRC == 0 {
		s.bindRC = rc
	}
}

func (s *rawStmt) null(i int) {
	if rc := sqlite3.Xsqlite3_bind_null(s.c.tls, s.h, int32(i)); rc != sqlite3.SQLITE_OK && s.bindRC == 0 {
		s.bindRC = rc
	}
}

func (s *rawStmt) float(i int, v float64) {
	if rc := sqlite3.Xsqlite3_bind_double(s.c.tls, s.h, int32(i), v); rc != sqlite3.SQLITE_OK && s.bindRC == 0 {
		s.bindRC = rc
	}
}

// text binds v, which SQLite reads in place until the statement has run.
func (s *rawStmt) text(i int, v string) {
	p := s.alloc(len(v))
	if p == 0 {
		if s.bindRC == 0 {
			s.bindRC = sqlite3.SQLITE_NOMEM
		}
		return
	}
	if len(v) > 0 {
		copy(unsafe.Slice((*byte)(cmem(p)), len(v)), v)
	}
	if rc := sqlite3.Xsqlite3_bind_text(s.c.tls, s.h, int32(i), p, int32(len(v)), 0); rc != sqlite3.SQLITE_OK && s.bindRC == 0 {
		s.bindRC = rc
	}
}

// alloc returns n bytes (at least 1) of C memory that stay valid until the
// statement's execution ends.
func (s *rawStmt) alloc(n int) uintptr {
	n = max(n, 1)
	if n > arenaChunk/4 {
		p := libc.Xmalloc(s.c.tls, types.Size_t(n))
		if p != 0 {
			s.big = append(s.big, p)
		}
		return p
	}
	for k := range s.arena {
		if c := &s.arena[k]; c.cap-c.len >= n {
			p := c.p + uintptr(c.len)
			c.len += n
			return p
		}
	}
	p := libc.Xmalloc(s.c.tls, types.Size_t(arenaChunk))
	if p == 0 {
		return 0
	}
	s.arena = append(s.arena, cChunk{p: p, cap: arenaChunk, len: n})
	return p
}

// bind binds args in order (int64, int, float64, string, bool or nil). On
// an error nothing stays bound.
func (s *rawStmt) bind(args ...any) error {
	if len(args) != s.params {
		return fmt.Errorf("statement wants %d arguments, got %d", s.params, len(args))
	}
	for k, a := range args {
		i := k + 1
		switch v := a.(type) {
		case nil:
			s.null(i)
		case int64:
			s.int(i, v)
		case int:
			s.int(i, int64(v))
		case float64:
			s.float(i, v)
		case string:
			s.text(i, v)
		case bool:
			if v {
				s.int(i, 1)
			} else {
				s.int(i, 0)
			}
		default:
			s.finish(sqlite3.SQLITE_DONE)
			return fmt.Errorf("cannot bind %T", a)
		}
	}
	return nil
}

// run binds args and executes the statement.
func (s *rawStmt) run(args ...any) (int64, error) {
	if err := s.bind(args...); err != nil {
		return 0, err
	}
	return s.exec()
}

// exec runs the statement to completion and returns the rows it changed.
func (s *rawStmt) exec() (int64, error) {
	if err := s.query(func() {}); err != nil {
		return 0, err
	}
	return sqlite3.Xsqlite3_changes64(s.c.tls, s.c.db), nil
}

// queryInt runs the statement and returns the first column of its first row
// (sql.ErrNoRows when there is none). It runs to completion, so an INSERT
// ... RETURNING has done all of its work.
func (s *rawStmt) queryInt() (int64, error) {
	var v int64
	found := false
	err := s.query(func() {
		if !found {
			v, found = s.col(0), true
		}
	})
	if err == nil && !found {
		err = sql.ErrNoRows
	}
	return v, err
}

// query runs the statement to completion and calls row for each row it
// returns; col reads the row's columns.
func (s *rawStmt) query(row func()) error {
	if s.bindRC != 0 {
		return s.finish(s.bindRC)
	}
	rc := sqlite3.Xsqlite3_step(s.c.tls, s.h)
	for rc == sqlite3.SQLITE_ROW {
		row()
		rc = sqlite3.Xsqlite3_step(s.c.tls, s.h)
	}
	return s.finish(rc)
}

// col is column i (from 0) of the current row as an integer.
func (s *rawStmt) col(i int) int64 { return sqlite3.Xsqlite3_column_int64(s.c.tls, s.h, int32(i)) }

// finish resets the statement for its next execution, frees what its
// parameters used and turns rc into an error unless it is DONE or ROW.
func (s *rawStmt) finish(rc int32) error {
	var err error
	if rc != sqlite3.SQLITE_DONE && rc != sqlite3.SQLITE_ROW {
		err = s.c.err(rc)
	}
	sqlite3.Xsqlite3_reset(s.c.tls, s.h)
	s.bindRC = 0
	for k := range s.arena {
		s.arena[k].len = 0
	}
	for _, p := range s.big {
		libc.Xfree(s.c.tls, p)
	}
	s.big = s.big[:0]
	return err
}

func (s *rawStmt) close() {
	if s.h != 0 {
		sqlite3.Xsqlite3_finalize(s.c.tls, s.h)
		s.h = 0
	}
	for _, c := range s.arena {
		libc.Xfree(s.c.tls, c.p)
	}
	s.arena = nil
	for _, p := range s.big {
		libc.Xfree(s.c.tls, p)
	}
	s.big = nil
}

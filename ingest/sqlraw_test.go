package ingest

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func openRawTemp(t *testing.T) (*Store, *rawConn) {
	t.Helper()
	s := openTemp(t)
	c, err := openRaw(s.Path(), 100)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	return s, c
}

// TestRawTextBinding: strings reach SQLite byte for byte, whether they fit
// the statement's arena, fill several chunks, or are larger than a chunk;
// "" is an empty string, not NULL; the arena is reused between executions.
func TestRawTextBinding(t *testing.T) {
	s, c := openRawTemp(t)
	if _, err := c.exec(`CREATE TABLE t (i INTEGER, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	const rows = 64
	st, err := c.prepare("INSERT INTO t VALUES " + strings.TrimSuffix(strings.Repeat("(?, ?),", rows), ","))
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	want := map[int]string{}
	for round := 0; round < 3; round++ {
		for i := 0; i < rows; i++ {
			id := round*rows + i
			v := strings.Repeat(string(rune('a'+id%26)), id*97%9000) // 0 to 9 KB: several chunks per execution
			if id == 70 {
				v = strings.Repeat("é", arenaChunk) // larger than a chunk
			}
			want[id] = v
			st.int(2*i+1, int64(id))
			st.text(2*i+2, v)
		}
		if n, err := st.exec(); err != nil || n != rows {
			t.Fatalf("round %d: %d rows, %v", round, n, err)
		}
	}
	rows2, err := s.db.Query(`SELECT i, v, v IS NULL FROM t`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows2.Close()
	n := 0
	for rows2.Next() {
		var i int
		var v string
		var isNull bool
		rows2.Scan(&i, &v, &isNull)
		if v != want[i] || isNull {
			t.Errorf("row %d: %d bytes (null %v), want %d bytes", i, len(v), isNull, len(want[i]))
		}
		n++
	}
	if n != 3*rows {
		t.Errorf("%d rows, want %d", n, 3*rows)
	}
}

// TestRawErrors: errors name the statement or carry SQLite's code and
// message; a busy database maps to ErrBusy; a wrong argument count is
// refused before anything runs.
func TestRawErrors(t *testing.T) {
	s, c := openRawTemp(t)
	if _, err := c.prepare("SELECT * FROM no_such_table"); err == nil || !strings.Contains(err.Error(), "no such table: no_such_table") ||
		!strings.Contains(err.Error(), "SELECT * FROM no_such_table") {
		t.Errorf("prepare error: %v", err)
	}
	if _, err := c.exec("INSERT INTO providers (name) VALUES (?)", "x", "y"); err == nil || !strings.Contains(err.Error(), "wants 1 arguments, got 2") {
		t.Errorf("argument count: %v", err)
	}
	c.exec("INSERT INTO providers (name) VALUES (?)", "dup")
	_, err := c.exec("INSERT INTO providers (name) VALUES (?)", "dup")
	var re *rawError
	if !errors.As(err, &re) || re.Code() != 2067 { // SQLITE_CONSTRAINT_UNIQUE
		t.Errorf("constraint error: %v", err)
	}
	// Another connection holds the write lock: BEGIN IMMEDIATE gives up after
	// the busy timeout, and wrapDBErr says ErrBusy.
	other, err := openRaw(filepath.Clean(s.Path()), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer other.close()
	if _, err := other.exec("BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	_, err = c.exec("BEGIN IMMEDIATE")
	if !errors.Is(wrapDBErr("begin", err), ErrBusy) {
		t.Errorf("busy: %v", err)
	}
	other.exec("ROLLBACK")
	if _, err := c.exec("BEGIN IMMEDIATE"); err != nil {
		t.Errorf("after the other connection let go: %v", err)
	}
	c.exec("ROLLBACK")
}

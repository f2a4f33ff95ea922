package ingest

import "sync"

// walCap is how many bytes of rows the writer stores before it lets the
// write-ahead log restart (the log itself is somewhat larger: B-tree pages
// are not full, and the minute totals add some). A variable so that a test
// can make it small.
var walCap int64 = 64 << 20

// checkpointer copies committed pages from the write-ahead log into the
// database file on its own connection and goroutine, while the writer goes
// on: in WAL mode every page is written twice, and the second copy (with its
// fsync) was a fifth of the writer's time. It runs a passive checkpoint
// after each commit, which never blocks the writer or readers.
//
// A writer restarts the log from its beginning (rewriting file blocks the
// log already has) only when its transaction begins with every frame copied
// and no other connection reading the log, which never holds while passes
// run beside a busy writer: the log would grow with the input. So once the
// writer has stored walCap bytes of rows since the last restart, it waits,
// before its next transaction that stores a batch, for a pass that copies
// everything and waits for readers to leave the log (RESTART); nothing else
// writes before that transaction does, and it restarts the log. The log
// stays near walCap.
type checkpointer struct {
	conn             *rawConn
	passive, restart *rawStmt

	mu          sync.Mutex
	cond        *sync.Cond
	asked       int64 // passes asked for: one after each commit, one before a restart
	covered     int64 // asks that a finished pass answered
	wantRestart bool  // the next pass should leave the log free to restart
	closed      bool

	written int64 // bytes of rows since the last restart; the writer's alone
	done    chan struct{}
}

// startCheckpointer opens the checkpointer's connection; nil when it cannot,
// and the writer then checkpoints as SQLite does by default.
func startCheckpointer(path string) *checkpointer {
	c, err := openRaw(path, 0)
	if err != nil {
		return nil
	}
	ck := &checkpointer{conn: c, done: make(chan struct{})}
	// Statements are prepared here, so that once the goroutine runs it
	// answers every request (a writer waiting in beforeBegin depends on it).
	if ck.passive, err = c.cached("PRAGMA wal_checkpoint(PASSIVE)"); err == nil {
		ck.restart, err = c.cached("PRAGMA wal_checkpoint(RESTART)")
	}
	if err != nil {
		c.close()
		return nil
	}
	ck.cond = sync.NewCond(&ck.mu)
	go ck.run()
	return ck
}

func (ck *checkpointer) run() {
	defer close(ck.done)
	defer ck.conn.close()
	for {
		ck.mu.Lock()
		for ck.covered == ck.asked && !ck.closed {
			ck.cond.Wait()
		}
		if ck.covered == ck.asked {
			ck.mu.Unlock()
			return
		}
		target := ck.asked
		st := ck.passive
		if ck.wantRestart {
			st, ck.wantRestart = ck.restart, false
		}
		ck.mu.Unlock()

		st.query(func() {}) // a failed pass leaves its work to the next one
		ck.mu.Lock()
		ck.covered = target
		ck.cond.Broadcast()
		ck.mu.Unlock()
	}
}

// committed tells the checkpointer that the writer committed.
func (ck *checkpointer) committed() {
	if ck == nil {
		return
	}
	ck.mu.Lock()
	ck.asked++
	ck.cond.Broadcast()
	ck.mu.Unlock()
}

// stored counts bytes of rows the writer stored.
func (ck *checkpointer) stored(n int64) {
	if ck != nil {
		ck.written += n
	}
}

// beforeBegin waits, once walCap bytes were stored since the last restart,
// for a pass that starts after everything written so far (autocommit
// statements included) and leaves the log free to restart. If a reader
// holds the log, the pass copies what it can and the log goes on growing;
// the next wait tries again.
func (ck *checkpointer) beforeBegin() {
	if ck == nil || ck.written < walCap {
		return
	}
	ck.mu.Lock()
	ck.asked++
	ck.wantRestart = true
	ck.cond.Broadcast()
	for ck.covered < ck.asked {
		ck.cond.Wait()
	}
	ck.mu.Unlock()
	ck.written = 0
}

// stop lets a pass in progress finish, runs one for the last commits and
// closes the connection.
func (ck *checkpointer) stop() {
	if ck == nil {
		return
	}
	ck.mu.Lock()
	ck.closed = true
	ck.cond.Broadcast()
	ck.mu.Unlock()
	<-ck.done
}

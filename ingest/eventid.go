package ingest

import (
	"fmt"
	"strconv"
	"time"
)

// An events row is keyed by id = ts * 2^slotBits + slot (migration 0004): a
// time-ordered integer, so that time-ordered input appends to the table and
// a time range is an id range. The slot is the low bits of the dedupe key;
// when another event of the same millisecond holds it, the event takes the
// next free slot of that millisecond (wrapping). Slots are never freed, so an
// event is found by probing from its first slot until it or a free slot
// turns up.
const (
	slotBits = 20
	slotMask = 1<<slotBits - 1
)

// eventID is the first id an event at ms with dedupe key key tries.
func eventID(ms int64, key uint64) int64 { return ms<<slotBits | int64(key&slotMask) }

// nextSlot is the id after id within the same millisecond.
func nextSlot(id int64) int64 { return id&^slotMask | (id+1)&slotMask }

// The times events may have: well inside what fits the id (about 1691 to
// 2248), and wider than any mail log.
var (
	minEventTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	maxEventTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// checkEventTime says why t cannot be stored, or nil.
func checkEventTime(t time.Time) error {
	if t.Before(minEventTime) || !t.Before(maxEventTime) {
		return fmt.Errorf("time: %s is outside the years 1900-2199 that senderscope stores (a placeholder date?)",
			t.UTC().Format("2006-01-02 15:04:05Z07:00"))
	}
	return nil
}

// tsRange is the SQL condition "alias.ts >= lo AND alias.ts < hi" (lo and
// hi being SQL expressions in milliseconds) written on the row id, so that
// SQLite seeks instead of scanning. Bounds are clamped to what an id can
// hold, so open ranges (1<<62) do not overflow.
func tsRange(alias, lo, hi string) string {
	return fmt.Sprintf("%[1]s.id >= %[2]s AND %[1]s.id < %[3]s", alias, idExpr(lo), idExpr(hi))
}

// idLimitMS bounds the milliseconds an id expression may multiply, so that
// the product fits in 63 bits.
const idLimitMS = 1 << (62 - slotBits)

func idExpr(ms string) string {
	return fmt.Sprintf("max(min(%s, %d), %d) * %d", ms, idLimitMS, -idLimitMS, 1<<slotBits)
}

// maxTSExpr is a time after every event, for tsRange's open upper bound.
var maxTSExpr = strconv.Itoa(idLimitMS)

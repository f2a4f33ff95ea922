package ingest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"time"
)

// maxLogLine bounds one log line; syslog daemons cut lines far shorter, so a
// longer one is a binary file or a missing line end, and is rejected.
const maxLogLine = 1 << 20

// lineReader yields the lines of a text log without their line ends,
// numbered from 1. The returned slice is only valid until the next call:
// a line is parsed and dropped, so memory stays flat on a 1 GB log.
type lineReader struct {
	br   *bufio.Reader
	n    int64
	long []byte
	err  error
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 256<<10)}
}

// next returns the next line, whether it was cut at maxLogLine, and false at
// the end of the input or on a read error (then err is set).
func (l *lineReader) next() (line []byte, cut bool, ok bool) {
	b, err := l.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		l.long = append(l.long[:0], b...)
		for err == bufio.ErrBufferFull {
			b, err = l.br.ReadSlice('\n')
			if room := maxLogLine - len(l.long); room > 0 {
				l.long = append(l.long, b[:min(room, len(b))]...)
			}
			if len(l.long) >= maxLogLine {
				cut = true
			}
		}
		b = l.long
	}
	if err != nil && err != io.EOF {
		l.err = err
		return nil, false, false
	}
	if len(b) == 0 {
		return nil, false, false
	}
	l.n++
	b = bytes.TrimSuffix(b, []byte{'\n'})
	b = bytes.TrimSuffix(b, []byte{'\r'})
	return b, cut, true
}

// headLines calls fn on each complete line of a sniffed head (the last,
// possibly cut, line is skipped when the head filled the sniff buffer).
func headLines(head []byte, fn func(line []byte) bool) {
	if len(head) >= sniffSize {
		if i := bytes.LastIndexByte(head, '\n'); i >= 0 {
			head = head[:i]
		}
	}
	head = bytes.TrimPrefix(head, []byte("\ufeff"))
	for len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		if !fn(bytes.TrimSuffix(line, []byte{'\r'})) {
			return
		}
	}
}

// syslogLine is a log line split at its syslog prefix:
// "<time> <host> <program>[<pid>]: <message>".
type syslogLine struct {
	stamp   []byte // the timestamp as written
	classic bool   // "Mar  5 14:00:00", no year and no zone
	host    []byte
	prog    []byte // "postfix/smtp", "postfix-out/qmgr"
	msg     []byte
}

var monthAbbrev = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// classicStampLen measures a classic syslog timestamp at the start of b
// ("Mar  5 14:00:00", "Mar 05 14:00:00", optionally ".123456"), 0 if none.
func classicStampLen(b []byte) int {
	if len(b) < 14 || monthIndex(b[:3]) == 0 || b[3] != ' ' {
		return 0
	}
	i := 4
	if b[i] == ' ' {
		i++
	}
	d := i
	for i < len(b) && i-d < 2 && isDigit(b[i]) {
		i++
	}
	if i == d || i+9 > len(b) || b[i] != ' ' {
		return 0
	}
	t := b[i+1 : i+9]
	if !isDigit(t[0]) || !isDigit(t[1]) || t[2] != ':' || !isDigit(t[3]) || !isDigit(t[4]) || t[5] != ':' || !isDigit(t[6]) || !isDigit(t[7]) {
		return 0
	}
	i += 9
	if i < len(b) && b[i] == '.' {
		j := i + 1
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		if j > i+1 {
			i = j
		}
	}
	return i
}

func monthIndex(b []byte) int {
	for i, m := range monthAbbrev {
		if string(b) == m {
			return i + 1
		}
	}
	return 0
}

// splitSyslog splits a line written by a syslog daemon (classic BSD
// timestamps) or by rsyslog/journald with RFC 3339 or short-iso timestamps.
func splitSyslog(line []byte) (syslogLine, bool) {
	var sl syslogLine
	var n int
	if n = classicStampLen(line); n > 0 {
		sl.classic = true
	} else if len(line) > 20 && isDigit(line[0]) && line[4] == '-' && line[10] == 'T' {
		n = bytes.IndexByte(line, ' ')
		if n < 0 {
			return sl, false
		}
	} else {
		return sl, false
	}
	sl.stamp = line[:n]
	rest := line[n:]
	if len(rest) < 2 || rest[0] != ' ' {
		return sl, false
	}
	rest = rest[1:]
	sp := bytes.IndexByte(rest, ' ')
	if sp <= 0 {
		return sl, false
	}
	sl.host, rest = rest[:sp], rest[sp+1:]
	colon := bytes.Index(rest, []byte(": "))
	if colon <= 0 {
		return sl, false
	}
	tag := rest[:colon]
	if bytes.IndexByte(tag, ' ') >= 0 {
		return sl, false
	}
	if i := bytes.IndexByte(tag, '['); i > 0 {
		tag = tag[:i]
	}
	sl.prog, sl.msg = tag, rest[colon+2:]
	return sl, true
}

// syslogYear gives classic syslog timestamps, which have no year, one: the
// first line's year is --year, else the one that puts it at or before the
// reference time (the file's modification time, else the clock); after that
// the year goes up where December turns into January.
type syslogYear struct {
	year      int
	lastMonth int
	fixed     int
	ref       time.Time
}

func newSyslogYear(opts *ParseOptions) *syslogYear {
	y := &syslogYear{fixed: opts.Year, ref: opts.ModTime}
	if y.ref.IsZero() {
		now := opts.Now
		if now == nil {
			now = time.Now
		}
		y.ref = now()
	}
	return y
}

// of returns the year of a line dated month/day at the given clock time in loc.
func (y *syslogYear) of(month, day, hour, minute, sec int, loc *time.Location) int {
	if y.lastMonth == 0 {
		y.lastMonth = month
		if y.fixed != 0 {
			y.year = y.fixed
			return y.year
		}
		ref := y.ref.In(loc)
		y.year = ref.Year()
		// A day of slack: the file may have been touched in another zone,
		// and a line dated a little after its own file is not a year old.
		if time.Date(y.year, time.Month(month), day, hour, minute, sec, 0, loc).After(ref.Add(24 * time.Hour)) {
			y.year--
		}
		return y.year
	}
	switch {
	case y.lastMonth == 12 && month == 1:
		y.year++
		y.lastMonth = 1
	case y.lastMonth == 1 && month == 12:
		// A late line from the old year after the new one began.
		return y.year - 1
	default:
		y.lastMonth = month
	}
	return y.year
}

// scanLogLines reads a log line by line and hands each to handle, with its
// number: an over-long line is rejected as not being a log line of kind,
// and a panic while handling one line is that line's reject.
func scanLogLines(ctx context.Context, r io.Reader, opts *ParseOptions, sink Sink, kind string, handle func(n int64, line []byte)) error {
	lr := newLineReader(r)
	for {
		if lr.n&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		line, cut, ok := lr.next()
		if !ok {
			break
		}
		if cut {
			sink.Reject(lr.n, string(line), fmt.Sprintf("line longer than %d bytes: not %s line", maxLogLine, kind))
			continue
		}
		n := lr.n
		if reason := safely(func() string { handle(n, line); return "" }); reason != "" {
			sink.Reject(n, string(line), reason)
		}
	}
	if lr.err != nil {
		return fmt.Errorf("%s: %w", opts.Source, lr.err)
	}
	return nil
}

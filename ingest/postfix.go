package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// postfixFormat reads Postfix's mail log: one event per "to=<...>, ...
// status=" line, and one per pending recipient of a "status=expired" line.
// Postfix logs a message's facts on separate lines under its queue id
// (message-id= from cleanup, from= from qmgr), so the parser remembers them
// per queue id until qmgr logs "removed".
type postfixFormat struct{}

func (postfixFormat) Name() string { return "postfix" }

func (postfixFormat) Cues() string {
	return "syslog lines from a Postfix program (postfix/smtp[pid]:, postfix-out/qmgr[pid]:) " +
		"with classic (Mar  5 14:00:00), RFC 3339 or journald short-iso timestamps"
}

func (postfixFormat) Sniff(head []byte) (bool, string) {
	var why string
	headLines(head, func(line []byte) bool {
		sl, ok := splitSyslog(line)
		if !ok || !isPostfixProgram(sl.prog) {
			return true
		}
		stamps := "RFC 3339"
		switch {
		case sl.classic:
			stamps = "classic (no year)"
		case len(sl.stamp) > 19 && !bytes.ContainsRune(sl.stamp[19:], ':') && bytes.ContainsAny(sl.stamp[19:], "+-"):
			stamps = "journald short-iso"
		}
		why = fmt.Sprintf("syslog lines from %s with %s timestamps", sl.prog, stamps)
		return false
	})
	return why != "", why
}

// isPostfixProgram accepts "postfix/smtp" and multi-instance names such as
// "postfix-out/smtp" or "postfix/submission/smtpd".
func isPostfixProgram(prog []byte) bool {
	return bytes.HasPrefix(prog, []byte("postfix")) && bytes.IndexByte(prog, '/') > 0
}

// postfixMaxQueued bounds the per-queue-id memory. A message normally leaves
// it at "removed"; the cap covers logs that start or end mid-queue, and
// evicts the oldest queue ids first.
const postfixMaxQueued = 100_000

// postfixMaxPending bounds the recipients remembered per queued message for
// a later "status=expired".
const postfixMaxPending = 1000

type postfixMsg struct {
	seq        uint64
	messageID  string
	nullSender bool          // from=<>: Postfix's own bounce notification
	pending    []pendingRcpt // deferred recipients without a final status yet
}

// pendingRcpt is a recipient deferred so far, and how many times.
type pendingRcpt struct {
	addr  string
	tries int
}

type qidRef struct {
	qid string
	seq uint64
}

// qidTracker maps queue ids to what earlier lines said about them, with a
// bounded size: insertion order is kept in a ring so the oldest entry can be
// evicted, and stale ring entries (ids removed since) are compacted away.
type qidTracker struct {
	m       map[string]*postfixMsg
	ring    []qidRef
	head    int
	seq     uint64
	max     int
	evicted int64
}

func newQIDTracker(max int) *qidTracker {
	return &qidTracker{m: make(map[string]*postfixMsg), max: max}
}

func (t *qidTracker) get(qid []byte) *postfixMsg { return t.m[string(qid)] }

func (t *qidTracker) getOrAdd(qid []byte) *postfixMsg {
	if m := t.m[string(qid)]; m != nil {
		return m
	}
	k := string(qid)
	t.seq++
	m := &postfixMsg{seq: t.seq}
	t.m[k] = m
	t.ring = append(t.ring, qidRef{k, t.seq})
	for len(t.m) > t.max {
		t.evictOldest()
	}
	// After a compaction the ring holds at most max live entries, so the
	// next one is at least max appends away: amortised constant time.
	if len(t.ring) > 2*t.max {
		t.compact()
	}
	return m
}

func (t *qidTracker) remove(qid []byte) { delete(t.m, string(qid)) }

func (t *qidTracker) evictOldest() {
	for t.head < len(t.ring) {
		r := t.ring[t.head]
		t.ring[t.head] = qidRef{}
		t.head++
		if m, ok := t.m[r.qid]; ok && m.seq == r.seq {
			delete(t.m, r.qid)
			t.evicted++
			return
		}
	}
}

func (t *qidTracker) compact() {
	n := 0
	for _, r := range t.ring[t.head:] {
		if m, ok := t.m[r.qid]; ok && m.seq == r.seq {
			t.ring[n] = r
			n++
		}
	}
	clear(t.ring[n:])
	t.ring, t.head = t.ring[:n], 0
}

// postfixParser holds one input's state.
type postfixParser struct {
	opts   *ParseOptions
	sink   Sink
	years  *syslogYear
	queue  *qidTracker
	ev     Event
	lineNo int64
	raw    []byte
}

func newPostfixParser(opts *ParseOptions, sink Sink, maxQueued int) *postfixParser {
	return &postfixParser{opts: opts, sink: sink, years: newSyslogYear(opts), queue: newQIDTracker(maxQueued)}
}

func (f postfixFormat) Parse(ctx context.Context, r io.Reader, opts *ParseOptions, sink Sink) error {
	p := newPostfixParser(opts, sink, postfixMaxQueued)
	return scanLogLines(ctx, r, opts, sink, "a syslog", func(n int64, line []byte) {
		p.lineNo, p.raw = n, line
		p.line(line)
	})
}

func (p *postfixParser) reject(reason string) {
	p.sink.Reject(p.lineNo, string(p.raw), reason)
}

// line handles one log line. Lines that are not about a queued message's
// delivery (connections, warnings, smtpd rejections, per-MX errors that the
// final to= line repeats) are not records and are passed over. Any
// "name/daemon" program is read, not only "postfix/...": syslog_name can be
// set to anything, and --format postfix then still works.
func (p *postfixParser) line(line []byte) {
	sl, ok := splitSyslog(line)
	if !ok || bytes.IndexByte(sl.prog, '/') < 0 {
		return
	}
	colon := bytes.Index(sl.msg, []byte(": "))
	if colon <= 0 || !isQueueID(sl.msg[:colon]) {
		return
	}
	qid, rest := sl.msg[:colon], sl.msg[colon+2:]
	switch {
	case bytes.HasPrefix(rest, []byte("to=<")):
		p.delivery(&sl, qid, rest)
	case bytes.HasPrefix(rest, []byte("from=<")):
		if bytes.Contains(rest, []byte(", status=expired")) {
			p.expired(&sl, qid)
			return
		}
		m := p.queue.getOrAdd(qid)
		m.nullSender = bytes.HasPrefix(rest, []byte("from=<>"))
	case bytes.HasPrefix(rest, []byte("message-id=")):
		id := rest[len("message-id="):]
		if sp := bytes.IndexByte(id, ' '); sp >= 0 {
			id = id[:sp]
		}
		id = bytes.TrimSuffix(bytes.TrimPrefix(id, []byte("<")), []byte(">"))
		if len(id) > 0 {
			p.queue.getOrAdd(qid).messageID = string(id)
		}
	case bytes.Equal(rest, []byte("removed")):
		// Queue ids are reused: forget this message so a later one with
		// the same id does not inherit its Message-ID.
		p.queue.remove(qid)
	}
}

// isQueueID accepts Postfix's short ids (upper-case hex) and long ids
// (enable_long_queue_ids: ten or more letters and digits). Requiring a digit
// keeps words like "warning" or "NOQUEUE" from being taken for one.
func isQueueID(b []byte) bool {
	if len(b) < 5 || len(b) > 24 {
		return false
	}
	hex, digit := true, false
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			digit = true
		case c >= 'A' && c <= 'F':
		case c >= 'a' && c <= 'z', c >= 'G' && c <= 'Z':
			hex = false
		default:
			return false
		}
	}
	return digit && (hex || len(b) >= 10)
}

// time reads the line's timestamp; for classic syslog it assigns the year.
func (p *postfixParser) time(sl *syslogLine) (time.Time, string) {
	if !sl.classic {
		t, zoneless, ok := parseISOish(string(sl.stamp), p.opts.TZ)
		if !ok {
			return t, fmt.Sprintf("timestamp %q is not an RFC 3339 time", clip(string(sl.stamp), 40))
		}
		if zoneless {
			p.sink.ZoneAssumed()
		}
		return t, ""
	}
	s := sl.stamp
	month := monthIndex(s[:3])
	i := 4
	if s[i] == ' ' {
		i++
	}
	day := 0
	for ; s[i] != ' '; i++ {
		day = day*10 + int(s[i]-'0')
	}
	c := s[i+1:]
	hour := int(c[0]-'0')*10 + int(c[1]-'0')
	minute := int(c[3]-'0')*10 + int(c[4]-'0')
	sec := int(c[6]-'0')*10 + int(c[7]-'0')
	nsec := 0
	if len(c) > 9 {
		frac := c[9:]
		for k := 0; k < 9; k++ {
			nsec *= 10
			if k < len(frac) {
				nsec += int(frac[k] - '0')
			}
		}
	}
	if hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, fmt.Sprintf("timestamp %q is not a time of day", string(s))
	}
	year := p.years.of(month, day, hour, minute, sec, p.opts.TZ)
	if day < 1 || day > daysIn(year, month) {
		return time.Time{}, fmt.Sprintf("timestamp %q: %s has no day %d in %d (the year was inferred; set --year)",
			string(s), time.Month(month), day, year)
	}
	p.sink.ZoneAssumed()
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, p.opts.TZ).UTC(), ""
}

// delivery handles "QID: to=<r>[, orig_to=<o>], relay=..., [conn_use=N, ]
// delay=..., delays=a/b/c/d, dsn=X.Y.Z, status=WORD (text)".
func (p *postfixParser) delivery(sl *syslogLine, qid, rest []byte) {
	end := bytes.Index(rest, []byte(">, "))
	if end < 0 {
		p.reject(`postfix to= line without the ">, " that ends the recipient`)
		return
	}
	rcpt := rest[len("to=<"):end]
	fields := rest[end+3:]
	// One pass over "key=value, " pairs up to status=, the last of them.
	var dsn, word, text []byte
	for f := fields; len(f) > 0; {
		if bytes.HasPrefix(f, []byte("status=")) {
			word = f[len("status="):]
			break
		}
		if bytes.HasPrefix(f, []byte("dsn=")) {
			dsn = f[len("dsn="):]
			if c := bytes.IndexByte(dsn, ','); c >= 0 {
				dsn = dsn[:c]
			}
		}
		c := bytes.Index(f, []byte(", "))
		if c < 0 {
			break
		}
		f = f[c+2:]
	}
	if word == nil {
		p.reject("postfix to= line without status= (expected dsn=X.Y.Z, status=sent|deferred|bounced (reply))")
		return
	}
	if sp := bytes.IndexByte(word, ' '); sp >= 0 {
		word, text = word[:sp], word[sp+1:]
		// The text nests parentheses ("(S775) ... (in reply to ...)"): the
		// outer pair runs to the last ')' on the line.
		if len(text) > 0 && text[0] == '(' {
			if c := bytes.LastIndexByte(text, ')'); c > 0 {
				text = text[1:c]
			} else {
				text = text[1:]
			}
		}
	}
	typ, ok := postfixStatusType(string(word))
	if !ok {
		if typ, ok = p.opts.Status.Lookup(string(word)); !ok {
			p.reject(fmt.Sprintf("postfix status=%s is not sent, deferred, bounced or expired (map it with --status %s=TYPE)",
				clip(string(word), 40), quoteWord(string(word))))
			return
		}
	}
	addr, domain, ok := SplitAddress(string(rcpt))
	if !ok {
		p.reject(fmt.Sprintf("to=<%s> is not an e-mail address", clip(string(rcpt), 80)))
		return
	}
	t, reason := p.time(sl)
	if reason != "" {
		p.reject(reason)
		return
	}
	ev := &p.ev
	*ev = Event{Time: t, Recipient: addr, Domain: domain, Type: typ, Word: postfixWord(word), Line: p.lineNo}
	ev.Reply = postfixReply(text)
	fillCodes(ev)
	if ev.EnhancedCode == "" && validEnhanced(string(dsn)) {
		// Connection failures have no SMTP reply, only Postfix's DSN status.
		ev.EnhancedCode = string(dsn)
	}
	ev.SendingIP = ipFromReply(ev.Reply)
	if ev.SendingIP == "" {
		ev.SendingIP = p.opts.SendingIP
	}
	m := p.queue.get(qid)
	if typ == TypeDeferred && m == nil {
		m = p.queue.getOrAdd(qid)
	}
	p.fromQueue(ev, m, qid)
	// Postfix logs no attempt numbers; counting this input's earlier
	// deferrals gives them, so a retry is not mistaken for a new send. (A
	// retry whose earlier attempts are in an older log counts as a first.)
	ev.Attempt = 1
	if m != nil {
		ev.Attempt = m.settle(addr, typ == TypeDeferred) + 1
	}
	ev.Key = newKey("postfix").u64(uint64(t.UnixMicro())).bytes(sl.host).bytes(qid).str(addr).bytes(fields).sum()
	p.sink.Event(ev)
}

// fromQueue sets what the queue id's earlier lines said. Without the
// cleanup line (an older log), the queue id stands in for the Message-ID:
// it too is stable across the message's attempts.
func (p *postfixParser) fromQueue(ev *Event, m *postfixMsg, qid []byte) {
	if m != nil && m.messageID != "" {
		ev.MessageID = m.messageID
	} else {
		ev.MessageID = string(qid)
	}
	if m != nil && m.nullSender {
		ev.Class = "null-sender"
	}
}

// settle records a recipient's latest status for a later status=expired and
// returns how many times it was deferred before this line.
func (m *postfixMsg) settle(addr string, deferred bool) int {
	for i := range m.pending {
		if m.pending[i].addr == addr {
			tries := m.pending[i].tries
			if deferred {
				m.pending[i].tries++
			} else {
				m.pending = append(m.pending[:i], m.pending[i+1:]...)
			}
			return tries
		}
	}
	if deferred && len(m.pending) < postfixMaxPending {
		m.pending = append(m.pending, pendingRcpt{addr: addr, tries: 1})
	}
	return 0
}

// expired handles "QID: from=<s>, status=expired, returned to sender": the
// line names no recipient, so each recipient the message was still deferred
// for gets a bounce.
func (p *postfixParser) expired(sl *syslogLine, qid []byte) {
	m := p.queue.get(qid)
	if m == nil || len(m.pending) == 0 {
		p.reject(fmt.Sprintf("status=expired for queue id %s, but no deferred recipient of it is in this input "+
			"(its to= lines are in an older log?)", qid))
		return
	}
	t, reason := p.time(sl)
	if reason != "" {
		p.reject(reason)
		return
	}
	for _, pr := range m.pending {
		addr := pr.addr
		ev := &p.ev
		*ev = Event{Time: t, Recipient: addr, Domain: addr[strings.LastIndexByte(addr, '@')+1:], Type: TypeBounced,
			Word: "expired", Line: p.lineNo, SendingIP: p.opts.SendingIP, Attempt: pr.tries + 1}
		p.fromQueue(ev, m, qid)
		ev.Key = newKey("postfix-expired").u64(uint64(t.UnixMicro())).bytes(sl.host).bytes(qid).str(addr).sum()
		p.sink.Event(ev)
	}
	m.pending = nil
}

func postfixStatusType(word string) (EventType, bool) {
	switch word {
	case "sent":
		// Postfix's "sent" is the receiver's 250: delivered, not merely handed over.
		return TypeDelivered, true
	case "deferred":
		return TypeDeferred, true
	case "bounced", "expired":
		return TypeBounced, true
	case "deliverable", "undeliverable":
		// Address verification probes: SMTP sessions, but no mail sent.
		return TypeOther, true
	}
	return "", false
}

// postfixWord returns the status word without allocating for the usual ones.
func postfixWord(b []byte) string {
	switch string(b) {
	case "sent":
		return "sent"
	case "deferred":
		return "deferred"
	case "bounced":
		return "bounced"
	}
	return string(b)
}

var (
	saidMarkers    = [][]byte{[]byte("] said: "), []byte("] refused to talk to me: ")}
	inReplyToMark  = []byte(" (in reply to ")
	inReplyToClose = []byte(" command)")
)

// postfixReply keeps the receiver's own reply when Postfix quotes it ("host
// mx[ip] said: 451 4.7.650 ... (in reply to MAIL FROM command)" becomes
// "451 4.7.650 ..."), so replies group the same way as other sources';
// Postfix's own diagnostics (connection failures) are kept whole.
func postfixReply(text []byte) string {
	if !bytes.HasPrefix(text, []byte("host ")) {
		return string(bytes.TrimSpace(text))
	}
	for _, m := range saidMarkers {
		if i := bytes.Index(text, m); i >= 0 {
			text = text[i+len(m):]
			if j := bytes.LastIndex(text, inReplyToMark); j >= 0 && bytes.HasSuffix(text, inReplyToClose) {
				text = text[:j]
			}
			break
		}
	}
	return string(bytes.TrimSpace(text))
}

package example

import (
	"slices"
)

const (
	streamTransactional uint8 = 0
	streamNewsletter    uint8 = 1
)

var streamText = [2]string{"transactional", "newsletter"}

// firstID is where the table's bigserial stood when the history starts: the
// application has been sending for years.
const firstID = 48_213_377

// A send is a message's first attempt, planned for one day.
type send struct {
	t      int64
	person int32
	stream uint8
	ip     int8 // -1 until assigned
}

// A message lives from its first attempt to its last row.
type message struct {
	seed    uint64 // renders its ESP message id
	first   int64
	person  int32
	attempt uint8
	stream  uint8
	quota   uint8 // over-quota deferrals still to come (Gmail)
	final   bool  // the next attempt is the last one, at the retry horizon
}

const (
	evAttempt uint8 = iota
	evComplaint
)

type event struct {
	t    int64
	seq  uint64
	msg  int32
	ip   int8
	kind uint8
}

// evHeap is a binary min-heap by (t, seq): seq makes ties deterministic.
type evHeap []event

func (h evHeap) less(i, j int) bool {
	return h[i].t < h[j].t || h[i].t == h[j].t && h[i].seq < h[j].seq
}

func (h *evHeap) push(e event) {
	*h = append(*h, e)
	a := *h
	for i := len(a) - 1; i > 0; {
		parent := (i - 1) / 2
		if !a.less(i, parent) {
			break
		}
		a[i], a[parent] = a[parent], a[i]
		i = parent
	}
}

func (h *evHeap) pop() event {
	a := *h
	top := a[0]
	n := len(a) - 1
	a[0] = a[n]
	a = a[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && a.less(l, m) {
			m = l
		}
		if r < n && a.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return top
}

type bucket struct {
	last  int64
	milli int64 // thousandths of a message
}

// sim decides every row of the history, in time order, from one random
// stream. It knows nothing of text: rows leave it as recs.
type sim struct {
	p   *plan
	r   *source
	pop *population

	from, to int64
	nextID   int64
	seq      uint64

	heap  evHeap
	msgs  []message
	free  []int32
	ipBkt [2]bucket

	controlled []int64 // minutes whose counts are exact: no stray matching rows there

	sends            []send
	txnMS, txnNaive  [1440]int16
	carryMS, carryOT fifo
	batchPicks       []int32

	cur    *batch
	emit   func(*batch) bool
	spare  chan *batch
	halted bool
}

func newSim(p *plan, from, to int64) *sim {
	r := newSource()
	s := &sim{p: p, r: r, from: from, to: to, nextID: firstID}
	s.pop = newPopulation(r, p)
	for _, sp := range p.spikes {
		s.controlled = append(s.controlled, sp.minute)
		if sp.burst {
			s.controlled = append(s.controlled, sp.minute+usMinute)
		}
	}
	slices.Sort(s.controlled)
	return s
}

func (s *sim) isControlled(t int64) bool {
	_, ok := slices.BinarySearch(s.controlled, t-t%usMinute)
	return ok
}

// avoidControlled moves a row the operator's regex would match out of the
// spike minutes, so that even their all-rows query counts those exactly.
func (s *sim) avoidControlled(t int64, p int32) int64 {
	for s.pop.naive[p] && s.isControlled(t) {
		t += 90 * usSecond
	}
	return t
}

// run simulates the history, handing full batches of rows to emit (which
// reports false when the output is abandoned) and taking empty ones from spare.
func (s *sim) run(emit func(*batch) bool, spare chan *batch) {
	s.emit, s.spare = emit, spare
	for day := int32(0); s.p.start+int64(day)*usDay < s.p.end && !s.halted; day++ {
		dayEnd := s.p.start + int64(day+1)*usDay
		sends := s.daySends(day)
		i := 0
		for !s.halted {
			if i < len(sends) && (len(s.heap) == 0 || sends[i].t <= s.heap[0].t) {
				s.firstAttempt(sends[i])
				i++
				continue
			}
			if len(s.heap) > 0 && s.heap[0].t < dayEnd {
				s.process(s.heap.pop())
				continue
			}
			break
		}
	}
	if s.cur != nil && len(s.cur.recs) > 0 && !s.halted {
		s.emit(s.cur)
	}
}

func (s *sim) newMessage(p int32, stream uint8, t int64) int32 {
	m := message{seed: s.r.u64(), first: t, person: p, stream: stream}
	if n := len(s.free); n > 0 {
		i := s.free[n-1]
		s.free = s.free[:n-1]
		s.msgs[i] = m
		return i
	}
	s.msgs = append(s.msgs, m)
	return int32(len(s.msgs) - 1)
}

func (s *sim) done(i int32) {
	s.free = append(s.free, i)
}

func (s *sim) schedule(t int64, msg int32, ip int8, kind uint8) {
	s.seq++
	s.heap.push(event{t: t, seq: s.seq, msg: msg, ip: ip, kind: kind})
}

func (s *sim) firstAttempt(sd send) {
	p := sd.person
	if st := s.pop.state[p] & stMask; st != stOK {
		// The ESP gives a dropped message an id too.
		s.row(rec{t: sd.t, person: p, status: statusDropped, reply: replyDropReason, drop: st,
			ip: -1, stream: sd.stream, msgSeed: s.r.u64(), msgFirst: sd.t})
		return
	}
	s.attempt(s.newMessage(p, sd.stream, sd.t), sd.t, int(sd.ip))
}

func (s *sim) process(e event) {
	if e.kind == evComplaint {
		m := &s.msgs[e.msg]
		s.pop.state[m.person] = stSpam
		s.row(rec{t: e.t, person: m.person, status: statusSpamreport, reply: replyNone,
			ip: -1, stream: m.stream, msgSeed: m.seed, msgFirst: m.first})
		s.done(e.msg)
		return
	}
	s.attempt(e.msg, e.t, int(e.ip))
}

// refused reports whether Outlook.com turns away an attempt from ip at t.
func (s *sim) refused(ip int, t int64) bool {
	p := s.p
	switch {
	case t < p.onset[ip]:
		return false
	case t < p.blockEnd:
		return true
	case t >= p.recoveryEnd:
		return false
	}
	b := &s.ipBkt[ip]
	if b.last < p.blockEnd {
		b.last = p.blockEnd
	}
	rate := p.rampStart << ((t - p.blockEnd) / p.rampStep) // messages per hour
	b.milli += (t - b.last) * rate * 1000 / usHour
	if burst := rate * 1000 / 6; b.milli > burst { // at most ten minutes' worth saved up
		b.milli = burst
	}
	b.last = t
	if b.milli >= 1000 {
		b.milli -= 1000
		return false
	}
	return true
}

func (s *sim) attempt(mi int32, t int64, ip int) {
	m := &s.msgs[mi]
	m.attempt++
	p := m.person
	mb := domains[s.pop.domain[p]].mb
	r := rec{t: t, person: p, ip: int8(ip), attempt: m.attempt, stream: m.stream, msgSeed: m.seed, msgFirst: m.first}
	switch {
	case mb == mbOutlookCom && s.refused(ip, t):
		r.status, r.reply = statusDeferred, replyRateLimited
		if m.final {
			r.status = statusBounce // the ESP gives up at its retry horizon
		}
		s.row(r)
		if m.final {
			s.done(mi)
		} else {
			s.retry(mi)
		}
		return
	case s.pop.deadAt[p] <= t:
		r.status, r.reply = statusBounce, replyUnknownUser
		s.row(r)
		s.pop.state[p] = s.pop.state[p]&^stMask | stBounced
		s.done(mi)
		return
	case m.attempt == 1 && mb == mbPostgrey && s.r.chance(12_000):
		r.status, r.reply = statusDeferred, replyGreylisted
		s.row(r)
		s.retry(mi)
		return
	case m.attempt == 1 && mb == mbGmail && s.r.chance(300):
		m.quota = uint8(s.r.between(1, 6))
	}
	if m.quota > 0 {
		m.quota--
		r.status, r.reply = statusDeferred, replyOverQuota
		s.row(r)
		s.retry(mi)
		return
	}
	r.status, r.reply = statusDelivered, replyDelivered
	s.row(r)
	// Outlook.com (JMRP) and Yahoo/AOL (CFL) report complaints back.
	ppm := int64(30)
	if m.stream == streamNewsletter {
		ppm = 450
	}
	if (mb == mbOutlookCom || mb == mbYahoo) && s.r.chance(ppm) {
		var delay int64
		if s.r.intn(10) < 7 {
			delay = s.r.between(5*usMinute, 6*usHour)
		} else {
			delay = s.r.between(6*usHour, 72*usHour)
		}
		s.pop.state[p] |= flagPendingComplaint
		s.schedule(s.avoidControlled(t+delay, p), mi, -1, evComplaint)
		return
	}
	s.done(mi)
}

func (s *sim) retry(mi int32) {
	m := &s.msgs[mi]
	off := retryOffset(int(m.attempt))
	if off >= s.p.horizon {
		off = s.p.horizon
		m.final = true
	}
	t := s.avoidControlled(m.first+off+s.r.intn(40*usSecond), m.person)
	s.schedule(t, mi, int8(s.r.intn(2)), evAttempt)
}

// row gives r the next id and queues it for rendering if it falls inside
// [from, to). Every row takes an id, and the dice for a gap, even when it is
// filtered out, so that a narrowed output matches the full one.
func (s *sim) row(r rec) {
	r.id = s.nextID
	s.nextID++
	if s.r.chance(400) { // a rolled-back insert leaves a gap in the bigserial
		s.nextID += s.r.between(1, 4)
	}
	if r.t < s.from || r.t >= s.to || s.halted {
		return
	}
	if s.cur == nil {
		select {
		case s.cur = <-s.spare:
		default:
			s.cur = &batch{recs: make([]rec, 0, batchRows)}
		}
	}
	s.cur.recs = append(s.cur.recs, r)
	if len(s.cur.recs) == batchRows {
		if !s.emit(s.cur) {
			s.halted = true
		}
		s.cur = nil
	}
}

package example

import (
	"cmp"
	"slices"
)

// hourWeight is the share of a day's transactional mail per UTC hour, in
// thousandths: European mornings to American evenings.
var hourWeight = [24]int64{18, 14, 12, 11, 12, 16, 26, 40, 52, 58, 60, 60, 60, 67, 64, 64, 62, 58, 54, 50, 46, 40, 32, 24}

const (
	txnPerDay  = 1283 // logins, password resets, billing: ~39,000 a month
	batchStart = 19 * usHour
	batchRate  = 190 // calls per minute: as fast as the app's one worker can call the ESP
)

// fifo is a queue of people pushed back to a later minute of a batch.
type fifo struct {
	q    []int32
	head int
}

func (f *fifo) len() int     { return len(f.q) - f.head }
func (f *fifo) push(p int32) { f.q = append(f.q, p) }
func (f *fifo) reset()       { f.q, f.head = f.q[:0], 0 }

func (f *fifo) pop() int32 {
	p := f.q[f.head]
	f.head++
	if f.head == len(f.q) {
		f.reset()
	}
	return p
}

func isqrt(n int64) int64 {
	r := int64(0)
	for (r+1)*(r+1) <= n {
		r++
	}
	return r
}

func (s *sim) spikeAt(minute int64) *spikePlan {
	for i := range s.p.spikes {
		if s.p.spikes[i].minute == minute {
			return &s.p.spikes[i]
		}
	}
	return nil
}

// daySends plans every first attempt of one day, sorted by time, IPs set.
func (s *sim) daySends(day int32) []send {
	p, pop := s.p, s.pop
	dayStart := p.start + int64(day)*usDay
	weekday := day % 7 // the history starts on a Monday
	s.sends = s.sends[:0]

	factor := int64(112)
	if weekday >= 5 {
		factor = 70
	}
	for h := range int64(24) {
		lam := txnPerDay * hourWeight[h] * factor / 100_000
		n := lam + s.r.noise(isqrt(lam))
		for range n {
			t := dayStart + h*usHour + s.r.intn(usHour)
			s.sends = append(s.sends, send{t: t, person: s.txnRecipient(), stream: streamTransactional, ip: -1})
		}
	}
	for i := range s.sends {
		sd := &s.sends[i]
		sd.t = s.avoidControlled(sd.t, sd.person)
		pop.lastTxn[sd.person] = day
	}
	// The incident's first refused attempt on each IP is a login code to an
	// Outlook.com user, at exactly the planned time.
	for ip, t := range p.onset {
		if t >= dayStart && t < dayStart+usDay {
			who := s.cleanMicrosoftUser(day)
			pop.lastTxn[who] = day
			s.sends = append(s.sends, send{t: t, person: who, stream: streamTransactional, ip: int8(ip)})
		}
	}

	s.txnMS, s.txnNaive = [1440]int16{}, [1440]int16{}
	for _, sd := range s.sends {
		m := (sd.t - dayStart) / usMinute
		if isMicrosoft(pop.domain[sd.person]) {
			s.txnMS[m]++
		}
		if pop.naive[sd.person] {
			s.txnNaive[m]++
		}
	}
	if weekday < 4 { // the newsletter goes out in four quarters, Monday to Thursday
		s.batch(dayStart, day, int(weekday))
	}
	slices.SortStableFunc(s.sends, func(a, b send) int { return cmp.Compare(a.t, b.t) })
	s.assignIPs()
	return s.sends
}

func (s *sim) txnRecipient() int32 {
	if s.r.intn(100) < 65 {
		return int32(s.pop.active) + int32(s.r.intn(nActive))
	}
	return int32(s.r.intn(nPeople))
}

// cleanMicrosoftUser picks an app user (not a subscriber) at Outlook.com whose
// next send cannot be anything but a first attempt.
func (s *sim) cleanMicrosoftUser(day int32) int32 {
	for {
		p := int32(s.r.between(nSubscribers, nPeople))
		if isMicrosoft(s.pop.domain[p]) && s.pop.clean(p, day) {
			return p
		}
	}
}

// assignIPs spreads each minute's Outlook.com sends over both IPs in turn, as
// the ESP's pool does; other mail goes out on either.
func (s *sim) assignIPs() {
	cur, next := int64(-1), 0
	for i := range s.sends {
		sd := &s.sends[i]
		if sd.ip >= 0 {
			continue
		}
		if !isMicrosoft(s.pop.domain[sd.person]) || s.pop.state[sd.person]&stMask != stOK {
			sd.ip = int8(s.r.intn(2))
			continue
		}
		if m := sd.t - sd.t%usMinute; m != cur {
			cur = m
			if sp := s.spikeAt(m); sp != nil {
				next = sp.firstIP
			} else {
				next = int(s.r.intn(2))
			}
		}
		sd.ip = int8(next)
		next ^= 1
	}
}

// batch plans one quarter of the newsletter: the app walks its subscriber
// list and calls the ESP once per recipient, minute after minute, until done.
// Per clock minute it decides how many calls go to Outlook.com recipients;
// the spike minutes get exactly their planned count, every other minute at
// most ordinaryCap (transactional mail included).
func (s *sim) batch(dayStart int64, day int32, q int) {
	pop := s.pop
	msQ, otQ := pop.quarterMS[q], pop.quarterOther[q]
	iMS, iOT := 0, 0
	s.carryMS.reset()
	s.carryOT.reset()
	start := dayStart + batchStart + s.r.intn(90*usSecond)
	var dev int64
	for m := start - start%usMinute; ; m += usMinute {
		remMS := int64(len(msQ) - iMS + s.carryMS.len())
		remOT := int64(len(otQ) - iOT + s.carryOT.len())
		if remMS+remOT == 0 {
			return
		}
		dev = dev*7/8 + s.r.noise(8)
		calls := min(max(batchRate+dev, 150), 260)
		ws := max(m, start)
		calls = max(calls*(m+usMinute-ws)/usMinute, 1)
		idx := (m - dayStart) / usMinute
		sp := s.spikeAt(m)
		controlled := s.isControlled(m)

		var nMS, nOT int64
		if sp != nil {
			nMS = int64(sp.count)
			nOT = calls - calls*remMS/(remMS+remOT)
		} else {
			rm, ro := remMS, remOT
			for range calls {
				if rm+ro == 0 {
					break
				}
				if s.r.intn(rm+ro) < rm {
					nMS++
					rm--
				} else {
					nOT++
					ro--
				}
			}
			if c := int64(s.p.ordinaryCap) - int64(s.txnMS[idx]); nMS > c {
				nOT += nMS - c
				nMS = max(c, 0)
			}
		}
		var fpBudget int64
		if !controlled {
			fpBudget = int64(s.p.naiveCap) - nMS - int64(s.txnNaive[idx])
		}
		picks := s.take(s.batchPicks[:0], &s.carryMS, msQ, &iMS, nMS, controlled, &fpBudget, day)
		nm := len(picks)
		if sp != nil && nm != sp.count {
			panic("example: not enough clean Outlook.com subscribers for a spike minute")
		}
		picks = s.take(picks, &s.carryOT, otQ, &iOT, nOT, false, &fpBudget, day)
		s.batchPicks = picks

		end := m + usMinute
		switch {
		case sp != nil && sp.burst:
			s.place(picks[:burstEarly], m, m+burstSplit)
			s.place(picks[burstEarly:nm], m+burstSplit, end)
			s.place(picks[nm:], ws, end)
		case controlled && sp == nil: // the minute after the burst
			k := min(burstSpill, nm)
			s.place(picks[:k], m, m+burstSplit)
			s.place(picks[k:nm], m+burstSplit, end)
			s.place(picks[nm:], ws, end)
		default:
			for i := len(picks) - 1; i > 0; i-- {
				j := s.r.intn(int64(i + 1))
				picks[i], picks[j] = picks[j], picks[i]
			}
			s.place(picks, ws, end)
		}
	}
}

// take moves up to n people from the carry queue, then the list, into dst.
// People who would make the minute's counts inexact wait in the carry queue:
// in controlled minutes anyone not clean; anywhere, regex false positives
// beyond the budget.
func (s *sim) take(dst []int32, carry *fifo, list []int32, i *int, n int64, needClean bool, fpBudget *int64, day int32) []int32 {
	pop := s.pop
	skip := func(p int32) bool {
		if isMicrosoft(pop.domain[p]) {
			return needClean && !pop.clean(p, day)
		}
		if !pop.naive[p] {
			return false
		}
		if *fpBudget <= 0 {
			return true
		}
		*fpBudget--
		return false
	}
	for k := carry.len(); k > 0 && n > 0; k-- {
		p := carry.pop()
		if skip(p) {
			carry.push(p)
			continue
		}
		dst = append(dst, p)
		n--
	}
	for ; n > 0 && *i < len(list); *i++ {
		p := list[*i]
		if skip(p) {
			carry.push(p)
			continue
		}
		dst = append(dst, p)
		n--
	}
	return dst
}

// place gives people evenly spaced send times in [from, to), each at a random
// point of its slot.
func (s *sim) place(people []int32, from, to int64) {
	n := int64(len(people))
	if n == 0 {
		return
	}
	slot := (to - from) / n
	for k, p := range people {
		t := from + int64(k)*slot + s.r.intn(slot)
		s.sends = append(s.sends, send{t: t, person: p, stream: streamNewsletter, ip: -1})
	}
}

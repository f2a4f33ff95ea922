package example

import "strconv"

// Row statuses: the application's own words, as stored from the ESP's webhooks.
const (
	statusDelivered uint8 = iota
	statusDeferred
	statusBounce
	statusDropped
	statusSpamreport
)

var statusText = [...]string{"delivered", "deferred", "bounce", "dropped", "spamreport"}

// What the response column holds.
const (
	replyNone        uint8 = iota // NULL
	replyDropReason               // the ESP's reason for dropping
	replyDelivered                // the receiving server's 250
	replyRateLimited              // Outlook.com's 451 4.7.650 (S775)
	replyUnknownUser              // the receiving server's "no such user"
	replyGreylisted               // postgrey's 450 4.2.0
	replyOverQuota                // Gmail's 452 4.2.2
)

// A rec is one row as the simulation decided it.
type rec struct {
	t        int64 // created_at, µs
	id       int64
	msgFirst int64  // when the ESP took the message: part of its id
	msgSeed  uint64 // draws the message's id
	person   int32
	status   uint8
	reply    uint8
	drop     uint8 // suppression state behind a drop
	ip       int8  // -1: NULL
	attempt  uint8 // 0: NULL
	stream   uint8
}

var dropReason = [...]string{stBounced: "Bounced Address", stSpam: "Spam Reporting Address", stUnsub: "Unsubscribed Address"}

// renderer turns recs into CSV lines. Randomness in a row's text comes from
// the row's id (and its message's seed), never from shared state.
type renderer struct {
	pop     *population
	r       source
	msgID   []byte
	day     int64 // the day whose date prefix is cached
	dateBuf []byte
	addrs   []addr
}

func (rd *renderer) render(b []byte, recs []rec) []byte {
	// Gather the batch's addresses first: the lookups are random and
	// independent, so the CPU overlaps their cache misses here instead of
	// waiting for one per row.
	rd.addrs = rd.addrs[:0]
	for i := range recs {
		rd.addrs = append(rd.addrs, rd.pop.addr[recs[i].person])
	}
	for i := range recs {
		b = rd.line(b, &recs[i], &rd.addrs[i])
	}
	return b
}

func (rd *renderer) line(b []byte, x *rec, a *addr) []byte {
	d := &domains[a.dom]
	email := a.email()
	rd.r.reseed(x.msgSeed)
	rd.msgID = rd.r.appendESPMessageID(rd.msgID[:0], x.msgFirst)
	r := &rd.r
	r.reseed(uint64(x.id))

	b = strconv.AppendInt(b, x.id, 10)
	b = append(b, ',')
	if day := x.t / usDay; day != rd.day || rd.dateBuf == nil {
		rd.day, rd.dateBuf = day, appendDate(rd.dateBuf[:0], day, ' ')
	}
	b = append(b, rd.dateBuf...)
	b = appendPgTime(b, x.t%usDay)
	b = append(b, ',')
	b = append(b, email...) // addresses never need quoting
	b = append(b, ',')
	b = append(b, statusText[x.status]...)
	b = append(b, ',')
	at := len(b)
	// Replies quoting a server's clock use a moment before the ESP's event.
	serverTime := x.t - r.between(40_000, 900_000)
	switch x.reply {
	case replyDropReason:
		b = append(b, dropReason[x.drop]...)
	case replyDelivered:
		b = r.appendDelivered(b, d.mb, rd.msgID[:22], x.stream, x.t)
	case replyRateLimited:
		b = r.appendRateLimited(b, int(x.ip), serverTime)
	case replyUnknownUser:
		b = r.appendUnknownUser(b, d.mb, email, d.name, serverTime)
	case replyGreylisted:
		b = appendGreylisted(b, email, d.name)
	case replyOverQuota:
		b = r.appendGmailOverQuota(b)
	}
	b = quoteCSV(b, at)
	b = append(b, ',')
	if x.ip >= 0 {
		b = append(b, ipText[x.ip]...)
	}
	b = append(b, ',')
	b = append(b, rd.msgID...)
	b = append(b, ',')
	if x.attempt > 0 {
		b = strconv.AppendInt(b, int64(x.attempt), 10)
	}
	b = append(b, ',')
	b = append(b, streamText[x.stream]...)
	return append(b, '\n')
}

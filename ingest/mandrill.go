package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// mandrillFormat reads Mandrill message event webhooks: the decoded
// mandrill_events form field (a JSON array per POST, or one array or event
// per line), or the raw form-encoded POST body itself.
//
// Each webhook event becomes one event. The msg.smtp_events log does not:
// it is the message's attempt history repeated on every later webhook of that
// message, and each deferred attempt already has its own deferral webhook, so
// its entries would count attempts again. The log supplies the reported
// attempt's reply and sending IP.
type mandrillFormat struct{}

func (mandrillFormat) Name() string { return "mandrill" }

func (mandrillFormat) Cues() string {
	return `JSON with "event", "_id" and "msg" fields, or a form body starting "mandrill_events="`
}

const mandrillFormPrefix = "mandrill_events="

func (mandrillFormat) Sniff(head []byte) (bool, string) {
	if bytes.HasPrefix(bytes.TrimLeft(head, " \t\r\n"), []byte(mandrillFormPrefix)) {
		return true, `a form-encoded Mandrill POST body ("mandrill_events=")`
	}
	shape, _, ok := espSniff(head, []string{"event", "_id", "msg"})
	if !ok {
		return false, ""
	}
	return true, shape + ` of Mandrill events with "event", "_id" and "msg" fields`
}

type mandrillSMTPEvent struct {
	TS       flexString `json:"ts"`
	Type     string     `json:"type"`
	Diag     string     `json:"diag"`
	SourceIP string     `json:"source_ip"`
}

type mandrillDoc struct {
	Event string     `json:"event"`
	ID    string     `json:"_id"`
	TS    flexString `json:"ts"`
	Msg   *struct {
		ID         string              `json:"_id"`
		Email      string              `json:"email"`
		Tags       json.RawMessage     `json:"tags"`
		Diag       string              `json:"diag"`
		SMTPEvents []mandrillSMTPEvent `json:"smtp_events"`
	} `json:"msg"`
	// Sync events (rejection list changes) have these instead.
	Type   string `json:"type"`
	Action string `json:"action"`
}

var mandrillWords = wordTable{
	"send": TypeSent, "deferral": TypeDeferred, "hard_bounce": TypeBounced,
	// A soft bounce is a temporary failure, counted with deferrals as for
	// every other ESP.
	"soft_bounce": TypeDeferred,
	"reject":      TypeDropped, "spam": TypeComplaint,
	"open": TypeOther, "click": TypeOther, "unsub": TypeOther,
}

func (mandrillFormat) Parse(ctx context.Context, r io.Reader, opts *ParseOptions, sink Sink) error {
	br := bufio.NewReaderSize(r, 64<<10)
	if c, err := peekNonSpace(br); err != nil {
		return err
	} else if c == 'm' {
		r = &formFieldReader{r: br, prefix: mandrillFormPrefix, atStart: true}
	} else {
		r = br
	}
	p := &mandrillParser{rec: espRecord{opts: opts, sink: sink}}
	return parseJSONRecords(ctx, r, opts, sink, p.parse)
}

type mandrillParser struct {
	rec espRecord
	evs [1]Event
}

func (p *mandrillParser) parse(raw []byte) ([]Event, string) {
	var d mandrillDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, "not a Mandrill event: " + jsonErr(err)
	}
	switch {
	case d.Event == "" && d.Type != "":
		return nil, fmt.Sprintf("a Mandrill sync event (%s %s), not a message event", clip(d.Type, 20), clip(d.Action, 20))
	case d.Event == "":
		return nil, `no "event" field`
	case d.Event == "inbound":
		return nil, "an inbound message, not a sent one"
	case d.Msg == nil:
		return nil, fmt.Sprintf(`event %q without a "msg" object`, clip(d.Event, 40))
	}
	typ, ok := mandrillWords.lookup(d.Event, p.rec.opts.Status)
	if !ok {
		return nil, unknownEvent("Mandrill", "event", d.Event)
	}
	ev := &p.evs[0]
	*ev = Event{Type: typ, Word: d.Event, MessageID: firstNonEmpty(d.Msg.ID, d.ID)}
	// The top-level ts is when the event happened; msg.ts is when the
	// message was sent.
	t, reason := p.rec.time("ts", string(d.TS))
	if reason != "" {
		return nil, reason
	}
	ev.Time = t
	if reason := p.rec.recipient(ev, "msg.email", d.Msg.Email); reason != "" {
		return nil, reason
	}
	ev.Class = firstCategory(d.Msg.Tags)
	// The attempt this webhook reports is the latest logged at or before it.
	var att *mandrillSMTPEvent
	for i := range d.Msg.SMTPEvents {
		se := &d.Msg.SMTPEvents[i]
		st, _, err := ParseTime(string(se.TS), p.rec.opts.TZ)
		if err == nil && !st.After(t) {
			att = se
		}
	}
	var ip string
	if att != nil && typ != TypeOther && typ != TypeComplaint {
		ev.Reply, ip = att.Diag, att.SourceIP
		// "send" means the receiver took the message when the attempt
		// it reports says so.
		if typ == TypeSent && att.Type == "sent" && strings.HasPrefix(strings.TrimSpace(att.Diag), "2") {
			ev.Type = TypeDelivered
		}
	}
	if ev.Reply == "" && (typ == TypeBounced || typ == TypeDeferred || typ == TypeDropped) {
		ev.Reply = d.Msg.Diag
	}
	if reason := p.rec.finish(ev, "smtp_events.source_ip", ip); reason != "" {
		return nil, reason
	}
	// _id names the message, not the event.
	ev.Key = newKey("mandrill").str(ev.MessageID).str(d.Event).str(ev.Recipient).u64(uint64(t.UnixMicro())).str(ev.Reply).sum()
	return p.evs[:], ""
}

// formFieldReader turns form-encoded POST bodies (one per line) into the
// value of their first field, percent-decoded, streaming: "name=%5B..." reads
// as "[...". Other fields after '&' are skipped.
type formFieldReader struct {
	r       *bufio.Reader
	prefix  string
	atStart bool
	skip    bool
	err     error
}

func (f *formFieldReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && f.err == nil {
		if f.atStart {
			f.atStart = false
			for {
				b, err := f.r.Peek(1)
				if err != nil || (b[0] != '\n' && b[0] != '\r') {
					break
				}
				f.r.ReadByte()
			}
			head, _ := f.r.Peek(len(f.prefix))
			if string(head) == f.prefix {
				f.r.Discard(len(f.prefix))
			} else if len(head) > 0 {
				f.err = fmt.Errorf("expected a form body starting %q, found %q", f.prefix, clip(string(head), 40))
				break
			}
		}
		c, err := f.r.ReadByte()
		if err != nil {
			f.err = err
			break
		}
		switch {
		case c == '\n':
			f.skip, f.atStart = false, true
			p[n] = '\n'
			n++
		case f.skip || c == '\r':
		case c == '&':
			f.skip = true
		case c == '+':
			p[n] = ' '
			n++
		case c == '%':
			h, err := f.r.Peek(2)
			if err != nil || unhex(h[0]) < 0 || unhex(h[1]) < 0 {
				f.err = fmt.Errorf("bad percent-encoding in the form body")
				break
			}
			f.r.Discard(2)
			p[n] = byte(unhex(h[0])<<4 | unhex(h[1]))
			n++
		default:
			p[n] = c
			n++
		}
	}
	if n > 0 {
		return n, nil
	}
	return 0, f.err
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

package ingest

import (
	"context"
	"encoding/json"
	"io"
	"strings"
)

// brevoFormat reads Brevo (formerly Sendinblue) transactional webhooks: one
// JSON object per POST, archived one per line.
type brevoFormat struct{}

func (brevoFormat) Name() string { return "brevo" }

func (brevoFormat) Cues() string { return `JSON objects with a "ts_epoch" field` }

func (brevoFormat) Sniff(head []byte) (bool, string) {
	shape, _, ok := espSniff(head, []string{"ts_epoch", "event"})
	if !ok {
		return false, ""
	}
	return true, shape + ` of Brevo webhooks with "ts_epoch" fields`
}

type brevoDoc struct {
	Event     string          `json:"event"`
	Email     string          `json:"email"`
	TSEpoch   flexString      `json:"ts_epoch"`
	MessageID string          `json:"message-id"`
	Reason    string          `json:"reason"`
	SendingIP string          `json:"sending_ip"`
	Tags      json.RawMessage `json:"tags"`
}

var brevoWords = wordTable{
	"request": TypeProcessed, "delivered": TypeDelivered, "deferred": TypeDeferred,
	"soft_bounce": TypeDeferred, "hard_bounce": TypeBounced,
	"blocked": TypeDropped, "invalid_email": TypeDropped, "error": TypeDropped,
	"spam": TypeComplaint, "complaint": TypeComplaint,
	"opened": TypeOther, "unique_opened": TypeOther, "proxy_open": TypeOther, "unique_proxy_open": TypeOther,
	"click": TypeOther, "unsubscribed": TypeOther,
}

func (brevoFormat) Parse(ctx context.Context, r io.Reader, opts *ParseOptions, sink Sink) error {
	p := &brevoParser{rec: espRecord{opts: opts, sink: sink}}
	return parseJSONRecords(ctx, r, opts, sink, p.parse)
}

type brevoParser struct {
	rec espRecord
	evs [1]Event
}

func (p *brevoParser) parse(raw []byte) ([]Event, string) {
	var d brevoDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, "not a Brevo webhook: " + jsonErr(err)
	}
	if d.Event == "" {
		return nil, `no "event" field`
	}
	typ, ok := brevoWords.lookup(d.Event, p.rec.opts.Status)
	if !ok {
		return nil, unknownEvent("Brevo", "event", d.Event)
	}
	ev := &p.evs[0]
	*ev = Event{Type: typ, Word: d.Event, MessageID: d.MessageID}
	// ts, ts_event and date are in the account's time zone (shifted epoch
	// seconds, local text); only ts_epoch is UTC, in milliseconds.
	if strings.TrimSpace(string(d.TSEpoch)) == "" {
		return nil, `no "ts_epoch" field (Brevo's "ts" and "date" are in the account's time zone, not UTC, and are not used)`
	}
	t, reason := p.rec.time("ts_epoch", string(d.TSEpoch))
	if reason != "" {
		return nil, reason
	}
	ev.Time = t
	if reason := p.rec.recipient(ev, "email", d.Email); reason != "" {
		return nil, reason
	}
	ev.Class = firstCategory(d.Tags)
	ev.Reply = d.Reason
	if reason := p.rec.finish(ev, "sending_ip", d.SendingIP); reason != "" {
		return nil, reason
	}
	// Brevo's "id" is the webhook's id, shared by all its events.
	ev.Key = newKey("brevo").str(d.Event).str(ev.Recipient).str(d.MessageID).u64(uint64(t.UnixMicro())).str(ev.Reply).sum()
	return p.evs[:], ""
}

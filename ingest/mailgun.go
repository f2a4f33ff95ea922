package ingest

import (
	"context"
	"encoding/json"
	"io"
	"strings"
)

// mailgunFormat reads Mailgun events: Events API pages
// ({"items": [...], "paging": {...}}), webhook bodies
// ({"signature": {...}, "event-data": {...}}) one per line, and bare events.
type mailgunFormat struct{}

func (mailgunFormat) Name() string { return "mailgun" }

func (mailgunFormat) Cues() string {
	return `JSON with "event-data" (webhook bodies), "items" with "paging" (Events API pages), or events with "log-level" and "recipient-domain"`
}

func (mailgunFormat) Sniff(head []byte) (bool, string) {
	shape, keys, ok := espSniff(head,
		[]string{"event-data", "signature"},
		[]string{"items", "paging"},
		[]string{"event", "log-level", "recipient-domain"})
	if !ok {
		return false, ""
	}
	switch keys[0] {
	case "event-data":
		return true, shape + ` of Mailgun webhook bodies ("signature", "event-data")`
	case "items":
		return true, shape + ` of Mailgun Events API pages ("items")`
	}
	return true, shape + ` of Mailgun events with "log-level" and "recipient-domain" fields`
}

type mailgunDoc struct {
	EventData json.RawMessage `json:"event-data"`

	Event     string          `json:"event"`
	ID        string          `json:"id"`
	Timestamp flexString      `json:"timestamp"`
	Recipient string          `json:"recipient"`
	Severity  string          `json:"severity"`
	Reason    string          `json:"reason"`
	Tags      json.RawMessage `json:"tags"`
	Envelope  struct {
		SendingIP string `json:"sending-ip"`
	} `json:"envelope"`
	Message struct {
		Headers struct {
			MessageID string `json:"message-id"`
		} `json:"headers"`
	} `json:"message"`
	DeliveryStatus struct {
		Code         flexString `json:"code"`
		Message      string     `json:"message"`
		Description  string     `json:"description"`
		EnhancedCode string     `json:"enhanced-code"`
		AttemptNo    flexString `json:"attempt-no"`
	} `json:"delivery-status"`
}

var mailgunWords = wordTable{
	"accepted": TypeProcessed, "delivered": TypeDelivered, "rejected": TypeDropped,
	"complained": TypeComplaint, "opened": TypeOther, "clicked": TypeOther, "unsubscribed": TypeOther, "stored": TypeOther,
}

func (mailgunFormat) Parse(ctx context.Context, r io.Reader, opts *ParseOptions, sink Sink) error {
	p := &mailgunParser{rec: espRecord{opts: opts, sink: sink}}
	return parseJSONShaped(ctx, r, opts, sink, []string{"items"}, p.parse)
}

type mailgunParser struct {
	rec espRecord
	evs [1]Event
}

func (p *mailgunParser) parse(raw []byte) ([]Event, string) {
	var d mailgunDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, "not a Mailgun event: " + jsonErr(err)
	}
	if len(d.EventData) > 0 {
		inner := d.EventData
		d = mailgunDoc{}
		if err := json.Unmarshal(inner, &d); err != nil {
			return nil, `"event-data": ` + jsonErr(err)
		}
	}
	if d.Event == "" {
		return nil, `no "event" field`
	}
	ev := &p.evs[0]
	*ev = Event{Word: d.Event}
	switch strings.ToLower(d.Event) {
	case "failed":
		// One event name for deferrals and failures: severity decides.
		sev := strings.ToLower(d.Severity)
		ev.Word = d.Event + "/" + sev
		switch {
		case sev == "temporary":
			ev.Type = TypeDeferred
		case sev != "permanent":
			return nil, `"failed" event with severity ` + `"` + clip(d.Severity, 20) + `" (expected temporary or permanent)`
		case strings.HasPrefix(d.Reason, "suppress-"):
			// Mailgun did not try: the address is on a suppression list.
			ev.Type = TypeDropped
			ev.Word += "/" + d.Reason
		default:
			ev.Type = TypeBounced
		}
	default:
		typ, ok := mailgunWords.lookup(d.Event, p.rec.opts.Status)
		if !ok {
			return nil, unknownEvent("Mailgun", "event", d.Event)
		}
		ev.Type = typ
	}
	t, reason := p.rec.time("timestamp", string(d.Timestamp))
	if reason != "" {
		return nil, reason
	}
	ev.Time = t
	if reason := p.rec.recipient(ev, "recipient", d.Recipient); reason != "" {
		return nil, reason
	}
	ds := &d.DeliveryStatus
	// "message" is the receiver's reply without its code; "description" is
	// Mailgun's own text when no SMTP session took place.
	ev.Reply = firstNonEmpty(strings.TrimSpace(ds.Message), strings.TrimSpace(ds.Description))
	code, reason := flexInt(ds.Code, "delivery-status.code")
	if reason != "" {
		return nil, reason
	}
	ev.SMTPCode, ev.EnhancedCode = code, ds.EnhancedCode
	if ev.Attempt, reason = flexInt(ds.AttemptNo, "delivery-status.attempt-no"); reason != "" {
		return nil, reason
	}
	ev.MessageID = d.Message.Headers.MessageID
	ev.Class = firstCategory(d.Tags)
	if reason := p.rec.finish(ev, "envelope.sending-ip", d.Envelope.SendingIP); reason != "" {
		return nil, reason
	}
	// Mailgun's event id is unique only within a day.
	day := uint64(t.Unix() / 86400)
	if d.ID != "" {
		ev.Key = newKey("mailgun").str(d.ID).u64(day).sum()
	} else {
		ev.Key = newKey("mailgun-content").str(d.Event).str(ev.Recipient).str(ev.MessageID).u64(uint64(t.UnixMicro())).str(ev.Reply).sum()
	}
	return p.evs[:], ""
}

package ingest

import (
	"context"
	"encoding/json"
	"io"
	"strings"
)

// sparkPostFormat reads SparkPost webhook batches: a JSON array of
// {"msys": {"<kind>_event": {...}}} objects per POST, or one object or batch
// per line.
type sparkPostFormat struct{}

func (sparkPostFormat) Name() string { return "sparkpost" }

func (sparkPostFormat) Cues() string { return `JSON objects with an "msys" field` }

func (sparkPostFormat) Sniff(head []byte) (bool, string) {
	shape, _, ok := espSniff(head, []string{"msys"})
	if !ok {
		return false, ""
	}
	return true, shape + ` of SparkPost webhook objects with "msys" fields`
}

type sparkPostEvent struct {
	Type        string     `json:"type"`
	EventID     flexString `json:"event_id"`
	MessageID   string     `json:"message_id"`
	Timestamp   flexString `json:"timestamp"`
	RcptTo      string     `json:"rcpt_to"`
	RawRcptTo   string     `json:"raw_rcpt_to"`
	SendingIP   string     `json:"sending_ip"`
	RawReason   string     `json:"raw_reason"`
	Reason      string     `json:"reason"`
	ErrorCode   flexString `json:"error_code"`
	NumRetries  flexString `json:"num_retries"`
	CampaignID  string     `json:"campaign_id"`
	BounceClass flexString `json:"bounce_class"`
}

// sparkPostMsys holds one of these; which one says what family the event is.
type sparkPostMsys struct {
	Msys *struct {
		MessageEvent     *sparkPostEvent `json:"message_event"`
		TrackEvent       *sparkPostEvent `json:"track_event"`
		GenEvent         *sparkPostEvent `json:"gen_event"`
		UnsubscribeEvent *sparkPostEvent `json:"unsubscribe_event"`
		RelayEvent       *sparkPostEvent `json:"relay_event"`
		ABTestEvent      *sparkPostEvent `json:"ab_test_event"`
	} `json:"msys"`
}

// sparkPostWords follows SparkPost's definitions: "delay" is a temporary
// rejection the MTA will retry, "bounce" and "out_of_band" permanent ones.
var sparkPostWords = wordTable{
	"injection": TypeProcessed, "delivery": TypeDelivered, "delay": TypeDeferred,
	"bounce": TypeBounced, "out_of_band": TypeBounced,
	"policy_rejection": TypeDropped, "generation_failure": TypeDropped, "generation_rejection": TypeDropped,
	"spam_complaint": TypeComplaint,
	"open":           TypeOther, "initial_open": TypeOther, "click": TypeOther, "amp_open": TypeOther,
	"amp_initial_open": TypeOther, "amp_click": TypeOther, "list_unsubscribe": TypeOther, "link_unsubscribe": TypeOther,
	"relay_injection": TypeOther, "relay_rejection": TypeOther, "relay_delivery": TypeOther,
	"relay_tempfail": TypeOther, "relay_permfail": TypeOther,
}

func (sparkPostFormat) Parse(ctx context.Context, r io.Reader, opts *ParseOptions, sink Sink) error {
	p := &sparkPostParser{rec: espRecord{opts: opts, sink: sink}}
	return parseJSONRecords(ctx, r, opts, sink, p.parse)
}

type sparkPostParser struct {
	rec espRecord
	evs [1]Event
}

func (p *sparkPostParser) parse(raw []byte) ([]Event, string) {
	var m sparkPostMsys
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, "not a SparkPost webhook object: " + jsonErr(err)
	}
	if m.Msys == nil {
		return nil, `no "msys" object`
	}
	var e *sparkPostEvent
	for _, c := range []*sparkPostEvent{m.Msys.MessageEvent, m.Msys.TrackEvent, m.Msys.GenEvent, m.Msys.UnsubscribeEvent, m.Msys.RelayEvent} {
		if c != nil {
			e = c
			break
		}
	}
	switch {
	case e == nil && m.Msys.ABTestEvent != nil:
		return nil, "an A/B test notification, not a message event"
	case e == nil:
		// SparkPost posts [{"msys": {}}] to test a new webhook.
		return nil, `an empty "msys" object (SparkPost's webhook test ping), no event`
	case e.Type == "":
		return nil, `no "type" field`
	}
	ev := &p.evs[0]
	typ, ok := sparkPostWords.lookup(e.Type, p.rec.opts.Status)
	if !ok {
		return nil, unknownEvent("SparkPost", "type", e.Type)
	}
	*ev = Event{Type: typ, Word: e.Type, MessageID: e.MessageID, Class: e.CampaignID}
	// "timestamp" is epoch seconds as a string in webhooks, ISO 8601 in some
	// exports; ParseTime reads both.
	t, reason := p.rec.time("timestamp", string(e.Timestamp))
	if reason != "" {
		return nil, reason
	}
	ev.Time = t
	if reason := p.rec.recipient(ev, "rcpt_to", firstNonEmpty(e.RcptTo, e.RawRcptTo)); reason != "" {
		return nil, reason
	}
	// raw_reason is the receiver's reply as sent; "reason" may be redacted.
	ev.Reply = firstNonEmpty(e.RawReason, e.Reason)
	code, reason := flexInt(e.ErrorCode, "error_code")
	if reason != "" {
		return nil, reason
	}
	ev.SMTPCode = code
	// num_retries counts the failed attempts so far: on a delay it includes
	// the one being reported, on a delivery it precedes it. On a bounce it is
	// unclear, so the attempt stays unknown there.
	n, reason := flexInt(e.NumRetries, "num_retries")
	if reason != "" {
		return nil, reason
	}
	switch strings.ToLower(e.Type) {
	case "delay":
		ev.Attempt = n
	case "delivery":
		if strings.TrimSpace(string(e.NumRetries)) != "" {
			ev.Attempt = n + 1
		}
	}
	// ip_address is the receiving MX's address; sending_ip is ours.
	if reason := p.rec.finish(ev, "sending_ip", e.SendingIP); reason != "" {
		return nil, reason
	}
	if id := strings.TrimSpace(string(e.EventID)); id != "" {
		ev.Key = newKey("sparkpost").str(id).sum()
	} else {
		ev.Key = newKey("sparkpost-content").str(e.Type).str(ev.Recipient).str(ev.MessageID).u64(uint64(t.UnixMicro())).str(ev.Reply).sum()
	}
	return p.evs[:], ""
}

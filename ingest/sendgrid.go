package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// sendGridFormat reads SendGrid Event Webhook posts: a JSON array of flat
// events per POST, or an archive with one event (or one POST body) per line.
type sendGridFormat struct{}

func (sendGridFormat) Name() string { return "sendgrid" }

func (sendGridFormat) Cues() string { return `JSON objects with "sg_event_id" or "sg_message_id"` }

func (sendGridFormat) Sniff(head []byte) (bool, string) {
	t := bytes.TrimLeft(head, " \t\r\n\ufeff")
	if len(t) == 0 || (t[0] != '[' && t[0] != '{') {
		return false, ""
	}
	for _, cue := range []string{`"sg_event_id"`, `"sg_message_id"`} {
		if bytes.Contains(head, []byte(cue)) {
			shape := "JSON lines"
			if t[0] == '[' {
				shape = "a JSON array"
			}
			return true, fmt.Sprintf("%s with %s fields", shape, cue)
		}
	}
	return false, ""
}

type sendGridEvent struct {
	Email       string          `json:"email"`
	Timestamp   json.RawMessage `json:"timestamp"`
	Event       string          `json:"event"`
	SGEventID   string          `json:"sg_event_id"`
	SGMessageID string          `json:"sg_message_id"`
	SMTPID      string          `json:"smtp-id"`
	IP          string          `json:"ip"`
	Response    string          `json:"response"`
	Reason      string          `json:"reason"`
	Status      string          `json:"status"`
	Attempt     json.RawMessage `json:"attempt"`
	Category    json.RawMessage `json:"category"`
}

func (f sendGridFormat) Parse(ctx context.Context, r io.Reader, opts *ParseOptions, sink Sink) error {
	return parseJSONRecords(ctx, r, opts, sink, func(raw []byte) ([]Event, string) {
		var e sendGridEvent
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, "not a SendGrid event: " + jsonErr(err)
		}
		ev, reason := f.event(&e, opts)
		if reason != "" {
			return nil, reason
		}
		return []Event{ev}, ""
	})
}

func (sendGridFormat) event(e *sendGridEvent, opts *ParseOptions) (Event, string) {
	var ev Event
	if e.Event == "" {
		return ev, `no "event" field`
	}
	typ, ok := opts.Status.Lookup(e.Event)
	if !ok {
		return ev, fmt.Sprintf("event %q is not a known SendGrid event (map it with --status %s=TYPE)", clip(e.Event, 40), quoteWord(e.Event))
	}
	ev.Type, ev.Word = typ, e.Event
	ts := strings.Trim(string(e.Timestamp), `"`)
	if ts == "" || ts == "null" {
		return ev, `no "timestamp" field`
	}
	t, _, err := ParseTime(ts, opts.TZ)
	if err != nil {
		return ev, "timestamp: " + err.Error()
	}
	ev.Time = t
	addr, domain, ok := SplitAddress(e.Email)
	if !ok {
		return ev, fmt.Sprintf("email %q is not an e-mail address", clip(e.Email, 80))
	}
	ev.Recipient, ev.Domain = addr, domain
	switch typ {
	case TypeDelivered, TypeDeferred, TypeSent:
		ev.Reply = e.Response
	case TypeBounced, TypeDropped:
		ev.Reply = e.Reason
	}
	if ev.Reply == "" {
		ev.Reply = firstNonEmpty(e.Response, e.Reason)
	}
	ev.Reply = strings.TrimSpace(ev.Reply)
	ev.EnhancedCode = strings.TrimSpace(e.Status)
	fillCodes(&ev)
	// "ip" is the sending IP only on delivery events; on opens and clicks it
	// is the reader's.
	if typ == TypeDelivered || typ == TypeDeferred || typ == TypeBounced {
		if e.IP != "" {
			ip, ok := normalizeIP(e.IP)
			if !ok {
				return ev, fmt.Sprintf("ip %q is not an IP address", clip(e.IP, 60))
			}
			ev.SendingIP = ip
		}
		if ev.SendingIP == "" {
			ev.SendingIP = ipFromReply(ev.Reply)
		}
	}
	ev.MessageID = firstNonEmpty(e.SGMessageID, e.SMTPID)
	if a := strings.Trim(string(e.Attempt), `"`); a != "" && a != "null" {
		n, err := strconv.Atoi(a)
		if err != nil || n < 0 {
			return ev, fmt.Sprintf("attempt %q is not a whole number", clip(a, 20))
		}
		ev.Attempt = n
	}
	ev.Class = firstCategory(e.Category)
	if e.SGEventID != "" {
		ev.Key = hashFields("sendgrid", e.SGEventID)
	} else {
		ev.Key = hashFields("sendgrid-content", ts, addr, e.Event, e.SGMessageID, ev.Reply, strconv.Itoa(ev.Attempt))
	}
	return ev, ""
}

// firstCategory reads SendGrid's category, a string or an array of strings.
func firstCategory(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil && len(list) > 0 {
		return list[0]
	}
	return ""
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

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
	return parseJSONRecords(ctx, r, opts, sink, newSendGridParser(opts).parse)
}

// sendGridParser keeps what one Parse reuses from record to record.
type sendGridParser struct {
	opts   *ParseOptions
	e      sendGridEvent
	evs    [1]Event
	intern map[string]string // repeated values (event words, IPs, replies) stored once
	ips    map[string]string // raw -> canonical sending IP
}

func newSendGridParser(opts *ParseOptions) *sendGridParser {
	return &sendGridParser{opts: opts, intern: map[string]string{}, ips: map[string]string{}}
}

func (p *sendGridParser) parse(raw []byte) ([]Event, string) {
	e := &p.e
	var class string
	if p.decodeFast(raw) {
		class = p.category(e.Category)
	} else {
		// encoding/json is the reference; the fast path hands it anything unusual.
		*e = sendGridEvent{}
		if err := json.Unmarshal(raw, e); err != nil {
			return nil, "not a SendGrid event: " + jsonErr(err)
		}
		class = firstCategory(e.Category)
	}
	ev, reason := p.event(e, class)
	if reason != "" {
		return nil, reason
	}
	p.evs[0] = ev
	return p.evs[:], ""
}

// decodeFast fills p.e in one pass over raw, as json.Unmarshal would, or
// returns false when raw holds anything it leaves to encoding/json: invalid
// JSON, a type encoding/json would refuse, or a key that only matches a field
// case-insensitively. The RawMessage fields alias raw and must be used before
// the next record.
func (p *sendGridParser) decodeFast(raw []byte) bool {
	e := &p.e
	*e = sendGridEvent{}
	return scanFlatObject(raw, func(key, val []byte, kind byte) bool {
		var dst *string
		intern := false
		switch string(key) {
		case "email":
			dst = &e.Email
		case "event":
			dst, intern = &e.Event, true
		case "sg_event_id":
			dst = &e.SGEventID
		case "sg_message_id":
			dst = &e.SGMessageID
		case "smtp-id":
			dst = &e.SMTPID
		case "ip":
			dst, intern = &e.IP, true
		case "response":
			dst, intern = &e.Response, true
		case "reason":
			dst, intern = &e.Reason, true
		case "status":
			dst, intern = &e.Status, true
		case "timestamp":
			e.Timestamp = val
			return true
		case "attempt":
			e.Attempt = val
			return true
		case "category":
			e.Category = val
			return true
		default:
			return !foldsToSendGridKey(key)
		}
		switch kind {
		case 's':
			if intern {
				*dst = p.internString(val[1 : len(val)-1])
			} else {
				*dst = string(val[1 : len(val)-1])
			}
		case 'e':
			if err := json.Unmarshal(val, dst); err != nil {
				return false
			}
		case 'z':
			// null leaves a string as it was, as in encoding/json.
		default:
			return false
		}
		return true
	})
}

var sendGridKeys = []string{"email", "event", "sg_event_id", "sg_message_id", "smtp-id", "ip", "response", "reason", "status", "timestamp", "attempt", "category"}

func foldsToSendGridKey(key []byte) bool {
	for _, k := range sendGridKeys {
		if len(k) == len(key) && bytes.EqualFold(key, []byte(k)) {
			return true
		}
	}
	return false
}

func (p *sendGridParser) internString(b []byte) string {
	if s, ok := p.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(p.intern) < 4096 && len(s) <= 512 {
		p.intern[s] = s
	}
	return s
}

// category is firstCategory without its double decoding when the category is
// a plain string or an array of plain strings, as it nearly always is.
func (p *sendGridParser) category(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	s := jsonScan{b: raw}
	switch raw[0] {
	case '"':
		if kind, ok := s.str(); ok && kind == 's' && s.end() {
			return p.internString(raw[1 : len(raw)-1])
		}
	case '[':
		s.i++
		s.space()
		first := ""
		for n := 0; ; n++ {
			if n == 0 && s.eat(']') {
				break
			}
			s.space()
			v0 := s.i
			if kind, ok := s.str(); !ok || kind != 's' {
				return firstCategory(raw)
			}
			if n == 0 {
				first = p.internString(raw[v0+1 : s.i-1])
			}
			s.space()
			if s.eat(',') {
				continue
			}
			if s.eat(']') {
				break
			}
			return firstCategory(raw)
		}
		if s.end() {
			return first
		}
	}
	return firstCategory(raw)
}

func (p *sendGridParser) event(e *sendGridEvent, class string) (Event, string) {
	opts := p.opts
	var ev Event
	if e.Event == "" {
		return ev, `no "event" field`
	}
	typ, ok := opts.Status.Lookup(e.Event)
	if !ok {
		return ev, fmt.Sprintf("event %q is not a known SendGrid event (map it with --status %s=TYPE)", clip(e.Event, 40), quoteWord(e.Event))
	}
	ev.Type, ev.Word = typ, e.Event
	var ts string
	if t, ok := epochSeconds(e.Timestamp); ok {
		ev.Time = t
	} else {
		ts = strings.Trim(string(e.Timestamp), `"`)
		if ts == "" || ts == "null" {
			return ev, `no "timestamp" field`
		}
		t, _, err := ParseTime(ts, opts.TZ)
		if err != nil {
			return ev, "timestamp: " + err.Error()
		}
		ev.Time = t
	}
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
			ip, ok := p.ips[e.IP]
			if !ok {
				if ip, ok = normalizeIP(e.IP); !ok {
					return ev, fmt.Sprintf("ip %q is not an IP address", clip(e.IP, 60))
				}
				if len(p.ips) < 4096 {
					p.ips[e.IP] = ip
				}
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
	ev.Class = class
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

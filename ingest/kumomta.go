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

// kumoMTAFormat reads KumoMTA log records: one JSON object per line, in
// log segments that are usually zstd-compressed (input.go undoes that).
type kumoMTAFormat struct{}

func (kumoMTAFormat) Name() string { return "kumomta" }

func (kumoMTAFormat) Cues() string {
	return `JSON lines with "nodeid" and "queue" fields (KumoMTA log records)`
}

func (kumoMTAFormat) Sniff(head []byte) (bool, string) {
	t := bytes.TrimLeft(head, " \t\r\n\ufeff")
	if len(t) == 0 || t[0] != '{' {
		return false, ""
	}
	if bytes.Contains(head, []byte(`"nodeid"`)) && bytes.Contains(head, []byte(`"queue"`)) {
		return true, `JSON lines with "nodeid" and "queue" fields (KumoMTA log records)`
	}
	return false, ""
}

type kumoRecord struct {
	Type      string          `json:"type"`
	ID        string          `json:"id"`
	Recipient json.RawMessage `json:"recipient"` // a string, or an array in newer versions
	Queue     string          `json:"queue"`
	Response  struct {
		Code         int `json:"code"`
		EnhancedCode *struct {
			Class   int `json:"class"`
			Subject int `json:"subject"`
			Detail  int `json:"detail"`
		} `json:"enhanced_code"`
		Content string `json:"content"`
	} `json:"response"`
	Timestamp     json.RawMessage `json:"timestamp"`
	EventTime     string          `json:"event_time"`
	NumAttempts   int             `json:"num_attempts"`
	EgressSource  *string         `json:"egress_source"`
	SourceAddress *struct {
		Address string `json:"address"`
	} `json:"source_address"`
	Meta struct {
		Campaign json.RawMessage `json:"campaign"`
	} `json:"meta"`
	FeedbackReport *struct {
		SupplementalTrace *struct {
			Recipient string `json:"recipient"`
		} `json:"supplemental_trace"`
	} `json:"feedback_report"`
}

// kumoInternalPrefix starts the responses KumoMTA writes itself when no
// receiver answered (connection failures, its own queue limits). Their
// code (400) is KumoMTA's, not the receiver's.
const kumoInternalPrefix = "KumoMTA internal"

func (f kumoMTAFormat) Parse(ctx context.Context, r io.Reader, opts *ParseOptions, sink Sink) error {
	return parseJSONRecords(ctx, r, opts, sink, func(raw []byte) ([]Event, string) {
		var rec kumoRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			return nil, "not a KumoMTA log record: " + jsonErr(err)
		}
		return f.events(&rec, opts, sink)
	})
}

func kumoType(t string) (EventType, bool) {
	switch t {
	case "Reception":
		return TypeProcessed, true
	case "Delivery":
		return TypeDelivered, true
	case "TransientFailure":
		return TypeDeferred, true
	case "Bounce", "Expiration", "OOB":
		return TypeBounced, true
	case "AdminBounce", "Rejection":
		// An operator's bounce, or KumoMTA refusing a submission: never
		// the receiver's decision.
		return TypeDropped, true
	case "Feedback":
		return TypeComplaint, true
	case "Delay":
		// KumoMTA's own scheduling (its shaping rules), not an attempt.
		return TypeOther, true
	}
	return "", false
}

// kumoLocal says whether a record's response is KumoMTA's own rather than a
// receiver's reply.
func kumoLocal(rec *kumoRecord) bool {
	switch rec.Type {
	case "Reception", "Expiration", "AdminBounce", "Rejection", "Delay":
		return true
	}
	return strings.HasPrefix(rec.Response.Content, kumoInternalPrefix)
}

func (kumoMTAFormat) events(rec *kumoRecord, opts *ParseOptions, sink Sink) ([]Event, string) {
	if rec.Type == "" {
		return nil, `no "type" field`
	}
	typ, ok := kumoType(rec.Type)
	if !ok {
		if typ, ok = opts.Status.Lookup(rec.Type); !ok {
			return nil, fmt.Sprintf("type %q is not a KumoMTA log record type (map it with --status %s=TYPE)",
				clip(rec.Type, 40), quoteWord(rec.Type))
		}
	}
	var ev Event
	ev.Type, ev.Word = typ, rec.Type
	stamp := rec.EventTime
	if stamp == "" {
		stamp = strings.Trim(string(rec.Timestamp), `"`)
	}
	if stamp == "" || stamp == "null" {
		return nil, `no "event_time" or "timestamp" field`
	}
	t, zoneless, err := ParseTime(stamp, opts.TZ)
	if err != nil {
		return nil, "timestamp: " + err.Error()
	}
	if zoneless {
		sink.ZoneAssumed()
	}
	ev.Time = t
	rcpts, reason := kumoRecipients(rec)
	if reason != "" {
		return nil, reason
	}
	resp := &rec.Response
	enhanced := ""
	if e := resp.EnhancedCode; e != nil {
		if c := fmt.Sprintf("%d.%d.%d", e.Class, e.Subject, e.Detail); validEnhanced(c) {
			enhanced = c
		}
	}
	content := strings.TrimSpace(resp.Content)
	switch {
	case rec.Type == "Reception" || rec.Type == "Feedback":
		// The response is KumoMTA's own 250 to the submitter.
	case kumoLocal(rec):
		// Decision: KumoMTA's own responses keep their text (it says what
		// happened, e.g. a connection timeout to the receiver) and DSN
		// status, but no SMTP code, so they never count as a receiver's
		// 4xx/5xx; the Word is "<type>/internal" for the "KumoMTA
		// internal:" ones so they can be told apart from receiver deferrals.
		ev.Reply, ev.EnhancedCode = content, enhanced
		if strings.HasPrefix(content, kumoInternalPrefix) {
			ev.Word = rec.Type + "/internal"
		}
	default:
		// KumoMTA splits the reply into code, enhanced code and text: put
		// it back together as the receiver sent it, as other sources log it.
		ev.SMTPCode, ev.EnhancedCode = resp.Code, enhanced
		parts := make([]string, 0, 3)
		if resp.Code != 0 {
			parts = append(parts, strconv.Itoa(resp.Code))
		}
		if enhanced != "" {
			parts = append(parts, enhanced)
		}
		if content != "" {
			parts = append(parts, content)
		}
		ev.Reply = strings.Join(parts, " ")
	}
	if ev.SMTPCode != 0 && (ev.SMTPCode < 200 || ev.SMTPCode > 599) {
		return nil, fmt.Sprintf("response code %d is not an SMTP code", ev.SMTPCode)
	}
	if sa := rec.SourceAddress; sa != nil && sa.Address != "" {
		ip, ok := normalizeIP(sa.Address)
		if !ok {
			return nil, fmt.Sprintf("source_address %q is not an IP address", clip(sa.Address, 60))
		}
		ev.SendingIP = ip
	} else if es := rec.EgressSource; es != nil {
		// egress_source is the name the operator gave a source; only an
		// IP-shaped name says which address was used.
		ev.SendingIP, _ = normalizeIP(*es)
	}
	if ev.SendingIP == "" && typ != TypeProcessed {
		ev.SendingIP = ipFromReply(ev.Reply)
	}
	ev.MessageID = rec.ID
	ev.Attempt = rec.NumAttempts
	if len(rec.Meta.Campaign) > 0 {
		var c string
		if json.Unmarshal(rec.Meta.Campaign, &c) == nil {
			ev.Class = c
		}
	}
	evs := make([]Event, 0, len(rcpts))
	for _, r := range rcpts {
		e := ev
		e.Recipient, e.Domain = r[0], r[1]
		e.Key = newKey("kumomta").str(rec.ID).str(rec.Type).str(e.Recipient).str(stamp).
			u64(uint64(rec.NumAttempts)).str(resp.Content).sum()
		evs = append(evs, e)
	}
	return evs, ""
}

// kumoRecipients returns [address, domain] pairs: "recipient" is a string,
// or an array in versions that log one record for several recipients. A
// Feedback record's recipient is the report mailbox; the complaint is about
// the original recipient, which the decoded trace header names.
func kumoRecipients(rec *kumoRecord) ([][2]string, string) {
	var list []string
	if rec.Type == "Feedback" && rec.FeedbackReport != nil && rec.FeedbackReport.SupplementalTrace != nil &&
		rec.FeedbackReport.SupplementalTrace.Recipient != "" {
		list = []string{rec.FeedbackReport.SupplementalTrace.Recipient}
	} else {
		raw := bytes.TrimSpace(rec.Recipient)
		switch {
		case len(raw) == 0 || string(raw) == "null":
			return nil, `no "recipient" field`
		case raw[0] == '[':
			if err := json.Unmarshal(raw, &list); err != nil {
				return nil, "recipient: " + jsonErr(err)
			}
		default:
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, "recipient: " + jsonErr(err)
			}
			list = []string{s}
		}
	}
	if len(list) == 0 {
		return nil, "recipient is an empty list"
	}
	out := make([][2]string, 0, len(list))
	for _, s := range list {
		addr, domain, ok := SplitAddress(s)
		if !ok {
			return nil, fmt.Sprintf("recipient %q is not an e-mail address", clip(s, 80))
		}
		out = append(out, [2]string{addr, domain})
	}
	return out, ""
}

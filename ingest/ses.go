package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// sesFormat reads Amazon SES notifications in every way they are archived:
// event publishing records (Firehose writes one per line), SNS envelopes whose
// Message is the event as a JSON string, SQS messages whose Body is such an
// envelope, EventBridge events with the event in "detail", and the legacy
// notificationType records of identity notifications.
type sesFormat struct{}

func (sesFormat) Name() string { return "ses" }

func (sesFormat) Cues() string {
	return `JSON with "eventType" or "notificationType" and "mail" fields, bare or inside SNS ("TopicArn", "Message"), SQS ("Body") or EventBridge ("detail") envelopes`
}

func (sesFormat) Sniff(head []byte) (bool, string) {
	shape, keys, ok := espSniff(head, []string{"eventType", "mail"}, []string{"notificationType", "mail"})
	if !ok {
		return false, ""
	}
	switch {
	case hasJSONKey(head, "TopicArn") && hasJSONKey(head, "Message") && (hasJSONKey(head, "Body") || hasJSONKey(head, "body")):
		return true, shape + ` of SQS messages whose "Body" is an SNS envelope holding SES events`
	case hasJSONKey(head, "TopicArn") && hasJSONKey(head, "Message"):
		return true, shape + ` of SNS envelopes ("TopicArn", "Message") holding SES events`
	case hasJSONKey(head, "detail") && bytes.Contains(head, []byte(`"aws.ses"`)):
		return true, shape + ` of EventBridge events from "aws.ses" with the SES event in "detail"`
	}
	return true, fmt.Sprintf("%s with SES %s fields", shape, quoteKeys(keys))
}

type sesDoc struct {
	EventType        string        `json:"eventType"`
	NotificationType string        `json:"notificationType"`
	Mail             *sesMail      `json:"mail"`
	Delivery         *sesDelivery  `json:"delivery"`
	Bounce           *sesBounce    `json:"bounce"`
	Complaint        *sesComplaint `json:"complaint"`
	DeliveryDelay    *sesDelay     `json:"deliveryDelay"`
	Reject           *struct {
		Reason string `json:"reason"`
	} `json:"reject"`
	Failure *struct {
		ErrorMessage string `json:"errorMessage"`
	} `json:"failure"`
	Open         *sesTimed `json:"open"`
	Click        *sesTimed `json:"click"`
	Subscription *sesTimed `json:"subscription"`

	// Envelopes around the event.
	Type    string          `json:"Type"`    // SNS
	Message json.RawMessage `json:"Message"` // SNS: the event as a JSON string
	Body    json.RawMessage `json:"Body"`    // SQS ("body" in Lambda events): the SNS envelope as a JSON string
	Detail  json.RawMessage `json:"detail"`  // EventBridge: the event as an object
	Sns     json.RawMessage `json:"Sns"`     // Lambda's SNS records
}

type sesMail struct {
	Timestamp   string              `json:"timestamp"`
	MessageID   string              `json:"messageId"`
	Destination []string            `json:"destination"`
	Tags        map[string][]string `json:"tags"`
}

type sesTimed struct {
	Timestamp string `json:"timestamp"`
}

type sesDelivery struct {
	Timestamp    string   `json:"timestamp"`
	Recipients   []string `json:"recipients"`
	SMTPResponse string   `json:"smtpResponse"`
}

type sesRecipient struct {
	EmailAddress   string `json:"emailAddress"`
	Status         string `json:"status"`
	DiagnosticCode string `json:"diagnosticCode"`
}

type sesBounce struct {
	Timestamp         string         `json:"timestamp"`
	BounceType        string         `json:"bounceType"`
	BounceSubType     string         `json:"bounceSubType"`
	BouncedRecipients []sesRecipient `json:"bouncedRecipients"`
}

type sesComplaint struct {
	Timestamp            string         `json:"timestamp"`
	ComplainedRecipients []sesRecipient `json:"complainedRecipients"`
}

type sesDelay struct {
	Timestamp         string         `json:"timestamp"`
	DelayType         string         `json:"delayType"`
	DelayedRecipients []sesRecipient `json:"delayedRecipients"`
}

// sesWords maps eventType/notificationType values that need no sub-object
// logic; Bounce is decided by its bounceType.
var sesWords = wordTable{
	"send": TypeProcessed, "delivery": TypeDelivered, "deliverydelay": TypeDeferred, "complaint": TypeComplaint,
	"reject": TypeDropped, "rendering failure": TypeDropped,
	"open": TypeOther, "click": TypeOther, "subscription": TypeOther,
}

func (f sesFormat) Parse(ctx context.Context, r io.Reader, opts *ParseOptions, sink Sink) error {
	p := &sesParser{rec: espRecord{opts: opts, sink: sink}}
	// Lambda batches ({"Records": [...]}) and `aws sqs receive-message`
	// output ({"Messages": [...]}) wrap the envelopes.
	return parseJSONShaped(ctx, r, opts, sink, []string{"Records", "Messages"}, p.parse)
}

type sesParser struct {
	rec espRecord
	evs []Event
}

// unwrap decodes raw, and the envelopes around the event, until it reaches
// the SES event itself.
func (p *sesParser) unwrap(raw []byte, doc *sesDoc) string {
	for depth := 0; ; depth++ {
		*doc = sesDoc{}
		if err := json.Unmarshal(raw, doc); err != nil {
			if depth == 0 {
				return "not an SES event: " + jsonErr(err)
			}
			return "the envelope's inner event: " + jsonErr(err)
		}
		if doc.Mail != nil && (doc.EventType != "" || doc.NotificationType != "") {
			return ""
		}
		switch {
		case doc.NotificationType == "AmazonSnsSubscriptionSucceeded":
			return "SES's notice that an SNS subscription succeeded, not a mail event"
		case doc.Type == "SubscriptionConfirmation" || doc.Type == "UnsubscribeConfirmation":
			return "an SNS " + doc.Type + ", not an SES event"
		case depth >= 4:
			return "envelopes nested more than 4 deep"
		}
		var inner json.RawMessage
		var what string
		switch {
		case len(doc.Detail) > 0:
			inner, what = doc.Detail, `EventBridge "detail"`
		case len(doc.Message) > 0:
			inner, what = doc.Message, `SNS "Message"`
		case len(doc.Body) > 0:
			inner, what = doc.Body, `SQS "Body"`
		case len(doc.Sns) > 0:
			inner, what = doc.Sns, `"Sns"`
		default:
			if doc.Mail == nil {
				return `not an SES event: no "eventType" or "notificationType" with a "mail" object, and no SNS, SQS or EventBridge envelope`
			}
			return `no "eventType" or "notificationType" field`
		}
		// SNS and SQS carry the inner document as a JSON string.
		if inner[0] == '"' {
			var s string
			if err := json.Unmarshal(inner, &s); err != nil {
				return what + ": " + jsonErr(err)
			}
			inner = json.RawMessage(s)
		}
		if t := bytes.TrimSpace(inner); len(t) == 0 || t[0] != '{' {
			return fmt.Sprintf("%s is not a JSON object: %q", what, clip(string(inner), 60))
		}
		raw = inner
	}
}

func (p *sesParser) parse(raw []byte) ([]Event, string) {
	var doc sesDoc
	if reason := p.unwrap(raw, &doc); reason != "" {
		return nil, reason
	}
	word := firstNonEmpty(doc.EventType, doc.NotificationType)
	base := Event{MessageID: doc.Mail.MessageID, Word: word}
	if v := doc.Mail.Tags["ses:configuration-set"]; len(v) > 0 {
		base.Class = v[0]
	}
	// mail.sourceIp is the API caller's address; only this tag names the IP
	// SES sent from, and only on some events.
	var outgoing string
	if v := doc.Mail.Tags["ses:outgoing-ip"]; len(v) > 0 {
		outgoing = v[0]
	}
	p.evs = p.evs[:0]
	lw := strings.ToLower(word)
	ts, field := doc.Mail.Timestamp, "mail.timestamp"
	var recips []sesRecipient
	destination := func() {
		for _, d := range doc.Mail.Destination {
			recips = append(recips, sesRecipient{EmailAddress: d})
		}
	}
	missing := func(obj string) string { return fmt.Sprintf("%s %q without a %q object", eventKey(doc), word, obj) }
	switch lw {
	case "bounce":
		b := doc.Bounce
		if b == nil {
			return nil, missing("bounce")
		}
		base.Word = word + "/" + b.BounceType
		if b.BounceSubType != "" {
			base.Word += "/" + b.BounceSubType
		}
		switch {
		case b.BounceSubType == "Suppressed" || b.BounceSubType == "OnAccountSuppressionList":
			// SES never tried: the address was on a suppression list.
			base.Type = TypeDropped
		case strings.EqualFold(b.BounceType, "Transient"):
			base.Type = TypeDeferred
		default: // Permanent, Undetermined
			base.Type = TypeBounced
		}
		ts, field, recips = b.Timestamp, "bounce.timestamp", b.BouncedRecipients
	case "delivery":
		d := doc.Delivery
		if d == nil {
			return nil, missing("delivery")
		}
		ts, field = d.Timestamp, "delivery.timestamp"
		for _, a := range d.Recipients {
			recips = append(recips, sesRecipient{EmailAddress: a, DiagnosticCode: d.SMTPResponse})
		}
	case "deliverydelay":
		d := doc.DeliveryDelay
		if d == nil {
			return nil, missing("deliveryDelay")
		}
		if d.DelayType != "" {
			base.Word = word + "/" + d.DelayType
		}
		ts, field, recips = d.Timestamp, "deliveryDelay.timestamp", d.DelayedRecipients
	case "complaint":
		c := doc.Complaint
		if c == nil {
			return nil, missing("complaint")
		}
		ts, field, recips = c.Timestamp, "complaint.timestamp", c.ComplainedRecipients
	case "reject":
		destination()
		if doc.Reject != nil {
			for i := range recips {
				recips[i].DiagnosticCode = doc.Reject.Reason
			}
		}
	case "rendering failure":
		destination()
		if doc.Failure != nil {
			for i := range recips {
				recips[i].DiagnosticCode = doc.Failure.ErrorMessage
			}
		}
	case "open", "click", "subscription":
		// The open or click names no recipient: every destination gets one.
		sub := doc.Open
		if lw == "click" {
			sub = doc.Click
		} else if lw == "subscription" {
			sub = doc.Subscription
		}
		if sub != nil && sub.Timestamp != "" {
			ts, field = sub.Timestamp, lw+".timestamp"
		}
		destination()
	default: // Send, and types SES adds later
		destination()
	}
	if base.Type == "" {
		typ, ok := sesWords.lookup(word, p.rec.opts.Status)
		if !ok {
			return nil, unknownEvent("SES", eventKey(doc), word)
		}
		base.Type = typ
	}
	t, reason := p.rec.time(field, ts)
	if reason != "" {
		return nil, reason
	}
	base.Time = t
	if len(recips) == 0 {
		return nil, fmt.Sprintf("%s %q names no recipients", eventKey(doc), word)
	}
	for _, rc := range recips {
		ev := base
		if reason := p.rec.recipient(&ev, "recipient", rc.EmailAddress); reason != "" {
			return nil, reason
		}
		ev.Reply, ev.EnhancedCode = rc.DiagnosticCode, rc.Status
		if reason := p.rec.finish(&ev, "ses:outgoing-ip", outgoing); reason != "" {
			return nil, reason
		}
		// Keyed on the event's own content, not an envelope id, so the same
		// event archived via Firehose and via SNS is stored once.
		ev.Key = newKey("ses").str(lw).str(ev.MessageID).str(ev.Recipient).u64(uint64(t.UnixMicro())).sum()
		p.evs = append(p.evs, ev)
	}
	return p.evs, ""
}

func eventKey(doc sesDoc) string {
	if doc.EventType == "" {
		return "notificationType"
	}
	return "eventType"
}

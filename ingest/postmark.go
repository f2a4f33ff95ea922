package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// postmarkFormat reads Postmark webhook bodies (one per line or an array):
// RecordType Delivery, Bounce, SpamComplaint, Open, Click, SubscriptionChange.
// Postmark reports no deferrals and no sending IP.
type postmarkFormat struct{}

func (postmarkFormat) Name() string { return "postmark" }

func (postmarkFormat) Cues() string { return `JSON objects with a "RecordType" field` }

func (postmarkFormat) Sniff(head []byte) (bool, string) {
	shape, _, ok := espSniff(head, []string{"RecordType"})
	if !ok {
		return false, ""
	}
	return true, shape + ` of Postmark webhooks with "RecordType" fields`
}

type postmarkDoc struct {
	RecordType string     `json:"RecordType"`
	ID         flexString `json:"ID"`
	// Postmark writes ServerID in some payloads and ServerId in others;
	// encoding/json matches field names case-insensitively, so both land here.
	ServerID      flexString `json:"ServerID"`
	MessageID     string     `json:"MessageID"`
	MessageStream string     `json:"MessageStream"`
	Recipient     string     `json:"Recipient"`
	Email         string     `json:"Email"`
	Type          string     `json:"Type"`
	TypeCode      flexString `json:"TypeCode"`
	Details       string     `json:"Details"`
	DeliveredAt   string     `json:"DeliveredAt"`
	BouncedAt     string     `json:"BouncedAt"`
	ReceivedAt    string     `json:"ReceivedAt"`
	ChangedAt     string     `json:"ChangedAt"`
}

// postmarkBounceTypes maps Bounce records' Type. Transient and SoftBounce
// (and DnsError, which Postmark calls temporary) are the receiver saying
// "later": deferral-like, so they count with deferrals.
var postmarkBounceTypes = wordTable{
	"hardbounce": TypeBounced, "transient": TypeDeferred, "softbounce": TypeDeferred, "dnserror": TypeDeferred,
	"blocked": TypeBounced, "dmarcpolicy": TypeBounced, "unknown": TypeBounced,
	"bademailaddress": TypeDropped, "manuallydeactivated": TypeDropped,
	"unconfirmed": TypeDropped, "smtpapierror": TypeDropped, "templaterenderingfailed": TypeDropped,
	"spamcomplaint": TypeComplaint,
	"unsubscribe":   TypeOther, "subscribe": TypeOther, "autoresponder": TypeOther, "addresschange": TypeOther,
	"spamnotification": TypeOther, "openrelaytest": TypeOther, "virusnotification": TypeOther,
	"challengeverification": TypeOther, "inbounderror": TypeOther,
}

// postmarkTypeCodes names the Type of a bounce that carries only TypeCode.
var postmarkTypeCodes = map[string]string{
	"1": "HardBounce", "2": "Transient", "16": "Unsubscribe", "32": "Subscribe", "64": "AutoResponder",
	"128": "AddressChange", "256": "DnsError", "512": "SpamNotification", "1024": "OpenRelayTest",
	"2048": "Unknown", "4096": "SoftBounce", "8": "VirusNotification", "16384": "ChallengeVerification",
	"100000": "BadEmailAddress", "100001": "SpamComplaint", "100002": "ManuallyDeactivated",
	"100003": "Unconfirmed", "100006": "Blocked", "100007": "SMTPApiError", "100008": "InboundError",
	"100009": "DMARCPolicy", "100010": "TemplateRenderingFailed",
}

var postmarkRecordTypes = wordTable{
	"delivery": TypeDelivered, "spamcomplaint": TypeComplaint,
	"open": TypeOther, "click": TypeOther, "subscriptionchange": TypeOther,
}

func (postmarkFormat) Parse(ctx context.Context, r io.Reader, opts *ParseOptions, sink Sink) error {
	p := &postmarkParser{rec: espRecord{opts: opts, sink: sink}}
	return parseJSONRecords(ctx, r, opts, sink, p.parse)
}

type postmarkParser struct {
	rec espRecord
	evs [1]Event
}

func (p *postmarkParser) parse(raw []byte) ([]Event, string) {
	var d postmarkDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, "not a Postmark webhook: " + jsonErr(err)
	}
	if d.RecordType == "" {
		return nil, `no "RecordType" field`
	}
	ev := &p.evs[0]
	*ev = Event{Word: d.RecordType, MessageID: d.MessageID, Class: d.MessageStream}
	rt := strings.ToLower(d.RecordType)
	ts, tsField := firstNonEmpty(d.DeliveredAt, d.BouncedAt, d.ReceivedAt, d.ChangedAt), "DeliveredAt"
	switch rt {
	case "bounce":
		bt := d.Type
		if bt == "" {
			bt = postmarkTypeCodes[strings.TrimSpace(string(d.TypeCode))]
		}
		if bt == "" {
			return nil, fmt.Sprintf(`bounce without a "Type" (TypeCode %q)`, clip(string(d.TypeCode), 12))
		}
		typ, ok := postmarkBounceTypes.lookup(bt, p.rec.opts.Status)
		if !ok {
			return nil, unknownEvent("Postmark bounce", "Type", bt)
		}
		ev.Type, ev.Word = typ, d.RecordType+"/"+bt
		ts, tsField = d.BouncedAt, "BouncedAt"
	default:
		typ, ok := postmarkRecordTypes.lookup(d.RecordType, p.rec.opts.Status)
		if !ok {
			return nil, unknownEvent("Postmark", "RecordType", d.RecordType)
		}
		ev.Type = typ
		switch rt {
		case "delivery":
			ts, tsField = d.DeliveredAt, "DeliveredAt"
		case "spamcomplaint":
			ts, tsField = d.BouncedAt, "BouncedAt"
		case "open", "click":
			ts, tsField = d.ReceivedAt, "ReceivedAt"
		case "subscriptionchange":
			ts, tsField = d.ChangedAt, "ChangedAt"
		}
	}
	t, reason := p.rec.time(tsField, ts)
	if reason != "" {
		return nil, reason
	}
	ev.Time = t
	field, addr := "Recipient", d.Recipient
	if addr == "" {
		field, addr = "Email", d.Email
	}
	if reason := p.rec.recipient(ev, field, addr); reason != "" {
		return nil, reason
	}
	ev.Reply = d.Details
	if ev.Type == TypeComplaint || ev.Type == TypeOther {
		ev.Reply = "" // not a receiver's reply
	}
	if reason := p.rec.finish(ev, "", ""); reason != "" {
		return nil, reason
	}
	// Bounce and complaint records have their own ID; deliveries do not.
	if id := strings.TrimSpace(string(d.ID)); id != "" {
		ev.Key = newKey("postmark").str(rt).str(id).sum()
	} else {
		ev.Key = newKey("postmark-content").str(rt).str(string(d.ServerID)).str(d.MessageID).str(ev.Recipient).u64(uint64(t.UnixMicro())).sum()
	}
	return p.evs[:], ""
}

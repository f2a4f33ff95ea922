package ingest

import (
	"sort"
	"strings"
	"time"
)

// EventType is the normalized vocabulary every source format maps onto.
type EventType string

const (
	TypeProcessed EventType = "processed" // accepted by the ESP or MTA, not yet attempted
	TypeSent      EventType = "sent"      // handed to the receiving server without a known outcome
	TypeDelivered EventType = "delivered"
	TypeDeferred  EventType = "deferred" // temporary failure: the sender will retry
	TypeBounced   EventType = "bounced"  // permanent failure
	TypeDropped   EventType = "dropped"  // never attempted (suppression, policy, invalid)
	TypeComplaint EventType = "complaint"
	TypeOther     EventType = "other" // opens, clicks, unsubscribes: kept, never counted as sends
)

// EventTypes lists the vocabulary in display order.
var EventTypes = []EventType{TypeProcessed, TypeSent, TypeDelivered, TypeDeferred, TypeBounced, TypeDropped, TypeComplaint, TypeOther}

// ID is the type's fixed id in the event_types table (0 when invalid).
func (t EventType) ID() int64 {
	for i, v := range EventTypes {
		if v == t {
			return int64(i + 1)
		}
	}
	return 0
}

// Valid reports whether t is part of the vocabulary.
func (t EventType) Valid() bool {
	for _, v := range EventTypes {
		if v == t {
			return true
		}
	}
	return false
}

// ParseEventType accepts a vocabulary word, case-insensitively.
func ParseEventType(s string) (EventType, bool) {
	t := EventType(strings.ToLower(strings.TrimSpace(s)))
	return t, t.Valid()
}

// defaultStatusWords maps the words applications and ESPs commonly store to the
// vocabulary. Users extend or override it with --status word=type.
var defaultStatusWords = map[string]EventType{
	"processed": TypeProcessed, "queued": TypeProcessed, "accepted": TypeProcessed, "requested": TypeProcessed,
	"send": TypeSent, "sent": TypeSent, "sending": TypeSent, "injected": TypeProcessed, "reception": TypeProcessed,
	"delivered": TypeDelivered, "delivery": TypeDelivered, "success": TypeDelivered, "ok": TypeDelivered,
	"deferred": TypeDeferred, "deferral": TypeDeferred, "delayed": TypeDeferred, "delay": TypeDeferred,
	"deliverydelay": TypeDeferred, "soft_bounce": TypeDeferred, "softbounce": TypeDeferred, "soft-bounce": TypeDeferred,
	"transient": TypeDeferred, "transientfailure": TypeDeferred, "temporary_failure": TypeDeferred,
	"tempfail": TypeDeferred, "retry": TypeDeferred, "retrying": TypeDeferred, "throttled": TypeDeferred,
	"bounce": TypeBounced, "bounced": TypeBounced, "hard_bounce": TypeBounced, "hardbounce": TypeBounced,
	"hard-bounce": TypeBounced, "failed": TypeBounced, "failure": TypeBounced, "rejected": TypeBounced,
	"permanent_failure": TypeBounced, "undeliverable": TypeBounced, "expired": TypeBounced, "expiration": TypeBounced,
	"dropped": TypeDropped, "drop": TypeDropped, "suppressed": TypeDropped, "blocked": TypeDropped,
	"skipped": TypeDropped, "invalid": TypeDropped, "reject": TypeDropped, "cancelled": TypeDropped, "canceled": TypeDropped,
	"complaint": TypeComplaint, "spamreport": TypeComplaint, "spam_report": TypeComplaint, "spam": TypeComplaint,
	"spamcomplaint": TypeComplaint, "abuse": TypeComplaint, "fbl": TypeComplaint, "complained": TypeComplaint,
	"open": TypeOther, "opened": TypeOther, "click": TypeOther, "clicked": TypeOther, "unsubscribe": TypeOther,
	"unsubscribed": TypeOther, "group_unsubscribe": TypeOther, "group_resubscribe": TypeOther,
}

// DefaultStatusWords lists, sorted, the default status words that mean one
// of types: what a query elsewhere filters on to count the events ingest
// would.
func DefaultStatusWords(types ...EventType) []string {
	var out []string
	for w, t := range defaultStatusWords {
		for _, want := range types {
			if t == want {
				out = append(out, w)
			}
		}
	}
	sort.Strings(out)
	return out
}

// StatusMap turns a source's status words into the vocabulary.
type StatusMap map[string]EventType

// NewStatusMap returns the defaults overlaid with overrides (word -> type).
func NewStatusMap(overrides map[string]EventType) StatusMap {
	m := make(StatusMap, len(defaultStatusWords)+len(overrides))
	for k, v := range defaultStatusWords {
		m[k] = v
	}
	for k, v := range overrides {
		m[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return m
}

// Lookup maps a word, ignoring case and surrounding space.
func (m StatusMap) Lookup(word string) (EventType, bool) {
	if t, ok := m[word]; ok {
		return t, true
	}
	t, ok := m[strings.ToLower(strings.TrimSpace(word))]
	return t, ok
}

// Event is one normalized delivery event, whatever format it came from.
type Event struct {
	Time         time.Time // UTC
	Recipient    string    // lower-cased address as seen
	Domain       string    // recipient domain, lower-case, no trailing dot
	Provider     string    // set by the enricher from the domain
	SendingIP    string    // empty when the source does not say
	Type         EventType
	Word         string // the source's own word for the type
	SMTPCode     int    // 0 when unknown
	EnhancedCode string // RFC 3463 x.y.z, empty when unknown
	Reply        string // the receiving server's reply text (or the ESP's own words)
	GroupKey     string // the normalized reply, set by Options.Normalize for replies that are not 2xx
	MessageID    string
	Attempt      int    // 0 when unknown
	Class        string // mail stream or class (transactional, newsletter...) when the source has one
	Line         int64  // line or record number in the source file
	Key          uint64 // dedupe key: equal keys are the same event
}

// Reject is an input record that could not become an event.
type Reject struct {
	Line   int64
	Raw    string
	Reason string
}

// SplitAddress returns the lower-cased address and its domain. It accepts
// "Name <a@b>" and "<a@b>" forms and strips a trailing dot from the domain.
func SplitAddress(s string) (addr, domain string, ok bool) {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		if j := strings.IndexByte(s[i:], '>'); j > 0 {
			s = s[i+1 : i+j]
		}
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", "", false
	}
	addr = strings.TrimSuffix(strings.ToLower(s), ".")
	domain = addr[at+1:]
	if domain == "" || strings.ContainsAny(domain, " \t@<>,;") {
		return "", "", false
	}
	return addr, domain, true
}

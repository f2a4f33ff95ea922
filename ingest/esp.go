package ingest

import (
	"fmt"
	"strings"
	"time"
)

// wordTable maps one ESP's own event words (lower-case) to the vocabulary. A
// word it does not know falls back to the --status map, so a new event type
// an ESP adds can be mapped without a release.
type wordTable map[string]EventType

func (t wordTable) lookup(word string, status StatusMap) (EventType, bool) {
	if typ, ok := t[strings.ToLower(strings.TrimSpace(word))]; ok {
		return typ, true
	}
	return status.Lookup(word)
}

func unknownEvent(format, field, word string) string {
	return fmt.Sprintf("%s %q is not a known %s event (map it with --status %s=TYPE)", field, clip(word, 40), format, quoteWord(word))
}

// espRecord collects what every webhook parser does the same way once the
// format-specific fields are read.
type espRecord struct {
	opts *ParseOptions
	sink Sink
}

// time reads a timestamp field; a time without a zone is read in --tz and
// counted, as for every other source.
func (r espRecord) time(field, raw string) (time.Time, string) {
	raw = strings.TrimSpace(raw)
	if raw == "" || raw == "null" {
		return time.Time{}, fmt.Sprintf("no %q field", field)
	}
	t, zoneless, err := ParseTime(raw, r.opts.TZ)
	if err != nil {
		return time.Time{}, field + ": " + err.Error()
	}
	if zoneless {
		r.sink.ZoneAssumed()
	}
	return t, ""
}

// recipient sets the address and domain from a field.
func (espRecord) recipient(ev *Event, field, raw string) string {
	addr, domain, ok := SplitAddress(raw)
	if !ok {
		if strings.TrimSpace(raw) == "" {
			return fmt.Sprintf("no %q field", field)
		}
		return fmt.Sprintf("%s %q is not an e-mail address", field, clip(raw, 80))
	}
	ev.Recipient, ev.Domain = addr, domain
	return ""
}

// finish trims the reply, reads codes from it when the source gave none, and
// sets the sending IP: the source's own field when it has one, else the IP a
// receiver quoted in its reply. Engagement events (TypeOther) get no IP: on
// opens and clicks an ESP's IP fields are the reader's.
func (espRecord) finish(ev *Event, field, rawIP string) string {
	ev.Reply = strings.TrimSpace(ev.Reply)
	ev.EnhancedCode = strings.TrimSpace(ev.EnhancedCode)
	// An ESP's own status numbers (Mailgun's 605) are not SMTP replies.
	if ev.SMTPCode < 200 || ev.SMTPCode > 599 {
		ev.SMTPCode = 0
	}
	fillCodes(ev)
	if ev.Type == TypeOther {
		return ""
	}
	if rawIP = strings.TrimSpace(rawIP); rawIP != "" {
		ip, ok := normalizeIP(rawIP)
		if !ok {
			return fmt.Sprintf("%s %q is not an IP address", field, clip(rawIP, 60))
		}
		ev.SendingIP = ip
	}
	if ev.SendingIP == "" {
		ev.SendingIP = ipFromReply(ev.Reply)
	}
	return ""
}

// espSniff is the common shape of a JSON format's detection: the input must
// look like JSON and hold every key of one of the cue sets.
func espSniff(head []byte, cues ...[]string) (string, []string, bool) {
	shape, ok := jsonShape(head)
	if !ok {
		return "", nil, false
	}
	for _, set := range cues {
		all := true
		for _, k := range set {
			if !hasJSONKey(head, k) {
				all = false
				break
			}
		}
		if all {
			return shape, set, true
		}
	}
	return "", nil, false
}

func quoteKeys(keys []string) string {
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = `"` + k + `"`
	}
	return strings.Join(q, " and ")
}

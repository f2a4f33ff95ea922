package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
)

// eximFormat reads Exim's main log. Each delivery line is one event:
// "=>" and "->" deliveries, "==" deferrals, "**" bounces. Arrivals ("<="),
// "Completed", queue runs and the flagless per-host error line (which the
// "==" line after it repeats) are not events.
type eximFormat struct{}

func (eximFormat) Name() string { return "exim" }

func (eximFormat) Cues() string {
	return "Exim main log lines: YYYY-MM-DD HH:MM:SS[.mmm][ +zone][ [pid]] message-id flag (<= => -> == **)"
}

func (eximFormat) Sniff(head []byte) (bool, string) {
	var why string
	headLines(head, func(line []byte) bool {
		el, ok := splitExim(line)
		if !ok || el.id == nil {
			return true
		}
		ids := "4.97+ message ids"
		if len(el.id) == 16 {
			ids = "pre-4.97 message ids"
		}
		why = fmt.Sprintf("Exim main log lines with %s (%s)", ids, el.id)
		return false
	})
	return why != "", why
}

// eximLine is a main log line split into its parts.
type eximLine struct {
	stamp []byte // date, time, optional .mmm and zone, without [pid]
	id    []byte // message id, nil for lines about no message
	rest  []byte // after the id
}

// splitExim reads "YYYY-MM-DD HH:MM:SS[.mmm][ +hhmm][ [pid]] [id ]rest".
func splitExim(line []byte) (eximLine, bool) {
	var el eximLine
	if len(line) < 21 || line[4] != '-' || line[7] != '-' || line[10] != ' ' || line[13] != ':' || line[16] != ':' ||
		!isDigit(line[0]) || !isDigit(line[18]) {
		return el, false
	}
	i := 19
	if i < len(line) && line[i] == '.' {
		j := i + 1
		for j < len(line) && isDigit(line[j]) {
			j++
		}
		if j == i+1 {
			return el, false
		}
		i = j
	}
	if i+6 <= len(line) && line[i] == ' ' && (line[i+1] == '+' || line[i+1] == '-') &&
		isDigit(line[i+2]) && isDigit(line[i+3]) && isDigit(line[i+4]) && isDigit(line[i+5]) {
		i += 6
	}
	el.stamp = line[:i]
	if i+2 < len(line) && line[i] == ' ' && line[i+1] == '[' {
		j := bytes.IndexByte(line[i:], ']')
		if j < 0 {
			return el, false
		}
		i += j + 1
	}
	if i >= len(line) || line[i] != ' ' {
		return el, false
	}
	rest := line[i+1:]
	if sp := bytes.IndexByte(rest, ' '); sp > 0 && isEximID(rest[:sp]) {
		el.id, rest = rest[:sp], rest[sp+1:]
	}
	el.rest = rest
	return el, true
}

// isEximID accepts base-62 ids of the old (6-6-2) and the 4.97+ (6-11-4) shape.
func isEximID(b []byte) bool {
	var second int
	switch len(b) {
	case 16:
		second = 13
	case 23:
		second = 18
	default:
		return false
	}
	for i, c := range b {
		if i == 6 || i == second {
			if c != '-' {
				return false
			}
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

type eximParser struct {
	opts   *ParseOptions
	sink   Sink
	ev     Event
	lineNo int64
	raw    []byte
	// tries counts "==" deferrals per message id and recipient: Exim logs no
	// attempt numbers, and without them every retry would count as a send.
	tries map[string]int
}

// eximMaxTries bounds the deferral counter; past it the counts restart (a
// retry of a message deferred long before then counts as a first attempt).
const eximMaxTries = 100_000

func (f eximFormat) Parse(ctx context.Context, r io.Reader, opts *ParseOptions, sink Sink) error {
	p := &eximParser{opts: opts, sink: sink, tries: map[string]int{}}
	return scanLogLines(ctx, r, opts, sink, "an Exim log", func(n int64, line []byte) {
		p.lineNo, p.raw = n, line
		p.line(line)
	})
}

func (p *eximParser) reject(reason string) {
	p.sink.Reject(p.lineNo, string(p.raw), reason)
}

func (p *eximParser) line(line []byte) {
	el, ok := splitExim(line)
	if !ok || el.id == nil || len(el.rest) < 3 || el.rest[2] != ' ' {
		return
	}
	var typ EventType
	switch string(el.rest[:2]) {
	case "=>", "->":
		typ = TypeDelivered
	case "==":
		typ = TypeDeferred
	case "**":
		typ = TypeBounced
	default:
		// "<=" arrivals, "*>" suppressed deliveries, "Completed", and the
		// flagless per-host line ("H=mx [ip]: SMTP error ...") that the
		// "==" line after it repeats.
		return
	}
	flag, body := el.rest[:2], el.rest[3:]
	addrTok, fields := body, []byte(nil)
	if sp := bytes.IndexByte(body, ' '); sp >= 0 {
		addrTok, fields = body[:sp], body[sp+1:]
	}
	// "** x@y: Unrouteable address" ends the address with the colon that
	// starts the error.
	if bytes.HasSuffix(addrTok, []byte(":")) {
		addrTok = addrTok[:len(addrTok)-1]
		fields = append([]byte(": "), fields...)
	}
	rcpt := addrTok
	if bytes.IndexByte(rcpt, '@') < 0 {
		// A pipe, file or local part delivery names the address it came
		// from in angle brackets.
		if lt := bytes.IndexByte(fields, '<'); lt >= 0 {
			if gt := bytes.IndexByte(fields[lt:], '>'); gt > 0 {
				rcpt = fields[lt+1 : lt+gt]
			}
		}
	}
	var errText []byte
	params := fields
	if typ != TypeDelivered {
		if c := bytes.Index(fields, []byte(": ")); c >= 0 {
			params, errText = fields[:c], fields[c+2:]
		}
		if typ == TypeDeferred && eximRetryNotReached(errText) {
			// Exim did not try: the host's retry time is in the future.
			return
		}
	}
	addr, domain, ok := SplitAddress(string(rcpt))
	if !ok {
		p.reject(fmt.Sprintf("exim %s line: %q is not an e-mail address", flag, clip(string(rcpt), 80)))
		return
	}
	t, zoneless, ok := parseISOish(string(el.stamp), p.opts.TZ)
	if !ok {
		p.reject(fmt.Sprintf("timestamp %q is not a date and time", clip(string(el.stamp), 40)))
		return
	}
	if zoneless {
		p.sink.ZoneAssumed()
	}
	ev := &p.ev
	*ev = Event{Time: t, Recipient: addr, Domain: domain, Type: typ, Word: string(flag), Line: p.lineNo,
		MessageID: string(el.id)}
	if typ == TypeDelivered {
		ev.Reply = eximConfirmation(fields)
	} else {
		ev.Reply = eximReply(errText)
	}
	fillCodes(ev)
	ev.SendingIP = eximInterface(params)
	if ev.SendingIP == "" {
		ev.SendingIP = ipFromReply(ev.Reply)
	}
	if ev.SendingIP == "" {
		ev.SendingIP = p.opts.SendingIP
	}
	k := string(el.id) + "\x00" + addr
	ev.Attempt = p.tries[k] + 1
	if typ == TypeDeferred {
		if len(p.tries) >= eximMaxTries {
			clear(p.tries)
		}
		p.tries[k]++
	} else {
		delete(p.tries, k)
	}
	ev.Key = newKey("exim").u64(uint64(t.UnixMicro())).bytes(el.id).bytes(el.rest).sum()
	p.sink.Event(ev)
}

func eximRetryNotReached(errText []byte) bool {
	s := bytes.ToLower(errText)
	return bytes.Contains(s, []byte("retry time not reached")) || bytes.Contains(s, []byte("retry time not yet reached"))
}

// eximInterface reads the local address of the outgoing connection,
// "I=[203.0.113.10]:41234", logged with log_selector +outgoing_interface.
func eximInterface(params []byte) string {
	i := bytes.Index(params, []byte(" I=["))
	if i < 0 {
		if !bytes.HasPrefix(params, []byte("I=[")) {
			return ""
		}
		i = -1
	}
	v := params[i+4:]
	j := bytes.IndexByte(v, ']')
	if j <= 0 {
		return ""
	}
	ip, _ := normalizeIP(string(v[:j]))
	return ip
}

// eximConfirmation reads C="..." (the receiver's reply to the end of data).
func eximConfirmation(fields []byte) string {
	i := bytes.Index(fields, []byte(`C="`))
	if i < 0 || (i > 0 && fields[i-1] != ' ') {
		return ""
	}
	v := fields[i+3:]
	var b strings.Builder
	for k := 0; k < len(v); k++ {
		c := v[k]
		if c == '\\' && k+1 < len(v) {
			k++
			switch v[k] {
			case 'n':
				b.WriteByte(' ')
			default:
				b.WriteByte(v[k])
			}
			continue
		}
		if c == '"' {
			break
		}
		b.WriteByte(c)
	}
	return strings.TrimSpace(b.String())
}

// eximReply takes the receiver's reply out of Exim's error text: "SMTP error
// from remote mail server after RCPT TO:<x>: 550 5.1.1 ..." becomes "550
// 5.1.1 ...". Exim's own diagnostics ("Connection timed out") are kept
// whole. Multi-line replies are logged with "\n" between lines.
func eximReply(errText []byte) string {
	s := errText
	if bytes.HasPrefix(s, []byte("SMTP error from remote ")) {
		for k := bytes.Index(s, []byte(": ")); k >= 0; {
			c := s[k+2:]
			if len(c) >= 3 && c[0] >= '2' && c[0] <= '5' && isDigit(c[1]) && isDigit(c[2]) && (len(c) == 3 || c[3] == ' ' || c[3] == '-') {
				s = c
				break
			}
			n := bytes.Index(c, []byte(": "))
			if n < 0 {
				break
			}
			k += 2 + n
		}
	}
	out := strings.ReplaceAll(string(s), `\n`, " ")
	return strings.TrimSpace(out)
}

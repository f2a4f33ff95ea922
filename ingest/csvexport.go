package ingest

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Field is an event attribute a CSV column can be mapped to with --map.
type Field string

const (
	FieldTime      Field = "time"
	FieldRecipient Field = "recipient"
	FieldStatus    Field = "status"
	FieldReply     Field = "reply"
	FieldIP        Field = "ip"
	FieldMessageID Field = "message_id"
	FieldAttempt   Field = "attempt"
	FieldID        Field = "id"
	FieldCode      Field = "code"
	FieldEnhanced  Field = "enhanced_code"
	FieldClass     Field = "class"
)

// columnAliases lists, per field and in order of preference, the header names
// SQL exports and ESP CSVs commonly use.
var columnAliases = []struct {
	field   Field
	aliases []string
}{
	{FieldTime, []string{"created_at", "timestamp", "time", "date", "sent_at", "event_time", "occurred_at",
		"datetime", "ts", "created", "logged_at", "event_timestamp", "processed_at", "delivered_at", "updated_at"}},
	{FieldRecipient, []string{"email", "recipient", "to", "rcpt", "rcpt_to", "recipient_email", "email_address",
		"to_address", "address", "recipient_address", "to_email"}},
	{FieldStatus, []string{"status", "event", "type", "state", "event_type", "result", "outcome", "delivery_status"}},
	{FieldReply, []string{"response", "reason", "smtp_response", "diagnostic", "diagnostic_code", "error",
		"smtp_reply", "reply", "bounce_reason", "error_message", "last_response", "details", "smtp_message"}},
	{FieldIP, []string{"ip", "sending_ip", "source_ip", "outgoing_ip", "ip_address", "sender_ip", "mta_ip", "from_ip", "vmta_ip"}},
	{FieldMessageID, []string{"message_id", "msg_id", "smtp_id", "sg_message_id", "esp_message_id", "messageid",
		"provider_message_id", "external_id"}},
	{FieldAttempt, []string{"attempt", "attempts", "attempt_number", "tries", "try"}},
	{FieldID, []string{"id", "event_id", "notification_id", "uuid", "sg_event_id", "log_id"}},
	{FieldCode, []string{"smtp_code", "code", "response_code", "reply_code"}},
	{FieldEnhanced, []string{"enhanced_code", "enhanced_status", "enhanced_status_code", "dsn", "dsn_status", "status_code"}},
	{FieldClass, []string{"stream", "class", "mail_class", "category", "kind", "message_type", "mail_type"}},
}

// Fields lists every mappable field in a stable order.
func Fields() []Field {
	out := make([]Field, len(columnAliases))
	for i, c := range columnAliases {
		out[i] = c.field
	}
	return out
}

// ParseField validates a --map key.
func ParseField(s string) (Field, error) {
	f := Field(strings.ToLower(strings.TrimSpace(s)))
	for _, c := range columnAliases {
		if c.field == f {
			return f, nil
		}
	}
	names := make([]string, len(columnAliases))
	for i, c := range columnAliases {
		names[i] = string(c.field)
	}
	return "", fmt.Errorf("unknown field %q (fields: %s)", s, strings.Join(names, ", "))
}

func normalizeHeader(h string) string {
	h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
	h = strings.Trim(h, `"`)
	return strings.NewReplacer(" ", "_", "-", "_", ".", "_").Replace(h)
}

// csvColumns is the resolved header mapping: field -> column index, -1 when absent.
type csvColumns map[Field]int

func (c csvColumns) has(f Field) bool { return c[f] >= 0 }

// mapColumns resolves fields to columns: --map first, then aliases, never
// using one column for two fields.
func mapColumns(header []string, explicit map[Field]string) (csvColumns, error) {
	norm := make([]string, len(header))
	for i, h := range header {
		norm[i] = normalizeHeader(h)
	}
	cols := csvColumns{}
	used := map[int]bool{}
	for _, c := range columnAliases {
		cols[c.field] = -1
	}
	fields := make([]string, 0, len(explicit))
	for f := range explicit {
		fields = append(fields, string(f))
	}
	sort.Strings(fields)
	for _, fs := range fields {
		f := Field(fs)
		want := normalizeHeader(explicit[f])
		idx := -1
		for i, h := range norm {
			if h == want {
				idx = i
				break
			}
		}
		if idx < 0 {
			return nil, fmt.Errorf("--map %s=%s: no column %q in the header (columns: %s)", f, explicit[f], explicit[f], strings.Join(header, ", "))
		}
		cols[f] = idx
		used[idx] = true
	}
	for _, c := range columnAliases {
		if cols[c.field] >= 0 {
			continue
		}
	alias:
		for _, a := range c.aliases {
			for i, h := range norm {
				if h == a && !used[i] {
					cols[c.field] = i
					used[i] = true
					break alias
				}
			}
		}
	}
	return cols, nil
}

// csvExportFormat reads CSV with a header line, such as psql's COPY ... CSV
// HEADER output, mapping columns by name.
type csvExportFormat struct{}

func (csvExportFormat) Name() string { return "csv" }

func (csvExportFormat) Cues() string {
	return "a CSV header line naming a time column (created_at, timestamp...) and a recipient column (email, recipient...)"
}

func (csvExportFormat) Sniff(head []byte) (bool, string) {
	line := firstLine(head)
	if bytes.IndexByte(line, ',') < 0 {
		return false, ""
	}
	cr := csv.NewReader(bytes.NewReader(head))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil || len(header) < 2 {
		return false, ""
	}
	// The first record must be as wide as the header (when the head holds one).
	if rec, err := cr.Read(); err == nil && len(rec) != len(header) {
		return false, ""
	}
	for _, h := range header {
		if !looksLikeColumnName(h) {
			return false, ""
		}
	}
	cols, err := mapColumns(header, nil)
	if err == nil && cols.has(FieldTime) && cols.has(FieldRecipient) {
		return true, fmt.Sprintf("CSV header with time column %q and recipient column %q", header[cols[FieldTime]], header[cols[FieldRecipient]])
	}
	// A header we cannot map is still a CSV header: Parse explains which
	// column is missing and the --map that fixes it.
	return true, "a CSV header line"
}

// looksLikeColumnName accepts what SQL and spreadsheets put in a header.
func looksLikeColumnName(h string) bool {
	h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
	if h == "" || len(h) > 64 || strings.Count(h, " ") > 3 {
		return false
	}
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == ' ', r == '-', r == '.', r == '(', r == ')':
		default:
			return false
		}
	}
	c := h[0]
	return !(c >= '0' && c <= '9')
}

// rawTee keeps the bytes the CSV reader consumed so a rejected record can be
// stored verbatim, multi-line quoted fields included.
type rawTee struct {
	r    io.Reader
	buf  []byte
	base int64 // input offset of buf[0]
}

func (t *rawTee) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.buf = append(t.buf, p[:n]...)
	return n, err
}

// take returns the bytes between offsets from and to and forgets everything
// before to.
func (t *rawTee) take(from, to int64) string {
	lo, hi := from-t.base, to-t.base
	if lo < 0 {
		lo = 0
	}
	if hi > int64(len(t.buf)) {
		hi = int64(len(t.buf))
	}
	var s string
	if lo < hi {
		s = strings.TrimRight(string(t.buf[lo:hi]), "\r\n")
	}
	t.drop(to)
	return s
}

func (t *rawTee) drop(to int64) {
	k := to - t.base
	if k <= 0 {
		return
	}
	if k > int64(len(t.buf)) {
		k = int64(len(t.buf))
	}
	// Shift rather than reslice so the buffer does not grow without bound.
	n := copy(t.buf, t.buf[k:])
	t.buf = t.buf[:n]
	t.base += k
}

// MaxCSVColumns bounds a CSV header: an export of events has a handful of
// columns, and each column costs memory per row.
const MaxCSVColumns = 4096

// MaxCSVLine bounds one physical line of CSV: encoding/csv buffers a whole
// line, so an input without line breaks would otherwise be read into memory.
const MaxCSVLine = 16 << 20

// lineGuard fails a read once a line grows past max bytes.
type lineGuard struct {
	r    io.Reader
	cur  int64
	max  int64
	line int64
}

func (g *lineGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if i := bytes.LastIndexByte(p[:n], '\n'); i >= 0 {
		g.line += int64(bytes.Count(p[:i+1], []byte{'\n'}))
		g.cur = int64(n - i - 1)
	} else {
		g.cur += int64(n)
	}
	if g.cur > g.max {
		return n, fmt.Errorf("line %d is longer than %d MiB: not a CSV record (a file without line breaks?)", g.line+1, g.max>>20)
	}
	return n, err
}

func (f csvExportFormat) Parse(ctx context.Context, r io.Reader, opts *ParseOptions, sink Sink) error {
	tee := &rawTee{r: &lineGuard{r: r, max: MaxCSVLine}}
	cr := csv.NewReader(tee)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%s: reading the CSV header: %w", opts.Source, err)
	}
	if len(header) > MaxCSVColumns {
		return fmt.Errorf("%s: the header has %d columns: an event export has a handful (at most %d here)", opts.Source, len(header), MaxCSVColumns)
	}
	header = append([]string(nil), header...)
	if len(header) == 1 && strings.Contains(header[0], ";") {
		return fmt.Errorf("%s: the header has one column %q: is the file separated by ';'? export with commas (psql: CSV)", opts.Source, clip(header[0], 80))
	}
	cols, err := mapColumns(header, opts.ColumnMap)
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Source, err)
	}
	if !cols.has(FieldTime) || !cols.has(FieldRecipient) {
		return missingColumnsError(opts.Source, header, cols, cr)
	}
	p := newCSVRowParser(cols, opts, len(header))
	// One Event, reset per record: the sink copies it, and a fresh one per
	// record escaped to the heap (a quarter of ingest's allocations).
	var ev Event
	return csvRecords(ctx, cr, tee, opts, sink, func(rec []string, line int64) (string, error) {
		ev = Event{}
		if reason := p.parse(rec, &ev, sink); reason != "" {
			return reason, nil
		}
		ev.Line = line
		sink.Event(&ev)
		return "", nil
	})
}

// missingColumnsError explains which column is missing, shows the header, and
// suggests the --map that would fix it from what the first row looks like.
func missingColumnsError(source string, header []string, cols csvColumns, cr *csv.Reader) error {
	var missing []string
	if !cols.has(FieldTime) {
		missing = append(missing, "time")
	}
	if !cols.has(FieldRecipient) {
		missing = append(missing, "recipient")
	}
	var suggest []string
	if row, err := cr.Read(); err == nil {
		for i, v := range row {
			if i >= len(header) {
				break
			}
			if !cols.has(FieldTime) {
				if _, _, err := ParseTime(v, time.UTC); err == nil {
					suggest = append(suggest, "time="+header[i])
					cols[FieldTime] = i
					continue
				}
			}
			if !cols.has(FieldRecipient) && strings.Contains(v, "@") {
				suggest = append(suggest, "recipient="+header[i])
				cols[FieldRecipient] = i
			}
		}
	}
	hint := "--map time=COLUMN,recipient=COLUMN"
	if len(suggest) > 0 {
		hint = "--map " + strings.Join(suggest, ",")
	}
	return fmt.Errorf("%s: no %s column in the header %q; name it with %s",
		source, strings.Join(missing, " or "), strings.Join(header, ","), hint)
}

// csvRowParser holds the column index of each field (-1 when absent) as
// plain ints: a map lookup per field per row was a fifth of parsing time.
type csvRowParser struct {
	opts                                                                              *ParseOptions
	ncols                                                                             int
	time, recipient, status, reply, ip, messageID, attempt, id, code, enhanced, class int
	ips                                                                               map[string]string // raw -> canonical; sending IPs repeat endlessly
}

func newCSVRowParser(cols csvColumns, opts *ParseOptions, ncols int) *csvRowParser {
	return &csvRowParser{opts: opts, ncols: ncols,
		time: cols[FieldTime], recipient: cols[FieldRecipient], status: cols[FieldStatus], reply: cols[FieldReply],
		ip: cols[FieldIP], messageID: cols[FieldMessageID], attempt: cols[FieldAttempt], id: cols[FieldID],
		code: cols[FieldCode], enhanced: cols[FieldEnhanced], class: cols[FieldClass], ips: map[string]string{}}
}

func (p *csvRowParser) get(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return rec[i]
}

// parse fills ev from one row, or returns why it cannot.
func (p *csvRowParser) parse(rec []string, ev *Event, sink Sink) string {
	if len(rec) != p.ncols {
		if len(rec) == 1 && rec[0] == "" {
			return "empty line"
		}
		return fmt.Sprintf("%d fields, the header has %d", len(rec), p.ncols)
	}
	t, zoneless, err := ParseTime(p.get(rec, p.time), p.opts.TZ)
	if err != nil {
		return "time: " + err.Error()
	}
	if zoneless {
		sink.ZoneAssumed()
	}
	ev.Time = t
	addr, domain, ok := SplitAddress(p.get(rec, p.recipient))
	if !ok {
		return fmt.Sprintf("recipient %q is not an e-mail address", clip(p.get(rec, p.recipient), 80))
	}
	ev.Recipient, ev.Domain = addr, domain
	if p.status >= 0 {
		word := strings.TrimSpace(p.get(rec, p.status))
		typ, ok := p.opts.Status.Lookup(word)
		if !ok {
			if word == "" {
				return "status is empty (map empty statuses with --status ''=sent, or fix the export)"
			}
			return fmt.Sprintf("status %q is not a known event word (map it with --status %s=deferred, or another type)", clip(word, 40), quoteWord(word))
		}
		ev.Type, ev.Word = typ, word
	} else {
		ev.Type = TypeSent
	}
	ev.Reply = strings.TrimSpace(p.get(rec, p.reply))
	if c := strings.TrimSpace(p.get(rec, p.code)); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 200 || n > 599 {
			return fmt.Sprintf("SMTP code %q is not a number from 200 to 599", clip(c, 20))
		}
		ev.SMTPCode = n
	}
	ev.EnhancedCode = strings.TrimSpace(p.get(rec, p.enhanced))
	fillCodes(ev)
	if raw := p.get(rec, p.ip); raw != "" {
		ip, ok := p.ips[raw]
		if !ok {
			if ip, ok = normalizeIP(raw); !ok {
				return fmt.Sprintf("ip %q is not an IP address", clip(raw, 60))
			}
			if len(p.ips) < 4096 {
				p.ips[raw] = ip
			}
		}
		ev.SendingIP = ip
	} else {
		ev.SendingIP = ipFromReply(ev.Reply)
	}
	ev.MessageID = strings.TrimSpace(p.get(rec, p.messageID))
	if a := strings.TrimSpace(p.get(rec, p.attempt)); a != "" {
		n, err := strconv.Atoi(a)
		if err != nil || n < 0 {
			return fmt.Sprintf("attempt %q is not a whole number", clip(a, 20))
		}
		ev.Attempt = n
	}
	ev.Class = strings.TrimSpace(p.get(rec, p.class))
	us := uint64(t.UnixMicro())
	if id := p.get(rec, p.id); id != "" {
		ev.Key = newKey("csv-id").str(id).str(addr).u64(us).sum()
	} else {
		ev.Key = newKey("csv").u64(us).str(addr).str(ev.Word).str(ev.Reply).str(ev.MessageID).str(ev.SendingIP).u64(uint64(ev.Attempt)).sum()
	}
	return ""
}

func quoteWord(w string) string {
	if strings.ContainsAny(w, " ,=\"'") {
		return strconv.Quote(w)
	}
	return w
}

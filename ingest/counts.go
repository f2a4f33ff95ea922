package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

var countColumnAliases = map[string][]string{
	"minute":   {"minute", "date_trunc", "bucket", "time", "timestamp", "ts", "period", "window_start", "created_at", "sent_at", "date"},
	"count":    {"count", "sends", "n", "total", "messages", "cnt", "emails", "volume", "sent"},
	"provider": {"provider", "mailbox_provider", "domain", "recipient_domain", "rcpt_domain", "to_domain"},
	"ip":       {"ip", "sending_ip", "source_ip", "outgoing_ip", "ip_address"},
}

// countsFormat reads pre-aggregated per-minute send counts: the output of a
// query like SELECT date_trunc('minute', created_at), count(*) ... GROUP BY 1,
// with or without a header, optionally with provider or domain and IP columns.
type countsFormat struct{}

func (countsFormat) Name() string { return "counts" }

func (countsFormat) Cues() string {
	return "a minute,count CSV (header naming a time and a count column, or headerless time,number lines)"
}

type countCols struct{ minute, count, provider, ip int }

func (c countCols) width() int {
	w := 0
	for _, i := range []int{c.minute, c.count, c.provider, c.ip} {
		if i+1 > w {
			w = i + 1
		}
	}
	return w
}

func mapCountColumns(header []string) (countCols, bool) {
	c := countCols{-1, -1, -1, -1}
	for i, h := range header {
		n := normalizeHeader(h)
		for field, aliases := range countColumnAliases {
			for _, a := range aliases {
				if n != a {
					continue
				}
				switch {
				case field == "minute" && c.minute < 0:
					c.minute = i
				case field == "count" && c.count < 0:
					c.count = i
				case field == "provider" && c.provider < 0:
					c.provider = i
				case field == "ip" && c.ip < 0:
					c.ip = i
				}
			}
		}
	}
	return c, c.minute >= 0 && c.count >= 0
}

// headerlessCounts recognises "time,count[,provider|domain][,ip]" data lines,
// the other columns in any order: the count is the whole number, the IP the
// address, anything else the provider or domain.
func headerlessCounts(rec []string) (countCols, bool) {
	if len(rec) < 2 || len(rec) > 4 {
		return countCols{}, false
	}
	if _, _, err := ParseTime(rec[0], time.UTC); err != nil || isEpoch(strings.TrimSpace(rec[0])) {
		return countCols{}, false
	}
	c := countCols{0, -1, -1, -1}
	for i := 1; i < len(rec); i++ {
		v := strings.TrimSpace(rec[i])
		if _, err := strconv.ParseInt(v, 10, 64); err == nil && c.count < 0 {
			c.count = i
		} else if _, ok := normalizeIP(v); ok && c.ip < 0 {
			c.ip = i
		} else if c.provider < 0 {
			c.provider = i
		} else {
			return countCols{}, false
		}
	}
	return c, c.count > 0
}

func (countsFormat) Sniff(head []byte) (bool, string) {
	rec, ok := firstCSVRecord(head)
	if !ok {
		return false, ""
	}
	if c, ok := mapCountColumns(rec); ok {
		if cols, _ := mapColumns(rec, nil); cols.has(FieldRecipient) {
			return false, "" // per-recipient rows are events, not counts
		}
		return true, fmt.Sprintf("CSV header with time column %q and count column %q (pre-aggregated counts)", rec[c.minute], rec[c.count])
	}
	if _, ok := headerlessCounts(rec); ok {
		return true, "headerless time,count lines (pre-aggregated counts)"
	}
	return false, ""
}

func (f countsFormat) Parse(ctx context.Context, r io.Reader, opts *ParseOptions, sink Sink) error {
	ts, ok := sink.(TableSink)
	if !ok {
		return errors.New("counts: this sink cannot store counts")
	}
	br := newPeekReader(r)
	head, _ := br.Peek(sniffSize)
	first, ok := firstCSVRecord(head)
	if !ok {
		return fmt.Errorf("%s: not a minute,count CSV", opts.Source)
	}
	cols, header := mapCountColumns(first)
	if !header {
		if cols, ok = headerlessCounts(first); !ok {
			return fmt.Errorf("%s: the first line %q is neither a minute,count header nor a minute,count row", opts.Source, clip(strings.Join(first, ","), 80))
		}
	}
	if cols.provider < 0 && opts.CountsProvider == "" {
		return fmt.Errorf("%s: these counts have no provider or domain column: say which provider they count with --provider (e.g. --provider microsoft, or --provider all for every recipient)", opts.Source)
	}
	width := cols.width()
	seenHeader := !header
	return readCSVLines(ctx, br, opts, ts, func(rec []string, line int64) (string, bool) {
		if !seenHeader {
			seenHeader = true
			return "", true
		}
		if len(rec) < width {
			return fmt.Sprintf("%d fields, expected at least %d", len(rec), width), false
		}
		t, _, err := ParseTime(rec[cols.minute], opts.TZ)
		if err != nil {
			return "minute: " + err.Error(), false
		}
		n, err := strconv.ParseInt(strings.TrimSpace(rec[cols.count]), 10, 64)
		if err != nil || n < 0 {
			return fmt.Sprintf("count %q is not a whole number", clip(rec[cols.count], 20)), false
		}
		row := CountRow{Minute: t.Truncate(time.Minute), Sends: n, Line: line, Provider: opts.CountsProvider}
		if cols.provider >= 0 {
			v := strings.ToLower(strings.TrimSpace(rec[cols.provider]))
			if v == "" {
				return "provider/domain is empty", false
			}
			if strings.Contains(v, ".") {
				row.Domain, row.Provider = strings.TrimSuffix(v, "."), ""
			} else {
				row.Provider = v
			}
		}
		if cols.ip >= 0 && strings.TrimSpace(rec[cols.ip]) != "" {
			ip, ok := normalizeIP(rec[cols.ip])
			if !ok {
				return fmt.Sprintf("ip %q is not an IP address", clip(rec[cols.ip], 60)), false
			}
			row.IP = ip
		}
		ts.Count(&row)
		return "", false
	})
}

// peekReader lets a parser look at its own head again.
type peekReader struct {
	r   io.Reader
	buf *bytes.Reader
	b   []byte
}

func newPeekReader(r io.Reader) *peekReader { return &peekReader{r: r} }

func (p *peekReader) Peek(n int) ([]byte, error) {
	if p.b == nil {
		p.b = make([]byte, n)
		k, err := io.ReadFull(p.r, p.b)
		p.b = p.b[:k]
		p.buf = bytes.NewReader(p.b)
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			err = nil
		}
		return p.b, err
	}
	return p.b, nil
}

func (p *peekReader) Read(b []byte) (int, error) {
	if p.buf != nil && p.buf.Len() > 0 {
		return p.buf.Read(b)
	}
	return p.r.Read(b)
}

package ingest

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// sndsTimeLayout is how SNDS exports print times (UTC).
const sndsTimeLayout = "1/2/2006 3:04 PM"

var sndsTimeRe = regexp.MustCompile(`^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2} [AP]M$`)

// sndsDataFormat reads SNDS's "View Data" export: 14 columns, no header, CRLF.
type sndsDataFormat struct{}

func (sndsDataFormat) Name() string { return "snds" }

func (sndsDataFormat) Cues() string {
	return "headerless CSV whose lines start with an IP and an M/D/YYYY h:mm AM time (SNDS View Data)"
}

func (sndsDataFormat) Sniff(head []byte) (bool, string) {
	rec, ok := firstCSVRecord(head)
	if !ok {
		return false, ""
	}
	if strings.EqualFold(strings.TrimSpace(rec[0]), "ip address") && len(rec) > 1 && strings.HasPrefix(strings.ToLower(strings.TrimSpace(rec[1])), "activity") {
		return true, "CSV header starting \"IP Address, Activity\" (SNDS View Data)"
	}
	if len(rec) < 13 {
		return false, ""
	}
	if _, err := netip.ParseAddr(strings.TrimSpace(rec[0])); err != nil || !sndsTimeRe.MatchString(strings.TrimSpace(rec[1])) {
		return false, ""
	}
	return true, "headerless lines of an IP, SNDS times (M/D/YYYY h:mm AM) and 14 columns (SNDS View Data)"
}

func firstCSVRecord(head []byte) ([]string, bool) {
	line := firstLine(head)
	if bytes.IndexByte(line, ',') < 0 {
		return nil, false
	}
	cr := csv.NewReader(bytes.NewReader(line))
	cr.FieldsPerRecord = -1
	rec, err := cr.Read()
	return rec, err == nil
}

func (f sndsDataFormat) Parse(ctx context.Context, r io.Reader, opts *ParseOptions, sink Sink) error {
	ts, ok := sink.(TableSink)
	if !ok {
		return errors.New("snds: this sink cannot store SNDS rows")
	}
	return readCSVLines(ctx, r, opts, ts, func(rec []string, line int64) (string, bool) {
		if strings.EqualFold(strings.TrimSpace(rec[0]), "ip address") {
			return "", true // the header some exports carry
		}
		var row SNDSRow
		if reason := parseSNDSRow(rec, &row); reason != "" {
			return reason, false
		}
		row.Line = line
		ts.SNDS(&row)
		return "", false
	})
}

func parseSNDSRow(rec []string, row *SNDSRow) string {
	if len(rec) == 13 {
		rec = append(rec, "")
	}
	if len(rec) != 14 {
		return fmt.Sprintf("%d fields, SNDS View Data has 14 (IP, activity start, activity end, RCPT, DATA, recipients, filter result, complaint rate, trap start, trap end, trap hits, sample HELO, sample MAIL FROM, comments)", len(rec))
	}
	for i := range rec {
		rec[i] = strings.TrimSpace(rec[i])
	}
	ip, ok := normalizeIP(rec[0])
	if !ok {
		return fmt.Sprintf("IP %q is not an IP address", clip(rec[0], 60))
	}
	row.IP = ip
	var err error
	if row.Start, err = time.Parse(sndsTimeLayout, rec[1]); err != nil {
		return fmt.Sprintf("activity start %q is not an SNDS time (expected e.g. 3/4/2024 6:00 AM)", clip(rec[1], 40))
	}
	if row.End, err = time.Parse(sndsTimeLayout, rec[2]); err != nil {
		return fmt.Sprintf("activity end %q is not an SNDS time (expected e.g. 3/4/2024 11:00 PM)", clip(rec[2], 40))
	}
	nums := []*int64{&row.RCPT, &row.DATA, &row.Recipients}
	names := []string{"RCPT commands", "DATA commands", "message recipients"}
	for i, p := range nums {
		n, err := strconv.ParseInt(rec[3+i], 10, 64)
		if err != nil || n < 0 {
			return fmt.Sprintf("%s %q is not a count", names[i], clip(rec[3+i], 20))
		}
		*p = n
	}
	row.Filter = strings.ToUpper(rec[6])
	switch row.Filter {
	case "GREEN", "YELLOW", "RED":
	default:
		return fmt.Sprintf("filter result %q is not GREEN, YELLOW or RED", clip(rec[6], 20))
	}
	row.ComplaintRate = rec[7]
	row.ComplaintPct = -1
	if p := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(rec[7], "<"), " "), "%")); p != "" {
		if v, err := strconv.ParseFloat(strings.TrimSpace(p), 64); err == nil {
			row.ComplaintPct = v
		}
	}
	if rec[8] != "" {
		if row.TrapStart, err = time.Parse(sndsTimeLayout, rec[8]); err != nil {
			return fmt.Sprintf("trap period start %q is not an SNDS time", clip(rec[8], 40))
		}
	}
	if rec[9] != "" {
		if row.TrapEnd, err = time.Parse(sndsTimeLayout, rec[9]); err != nil {
			return fmt.Sprintf("trap period end %q is not an SNDS time", clip(rec[9], 40))
		}
	}
	if rec[10] != "" {
		if row.TrapHits, err = strconv.ParseInt(rec[10], 10, 64); err != nil || row.TrapHits < 0 {
			return fmt.Sprintf("trap hits %q is not a count", clip(rec[10], 20))
		}
	}
	row.HELO, row.MailFrom, row.Comment = rec[11], rec[12], rec[13]
	return ""
}

// sndsStatusFormat reads SNDS's "IP Status" export: first IP, last IP, Yes, reason.
type sndsStatusFormat struct{}

func (sndsStatusFormat) Name() string { return "snds-status" }

func (sndsStatusFormat) Cues() string {
	return "headerless CSV lines of first IP, last IP, Yes/No, reason (SNDS IP Status)"
}

func (sndsStatusFormat) Sniff(head []byte) (bool, string) {
	rec, ok := firstCSVRecord(head)
	if !ok || len(rec) != 4 {
		return false, ""
	}
	_, err1 := netip.ParseAddr(strings.TrimSpace(rec[0]))
	_, err2 := netip.ParseAddr(strings.TrimSpace(rec[1]))
	b := strings.ToLower(strings.TrimSpace(rec[2]))
	if err1 != nil || err2 != nil || (b != "yes" && b != "no") {
		return false, ""
	}
	return true, "headerless lines of first IP, last IP, Yes/No, reason (SNDS IP Status)"
}

func (sndsStatusFormat) Parse(ctx context.Context, r io.Reader, opts *ParseOptions, sink Sink) error {
	ts, ok := sink.(TableSink)
	if !ok {
		return errors.New("snds-status: this sink cannot store SNDS rows")
	}
	return readCSVLines(ctx, r, opts, ts, func(rec []string, line int64) (string, bool) {
		if len(rec) != 4 {
			return fmt.Sprintf("%d fields, SNDS IP Status has 4 (first IP, last IP, blocked, reason)", len(rec)), false
		}
		first, ok1 := normalizeIP(rec[0])
		last, ok2 := normalizeIP(rec[1])
		if !ok1 || !ok2 {
			return fmt.Sprintf("%q..%q is not an IP range", clip(rec[0], 40), clip(rec[1], 40)), false
		}
		a, _ := netip.ParseAddr(first)
		b, _ := netip.ParseAddr(last)
		if a.Is4() != b.Is4() || b.Less(a) {
			return fmt.Sprintf("%s..%s is not an IP range (last before first)", first, last), false
		}
		ts.SNDSBlock(&SNDSBlock{FirstIP: first, LastIP: last, Blocked: strings.TrimSpace(rec[2]), Reason: strings.TrimSpace(rec[3]), Line: line})
		return "", false
	})
}

// readCSVLines reads a small CSV export record by record, keeping the raw
// text of a rejected record. fn returns a reject reason, or skip for lines
// that are neither records nor errors (headers).
func readCSVLines(ctx context.Context, r io.Reader, opts *ParseOptions, sink Sink, fn func(rec []string, line int64) (reason string, skip bool)) error {
	tee := &rawTee{r: r}
	cr := csv.NewReader(tee)
	cr.FieldsPerRecord = -1
	return csvRecords(ctx, cr, tee, opts, sink, func(rec []string, line int64) (string, error) {
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			return "", nil
		}
		if reason, skip := fn(rec, line); !skip {
			return reason, nil
		}
		return "", nil
	})
}

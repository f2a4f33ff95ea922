package ingest

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
)

// powerMTAFormat reads PowerMTA accounting files: CSV with a header line
// whose first columns are type,timeLogged. A file holding several record
// types has the union of their columns, so columns are found by header name
// only, never by position.
type powerMTAFormat struct{}

func (powerMTAFormat) Name() string { return "powermta" }

func (powerMTAFormat) Cues() string {
	return "a PowerMTA accounting CSV header: type first, then timeLogged (usually right after it)"
}

// Sniff accepts a header whose first column is PowerMTA's record type and
// that names timeLogged, a column no generic export calls that: PowerMTA
// writes "type,timeLogged,..." by default, but record-fields may reorder.
func (powerMTAFormat) Sniff(head []byte) (bool, string) {
	line := bytes.TrimPrefix(firstLine(head), []byte("\ufeff"))
	cols := strings.Split(string(line), ",")
	if len(cols) < 2 || !strings.EqualFold(cols[0], "type") {
		return false, ""
	}
	for _, c := range cols[1:] {
		if strings.EqualFold(c, "timeLogged") {
			return true, "PowerMTA accounting CSV header (type, timeLogged, ...)"
		}
	}
	return false, ""
}

// pmtaColumns is the header resolved to column indexes, -1 when absent.
type pmtaColumns struct {
	n                                               int
	typ, time, rcpt, status, diag, action, sourceIP int
	jobID, envID, messageID, vmta, queue, bounceCat int
}

func newPMTAColumns(header []string) (pmtaColumns, error) {
	c := pmtaColumns{n: len(header)}
	idx := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, dup := idx[h]; !dup {
			idx[h] = i
		}
	}
	get := func(names ...string) int {
		for _, n := range names {
			if i, ok := idx[n]; ok {
				return i
			}
		}
		return -1
	}
	c.typ, c.time, c.rcpt = get("type"), get("timelogged"), get("rcpt")
	c.status, c.diag, c.action = get("dsnstatus"), get("dsndiag"), get("dsnaction")
	c.sourceIP, c.jobID, c.envID = get("dlvsourceip"), get("jobid"), get("envid")
	c.messageID = get("header_message-id", "header_message-id:")
	c.vmta, c.queue, c.bounceCat = get("vmta"), get("queue"), get("bouncecat")
	var missing []string
	for _, m := range []struct {
		name string
		i    int
	}{{"type", c.typ}, {"timeLogged", c.time}} {
		if m.i < 0 {
			missing = append(missing, m.name)
		}
	}
	if c.rcpt < 0 && c.queue < 0 {
		missing = append(missing, "rcpt")
	}
	if len(missing) > 0 {
		return c, fmt.Errorf("the PowerMTA header has no %s column (columns: %s)", strings.Join(missing, " or "), strings.Join(header, ","))
	}
	return c, nil
}

func (c *pmtaColumns) get(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return rec[i]
}

func (f powerMTAFormat) Parse(ctx context.Context, r io.Reader, opts *ParseOptions, sink Sink) error {
	tee := &rawTee{r: r}
	cr := csv.NewReader(tee)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%s: reading the PowerMTA header: %w", opts.Source, err)
	}
	cols, err := newPMTAColumns(header)
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Source, err)
	}
	var ev Event
	return csvRecords(ctx, cr, tee, opts, sink, func(rec []string, line int64) (string, error) {
		// Accounting files concatenated with cat repeat the header, and a
		// later file may have other columns.
		if len(rec) > 1 && rec[0] == "type" && strings.EqualFold(rec[1], "timeLogged") {
			if cols, err = newPMTAColumns(rec); err != nil {
				return "", fmt.Errorf("%s:%d: %w", opts.Source, line, err)
			}
			return "", nil
		}
		if reason := cols.parse(rec, &ev, opts, sink); reason != "" {
			return reason, nil
		}
		ev.Line = line
		sink.Event(&ev)
		return "", nil
	})
}

// pmtaType maps a record type to the vocabulary; "rs" (remote status, from a
// DSN the receiver sent back later) depends on its DSN action.
func pmtaType(typ, action string) (EventType, bool) {
	switch typ {
	case "d":
		return TypeDelivered, true
	case "b", "rb":
		return TypeBounced, true
	case "t", "tq":
		return TypeDeferred, true
	case "r":
		return TypeProcessed, true
	case "f":
		return TypeComplaint, true
	case "rs":
		switch strings.ToLower(action) {
		case "delivered", "relayed", "expanded":
			return TypeDelivered, true
		case "delayed":
			return TypeDeferred, true
		case "failed":
			return TypeBounced, true
		}
		return TypeOther, true
	}
	return "", false
}

func (c *pmtaColumns) parse(rec []string, ev *Event, opts *ParseOptions, sink Sink) string {
	if len(rec) != c.n {
		if len(rec) == 1 && rec[0] == "" {
			return "empty line"
		}
		return fmt.Sprintf("%d fields, the header has %d", len(rec), c.n)
	}
	*ev = Event{}
	word := c.get(rec, c.typ)
	typ, ok := pmtaType(word, c.get(rec, c.action))
	if !ok {
		if typ, ok = opts.Status.Lookup(word); !ok {
			return fmt.Sprintf("record type %q is not a PowerMTA accounting type (d, b, t, tq, r, f, rb, rs)", clip(word, 20))
		}
	}
	ev.Type, ev.Word = typ, word
	ts := c.get(rec, c.time)
	t, zoneless, err := ParseTime(ts, opts.TZ)
	if err != nil {
		return "timeLogged: " + err.Error()
	}
	if zoneless {
		sink.ZoneAssumed()
	}
	ev.Time = t
	if rcpt := c.get(rec, c.rcpt); rcpt != "" {
		addr, domain, ok := SplitAddress(rcpt)
		if !ok {
			return fmt.Sprintf("rcpt %q is not an e-mail address", clip(rcpt, 80))
		}
		ev.Recipient, ev.Domain = addr, domain
	} else {
		// Transient-queue (tq) records report a whole queue's connection
		// failure: no recipient, but the queue ("domain/vmta") names the domain.
		q := c.get(rec, c.queue)
		if slash := strings.IndexByte(q, '/'); slash >= 0 {
			q = q[:slash]
		}
		q = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(q), "."))
		if q == "" || strings.ContainsAny(q, " @*") {
			return fmt.Sprintf("%s record with no rcpt and no queue domain", word)
		}
		ev.Domain = q
	}
	ev.Reply = strings.TrimSpace(c.get(rec, c.diag))
	fillCodes(ev)
	// dsnStatus ("4.7.650 (other or undefined security status)") is
	// PowerMTA's DSN status: the receiver's own code in the reply wins.
	if s, _, _ := strings.Cut(strings.TrimSpace(c.get(rec, c.status)), " "); ev.EnhancedCode == "" && validEnhanced(s) {
		ev.EnhancedCode = s
	}
	if raw := strings.TrimSpace(c.get(rec, c.sourceIP)); raw != "" {
		ip, ok := normalizeIP(raw)
		if !ok {
			return fmt.Sprintf("dlvSourceIp %q is not an IP address", clip(raw, 60))
		}
		ev.SendingIP = ip
	} else if typ != TypeProcessed && typ != TypeComplaint {
		ev.SendingIP = ipFromReply(ev.Reply)
	}
	ev.MessageID = strings.Trim(firstNonEmpty(c.get(rec, c.messageID), c.get(rec, c.envID)), "<> ")
	ev.Class = c.get(rec, c.jobID)
	h := newKey("powermta").u64(uint64(t.UnixMicro())).str(word).str(ev.Recipient).str(ev.Domain)
	for _, i := range []int{c.status, c.diag, c.sourceIP, c.vmta, c.jobID, c.envID, c.messageID, c.bounceCat} {
		h = h.str(c.get(rec, i))
	}
	ev.Key = h.sum()
	return ""
}

package report

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/senderscope/senderscope/ingest"
)

// sourceRecord is one input of an ingest run as a CSV row.
type sourceRecord struct {
	Run        int64  `csv:"run_id"`
	Source     string `csv:"source"`
	Format     string `csv:"format"`
	Detected   string `csv:"detected"`
	Read       int64  `csv:"read"`
	Stored     int64  `csv:"stored"`
	Duplicates int64  `csv:"duplicates"`
	Rejected   int64  `csv:"rejected"`
	First      string `csv:"first"`
	Last       string `csv:"last"`
	Error      string `csv:"error"`
}

// IngestDoc renders an ingest run's summary.
func IngestDoc(s *ingest.RunSummary) Doc {
	d := Doc{Value: s}
	d.Lead = append(d.Lead, fmt.Sprintf("Run %d %s: read %s = stored %s + duplicates %s + rejected %s",
		s.RunID, s.Status, Int(s.Read), Int(s.Stored), Int(s.Duplicates), Int(s.Rejected)))
	if s.First != nil {
		d.Lead = append(d.Lead, fmt.Sprintf("Time range: %s to %s (UTC)", TimeUTC(*s.First), TimeUTC(*s.Last)))
	}
	if s.ZoneAssumed > 0 {
		d.Lead = append(d.Lead, fmt.Sprintf("Times without a zone were read as %s (%s records; change with --tz ZONE).", s.TZ, Int(s.ZoneAssumed)))
	}
	src := Section{Title: "Inputs", Header: []string{"source", "format", "detected", "read", "stored", "duplicates", "rejected"}, Right: []int{3, 4, 5, 6}}
	var recs []sourceRecord
	for _, x := range s.Sources {
		format := x.Format
		if x.Error != "" && format == "" {
			format = "-"
		}
		src.Rows = append(src.Rows, []string{x.Name, format, x.Detected, Int(x.Read), Int(x.Stored), Int(x.Duplicates), Int(x.Rejected)})
		if x.Error != "" {
			src.Notes = append(src.Notes, firstLine(x.Error))
		}
		recs = append(recs, sourceRecord{Run: s.RunID, Source: x.Name, Format: x.Format, Detected: x.Detected, Read: x.Read,
			Stored: x.Stored, Duplicates: x.Duplicates, Rejected: x.Rejected, First: timePtr(x.First), Last: timePtr(x.Last), Error: x.Error})
	}
	d.Records = recs
	d.Sections = append(d.Sections, src)
	if len(s.Providers) > 0 {
		ps := Section{Title: "Events read by provider", Header: []string{"provider", "events"}, Right: []int{1}}
		for _, p := range s.Providers {
			ps.Rows = append(ps.Rows, []string{p.Provider, Int(p.Events)})
		}
		d.Sections = append(d.Sections, ps)
	}
	if len(s.RejectReasons) > 0 {
		rs := Section{Title: "Rejected records (kept in the rejects table)", Header: []string{"reason", "count", "first at"}, Right: []int{1}}
		reasons := append([]ingest.ReasonCount(nil), s.RejectReasons...)
		sort.SliceStable(reasons, func(i, j int) bool { return reasons[i].Count > reasons[j].Count })
		for i, r := range reasons {
			if i == 10 {
				rs.Notes = append(rs.Notes, fmt.Sprintf("... and %d more reasons: see the rejects table (run %d).", len(reasons)-10, s.RunID))
				break
			}
			rs.Rows = append(rs.Rows, []string{r.Reason, Int(r.Count), fmt.Sprintf("%s:%d", r.Source, r.FirstLine)})
		}
		d.Sections = append(d.Sections, rs)
	}
	return d
}

// OverviewDoc renders what the database holds.
func OverviewDoc(o *ingest.Overview) Doc {
	d := Doc{Value: o}
	d.Lead = append(d.Lead, fmt.Sprintf("Database %s (schema %d): %s events, %s rejects", o.Path, o.Schema, Int(o.Events), Int(o.Rejects)))
	if o.First != nil {
		d.Lead = append(d.Lead, fmt.Sprintf("Time range: %s to %s (UTC)", TimeUTC(*o.First), TimeUTC(*o.Last)))
	}
	types := []ingest.EventType{}
	seen := map[ingest.EventType]bool{}
	for _, t := range ingest.EventTypes {
		for _, p := range o.ByProvider {
			if p.ByType[t] > 0 && !seen[t] {
				seen[t] = true
				types = append(types, t)
			}
		}
	}
	bp := Section{Title: "Events by provider and type", Header: []string{"provider"}}
	for i, t := range types {
		bp.Header = append(bp.Header, string(t))
		bp.Right = append(bp.Right, i+1)
	}
	bp.Header = append(bp.Header, "total")
	bp.Right = append(bp.Right, len(types)+1)
	type rec struct {
		Provider string `csv:"provider"`
		Type     string `csv:"type"`
		Events   int64  `csv:"events"`
	}
	var recs []rec
	for _, p := range o.ByProvider {
		row := []string{p.Provider}
		for _, t := range types {
			row = append(row, Int(p.ByType[t]))
			if p.ByType[t] > 0 {
				recs = append(recs, rec{p.Provider, string(t), p.ByType[t]})
			}
		}
		row = append(row, Int(p.Total))
		bp.Rows = append(bp.Rows, row)
	}
	d.Records = recs
	d.Sections = append(d.Sections, bp)
	if len(o.IPs) > 0 {
		ips := Section{Title: "Sending IPs", Header: []string{"ip", "events", "first", "last"}, Right: []int{1}}
		for _, ip := range o.IPs {
			ips.Rows = append(ips.Rows, []string{ip.IP, Int(ip.Events), timePtr(ip.First), timePtr(ip.Last)})
		}
		d.Sections = append(d.Sections, ips)
	}
	if len(o.Counts) > 0 {
		cs := Section{Title: "Pre-aggregated counts", Header: []string{"provider", "ip", "minutes", "sends", "first", "last"}, Right: []int{2, 3}}
		for _, c := range o.Counts {
			ip := c.IP
			if ip == "" {
				ip = "(all)"
			}
			cs.Rows = append(cs.Rows, []string{c.Provider, ip, Int(c.Minutes), Int(c.Sends), TimeUTC(c.First), TimeUTC(c.Last)})
		}
		d.Sections = append(d.Sections, cs)
	}
	if len(o.SNDS) > 0 {
		ss := Section{Title: "SNDS data (Microsoft's view, per IP and day)", Header: []string{"ip", "activity (UTC)", "RCPT", "DATA", "recipients", "filter", "complaints", "trap hits"}, Right: []int{2, 3, 4, 7}}
		for _, x := range o.SNDS {
			ss.Rows = append(ss.Rows, []string{x.IP, x.Start.Format("2006-01-02 15:04") + " to " + x.End.Format("15:04"), Int(x.RCPT), Int(x.DATA), Int(x.Recipients), x.Filter, x.ComplaintRate, Int(x.TrapHits)})
		}
		d.Sections = append(d.Sections, ss)
	}
	if len(o.Blocks) > 0 {
		bs := Section{Title: "SNDS IP status: blocked ranges", Header: []string{"first ip", "last ip", "reason"}}
		for _, b := range o.Blocks {
			bs.Rows = append(bs.Rows, []string{b.FirstIP, b.LastIP, b.Reason})
		}
		d.Sections = append(d.Sections, bs)
	}
	if len(o.Runs) > 0 {
		rs := Section{Title: "Ingest runs", Header: []string{"run", "status", "started (UTC)", "formats", "read", "stored", "duplicates", "rejected", "sources"}, Right: []int{4, 5, 6, 7}}
		for _, r := range o.Runs {
			rs.Rows = append(rs.Rows, []string{strconv.FormatInt(r.ID, 10), r.Status, TimeUTC(r.StartedAt), r.Formats,
				Int(r.Read), Int(r.Stored), Int(r.Duplicates), Int(r.Rejected), clip(r.Sources, 60)})
			if r.Error != "" {
				rs.Notes = append(rs.Notes, fmt.Sprintf("run %d: %s", r.ID, firstLine(r.Error)))
			}
		}
		d.Sections = append(d.Sections, rs)
	}
	return d
}

// Int formats a count with thousands separators.
func Int(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// TimeUTC formats a time for people, always in UTC.
func TimeUTC(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

func timePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

func clip(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

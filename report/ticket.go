package report

import (
	"fmt"
	"io"
	"strings"
	"text/template"
	"time"

	"github.com/senderscope/senderscope/analyze"
)

// TicketText renders a ticket as plain text, field by field, ready to copy.
func TicketText(w io.Writer, t *analyze.Ticket) error {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("MICROSOFT SENDER SUPPORT REQUEST (draft by senderscope; every time is UTC)")
	line("")
	line("Where: %s", Clean(t.Route.Name))
	if t.Route.URL != "" {
		line("       %s", t.Route.URL)
	}
	line("Why:   %s", Clean(t.Route.Why))
	for i, s := range t.Route.Steps {
		line("  %d. %s", i+1, Clean(s))
	}
	for _, r := range t.OtherRoutes {
		line("Also:  %s (%s): %s", Clean(r.Name), r.URL, Clean(r.Why))
	}
	for _, n := range t.Notices {
		line("")
		line("NOTE: %s", Clean(n))
	}
	if t.Route.Channel == analyze.ChannelNone {
		_, err := io.WriteString(w, b.String())
		return err
	}
	line("")
	line("== The form, field by field ==")
	for _, f := range t.Form {
		line("")
		label := f.Label
		if len(f.Choices) > 0 {
			label += " [" + strings.Join(f.Choices, " | ") + "]"
		}
		line("%s:", label)
		switch {
		case f.Missing:
			line("  (MISSING: %s)", missingHint(f.ID))
		default:
			for _, l := range strings.Split(f.Value, "\n") {
				line("  %s", Clean(l))
			}
		}
	}
	if len(t.Missing) > 0 {
		line("")
		line("Missing before you submit: %s.", strings.Join(t.Missing, "; "))
	}
	line("")
	line("== Evidence: reply to the ticket e-mail (SRX...) with this ==")
	writeEvidence(&b, t, false)
	line("")
	line("== The ask ==")
	line("%s", Clean(t.Ask))
	_, err := io.WriteString(w, b.String())
	return err
}

func missingHint(id string) string {
	switch id {
	case "ContactName":
		return "--contact-name, or contact_name in --config"
	case "ContactEmail":
		return "--contact-email, or contact_email in --config"
	case "DomainFrom":
		return "--domain, or sending_domain in --config"
	case "SelfDescription":
		return "--self-description esp|isp|business|university|other, or self_description in --config"
	case "WebsiteUrl":
		return "--website, or website in --config"
	case "ServerType":
		return "--server-type dedicated|shared|unknown, or server_type in --config"
	}
	return "not found in the data"
}

// writeEvidence writes the evidence block as text or Markdown.
func writeEvidence(b *strings.Builder, t *analyze.Ticket, md bool) {
	ev := t.Evidence
	para := func(s string) {
		if md {
			b.WriteString(MarkdownText(s) + "\n\n")
		} else {
			b.WriteString(Clean(s) + "\n")
		}
	}
	heading := func(s string) {
		if md {
			b.WriteString("#### " + MarkdownText(s) + "\n\n")
		} else {
			b.WriteString("\n" + s + ":\n")
		}
	}
	table := func(header []string, rows [][]string, right []int) {
		sec := Section{Header: header, Rows: rows, Right: right}
		p := Printer{W: b, Format: FormatTable}
		if md {
			p.Format = FormatMarkdown
		}
		p.Print(Doc{Sections: []Section{sec}})
		if md {
			b.WriteString("\n")
		}
	}
	if !md {
		b.WriteString("\n")
	}
	para(fmt.Sprintf("Sending IPs (dedicated to us unless the form says otherwise): %s.", strings.Join(ev.IPs, ", ")))
	if ev.IncidentStart != nil {
		para(fmt.Sprintf("Deferrals since %s UTC: %s of %s attempts (%.1f%%, the %q band of the usual warm-up guidance).",
			ev.IncidentStart.Format("2006-01-02 15:04"), Int(ev.Deferred), Int(ev.Attempts), ev.DeferralRate*100, ev.Band))
	}
	heading("When it started (first deferral per IP) and the burst before it")
	for _, o := range ev.Onsets {
		para("- " + o.Sentence)
	}
	if len(ev.Spikes) > 0 {
		heading("Busiest minutes to Outlook.com before the incident, every IP together")
		var rows [][]string
		for _, s := range ev.Spikes {
			rows = append(rows, []string{s.Start.Format("2006-01-02 15:04"), Int(s.Sends), peakText(s), sinceText(s)})
		}
		table([]string{"minute", "sends", "most in any 60 s", "highest since"}, rows, []int{1, 2})
	}
	if len(ev.Daily) > 0 {
		heading("Daily volume to Outlook.com per IP")
		table([]string{"day", "ip", "sends", "attempts", "delivered", "deferred"}, volumeRows(ev.Daily, "2006-01-02"), []int{2, 3, 4, 5})
	}
	if len(ev.Hourly) > 0 {
		heading("Hourly volume around the burst and the first deferrals")
		table([]string{"hour", "ip", "sends", "attempts", "delivered", "deferred"}, volumeRows(ev.Hourly, "2006-01-02 15:00"), []int{2, 3, 4, 5})
	}
	if len(ev.Codes) > 0 {
		heading("Deferrals and blocks by code and IP")
		var rows [][]string
		for _, c := range ev.Codes {
			rows = append(rows, []string{c.Type, c.IP, strings.TrimSpace(fmt.Sprintf("%d %s", c.SMTPCode, c.EnhancedCode)), c.RuleID, Int(c.Count),
				Int(c.Recipients), c.First.Format("01-02 15:04"), c.Last.Format("01-02 15:04")})
		}
		table([]string{"type", "ip", "code", "rule", "count", "recipients", "first", "last"}, rows, []int{4, 5})
	}
	heading("Authentication and identity")
	switch {
	case ev.Auth != nil:
		for _, a := range ev.Auth {
			if a.Severity == "info" {
				continue
			}
			para(fmt.Sprintf("- %s: %s", strings.ToUpper(a.Severity), a.Message))
		}
	case ev.AuthSkipped != "":
		para(ev.AuthSkipped)
	}
	heading("SNDS (Microsoft's view of the IPs)")
	if len(ev.SNDS) == 0 {
		para("No SNDS data in the database (ingest the SNDS View Data export to include filter results and complaint rates).")
	} else {
		var rows [][]string
		for _, d := range ev.SNDS {
			rows = append(rows, []string{d.Start.Format("2006-01-02"), d.IP, Int(d.RCPT), Int(d.DATA), Int(d.Recipients), d.Filter, d.ComplaintRate, Int(d.TrapHits)})
		}
		table([]string{"day", "ip", "RCPT", "DATA", "recipients", "filter", "complaint rate", "trap hits"}, rows, []int{2, 3, 4, 7})
	}
	heading("What we changed")
	if len(ev.Remediation) == 0 {
		para("(nothing given: add --remediation \"capped Outlook.com at 10/min per IP\" for each change)")
	}
	for _, r := range ev.Remediation {
		para("- " + r)
	}
	if ev.ProjectedVolume != "" {
		para("Projected volume: " + ev.ProjectedVolume + ".")
	}
}

func volumeRows(rs []analyze.VolumeRow, layout string) [][]string {
	var out [][]string
	for _, r := range rs {
		ip := r.IP
		if ip == "" {
			ip = "unknown"
		}
		out = append(out, []string{r.Start.Format(layout), ip, Int(r.Sends), Int(r.Attempts), Int(r.Delivered), Int(r.Deferred)})
	}
	return out
}

// TicketMarkdown renders a ticket as Markdown.
func TicketMarkdown(w io.Writer, t *analyze.Ticket) error {
	var b strings.Builder
	b.WriteString("## Microsoft sender support request (draft)\n\n")
	fmt.Fprintf(&b, "**Where:** %s", MarkdownText(t.Route.Name))
	if t.Route.URL != "" {
		fmt.Fprintf(&b, " — <%s>", t.Route.URL)
	}
	fmt.Fprintf(&b, "\n\n**Why:** %s\n\n", MarkdownText(t.Route.Why))
	for i, s := range t.Route.Steps {
		fmt.Fprintf(&b, "%d. %s\n", i+1, MarkdownText(s))
	}
	for _, n := range t.Notices {
		fmt.Fprintf(&b, "\n> **Note:** %s\n", MarkdownText(n))
	}
	if t.Route.Channel != analyze.ChannelNone {
		b.WriteString("\n### The form\n\n| field | value |\n|---|---|\n")
		for _, f := range t.Form {
			v := MarkdownCell(f.Value)
			if f.Missing {
				v = "**missing:** " + MarkdownCell(missingHint(f.ID))
			}
			fmt.Fprintf(&b, "| %s | %s |\n", MarkdownCell(f.Label), v)
		}
		b.WriteString("\n### Evidence (reply to the ticket e-mail with this)\n\n")
		writeEvidence(&b, t, true)
		fmt.Fprintf(&b, "### The ask\n\n%s\n", MarkdownText(t.Ask))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// TicketTemplate renders a ticket through a user's text/template.
func TicketTemplate(w io.Writer, t *analyze.Ticket, tmpl string) error {
	funcs := template.FuncMap{
		"join":  strings.Join,
		"utc":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") },
		"int":   Int,
		"clean": Clean,
	}
	tp, err := template.New("ticket").Funcs(funcs).Parse(tmpl)
	if err != nil {
		return fmt.Errorf("ticket template: %w", err)
	}
	return tp.Execute(w, t)
}

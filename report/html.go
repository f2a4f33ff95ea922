package report

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/senderscope/senderscope/analyze"
)

//go:embed templates/incident.html
var templateFS embed.FS

// DocLinks are the only links the HTML report holds: documentation a reader
// of an incident report needs next. Everything else is inline.
var DocLinks = []DocLink{
	{Label: "Outlook.com sender support form", URL: "https://olcsupport.office.com/"},
	{Label: "Microsoft SNDS", URL: "https://sendersupport.olc.protection.outlook.com/snds/"},
}

// DocLink is one documentation link.
type DocLink struct {
	Label string
	URL   string
}

// htmlPage is what the template reads. Every string in it is data: the
// template escapes it for where it lands (text, attribute), so a reply
// text, domain or file name cannot become markup.
type htmlPage struct {
	Title    string
	Byline   string
	Redacted bool
	Summary  []string
	Cards    []htmlCard
	Charts   []svgChart
	Sections []htmlSection
	Links    []DocLink
}

type htmlCard struct {
	Label, Value, Note, Class string
}

type htmlCell struct {
	Text  string
	Right bool
	Short bool     // never wrapped: times, IPs, codes
	Lines []string // a list cell, one item a line
}

func cell(text string, right bool) htmlCell {
	return htmlCell{Text: text, Right: right, Short: len(text) <= 24}
}

func listCell(text string) htmlCell {
	return htmlCell{Text: text, Short: true, Lines: strings.Split(text, "; ")}
}

type htmlSection struct {
	ID     string
	Title  string
	Intro  []string
	Header []htmlCell
	Rows   [][]htmlCell
	Notes  []string
	Items  []string // notes written as "- item"
}

func newIncidentTemplate() (*template.Template, error) {
	funcs := template.FuncMap{
		"num":      num,
		"plus":     func(a, b float64) float64 { return a + b },
		"minus":    func(a, b float64) float64 { return a - b },
		"frame":    func() string { return chartFrame },
		"grid":     func() string { return chartGrid },
		"axisText": func() string { return chartAxisText },
	}
	return template.New("incident.html").Funcs(funcs).ParseFS(templateFS, "templates/incident.html")
}

// WriteIncidentHTML writes the incident report as one self-contained HTML
// file: inline CSS, charts as inline SVG, no script, nothing fetched.
func WriteIncidentHTML(w io.Writer, v *IncidentView) error {
	t, err := newIncidentTemplate()
	if err != nil {
		return fmt.Errorf("html template: %w", err)
	}
	if err := t.Execute(w, incidentPage(v)); err != nil {
		return fmt.Errorf("write html: %w", err)
	}
	return nil
}

func incidentPage(v *IncidentView) htmlPage {
	doc := IncidentDoc(v)
	p := htmlPage{Title: v.Title, Byline: reportByline(v), Redacted: v.Redacted, Summary: summaryLines(v), Links: DocLinks}
	p.Cards = incidentCards(v)
	ipIndex := map[string]int{}
	var ips []string
	addIP := func(ip string) {
		if _, ok := ipIndex[ip]; !ok {
			ips = append(ips, ip)
			ipIndex[ip] = 0
		}
	}
	if v.Investigation.Rates != nil {
		for _, r := range v.Investigation.Rates.Rows {
			addIP(r.IP)
		}
	}
	for _, w := range v.Incident.Windows {
		for _, s := range w.Series {
			addIP(s.IP)
		}
	}
	sortIPs(ips)
	for i, ip := range ips {
		ipIndex[ip] = i // one colour per IP in every chart
	}
	for i, w := range v.Incident.Windows {
		p.Charts = append(p.Charts, minuteChart(fmt.Sprintf("chart-minutes-%d", i+1), w, ipIndex))
	}
	if c, ok := rateChart("chart-rate-hourly", v.Investigation, v.Incident, ipIndex); ok {
		p.Charts = append(p.Charts, c)
	}
	for i, s := range doc.Sections {
		hs := htmlSection{ID: fmt.Sprintf("section-%d", i+1), Title: s.Title, Intro: s.Intro}
		for j, h := range s.Header {
			hs.Header = append(hs.Header, cell(h, contains(s.Right, j)))
		}
		for _, r := range s.Rows {
			row := make([]htmlCell, len(r))
			for j, c := range r {
				if contains(s.Lists, j) {
					row[j] = listCell(c)
				} else {
					row[j] = cell(c, contains(s.Right, j))
				}
			}
			hs.Rows = append(hs.Rows, row)
		}
		for _, n := range s.Notes {
			if item, ok := strings.CutPrefix(n, "- "); ok {
				hs.Items = append(hs.Items, item)
			} else {
				hs.Notes = append(hs.Notes, strings.TrimSpace(n))
			}
		}
		p.Sections = append(p.Sections, hs)
	}
	return p
}

// incidentCards are the four numbers on top of the page.
func incidentCards(v *IncidentView) []htmlCard {
	inv := v.Investigation
	prov := analyze.ProviderName(inv.Provider)
	var cards []htmlCard
	if inv.IncidentStart == nil {
		cards = append(cards, htmlCard{Label: "Incident start", Value: "none", Note: "no deferrals from " + prov})
	} else {
		cards = append(cards, htmlCard{Label: "Incident start", Value: inv.IncidentStart.Format("Jan 2 15:04") + " UTC", Note: "first deferral from " + prov})
	}
	for _, p := range inv.Impact {
		if p.Provider == inv.Provider {
			cards = append(cards, htmlCard{Label: prov + " deferral rate", Value: pct(p.DeferralRate), Class: "band-" + string(p.Band),
				Note: fmt.Sprintf("%s band; %s of %s attempts", p.Band, Int(p.Deferred), Int(p.Attempts))})
		}
	}
	if b := firstBurst(inv); b != nil {
		cards = append(cards, htmlCard{Label: "Burst before", Value: fmt.Sprintf("%s sends/min", Int(b.Burst.Sends)),
			Note: fmt.Sprintf("at %s UTC, %s before the first deferral", b.Burst.Start.Format("Jan 2 15:04"), b.Lag)})
	}
	if rec := recommended(inv); rec != nil {
		cards = append(cards, htmlCard{Label: "Recommended limit", Value: rec.Limit + " per IP", Note: fmt.Sprintf("p95 added delay %s, max %s", dur(rec.P95Seconds), dur(rec.MaxSeconds))})
	}
	return cards
}

// firstBurst is the onset of the first deferral that had a burst before it.
func firstBurst(inv *analyze.Investigation) *analyze.Onset {
	for i, o := range inv.Onsets {
		if o.Provider == inv.Provider && o.Burst != nil {
			return &inv.Onsets[i]
		}
	}
	return nil
}

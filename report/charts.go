package report

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/senderscope/senderscope/analyze"
)

// The charts are drawn here as geometry (rectangles, polylines, labels) and
// written as inline SVG by the HTML template, so the report needs no script
// and no network, and every label passes through html/template's escaping.

// ChartFrameColor outlines every plot area of the HTML report's charts and
// is used for nothing else, so a screenshot test can find the plots.
const ChartFrameColor = "#1b2a41"

// DeferredColor draws deferrals in the charts; no IP has it.
const DeferredColor = "#d62728"

// Colours of the charts.
const (
	chartFrame    = ChartFrameColor
	chartGrid     = "#e3e6ea"
	chartAxisText = "#4a5260"
	colorDeferred = DeferredColor
	colorBurst    = "#6a3d9a"
	colorRecover  = "#2a9d4b"
	colorHorizon  = "#7a7f87"
)

// ipPalette colours the sending IPs; none of them is red, the deferrals' colour.
var ipPalette = []string{"#1f6fb4", "#e08a00", "#17a2b8", "#8c564b", "#7f7f00", "#e377c2"}

func ipColor(i int) string { return ipPalette[i%len(ipPalette)] }

// svgChart is one SVG figure.
type svgChart struct {
	ID      string
	Title   string
	Caption string
	Width   int
	Height  int
	Panels  []svgPanel
	Markers []svgMarker // vertical lines across every panel
	XTicks  []svgTick
	Legend  []svgLegend
	LegendY float64
}

// svgPanel is one plot area with its own frame.
type svgPanel struct {
	Label  string
	X, Y   float64 // top left of the plot area
	W, H   float64
	Bands  []svgRect
	YTicks []svgTick
	Bars   []svgRect
	Lines  []svgLine
	Dots   []svgDot
}

type svgRect struct {
	X, Y, W, H float64
	Fill       string
	Tip        string
}

type svgLine struct {
	Points string
	Stroke string
	Dash   bool
}

type svgDot struct {
	X, Y float64
	Fill string
	Tip  string
}

type svgTick struct {
	Pos   float64 // x for x ticks, y for y ticks
	Label string
}

type svgMarker struct {
	X, Y1, Y2 float64 // the line
	LX, LY    float64 // the label
	Label     string
	Stroke    string
	Anchor    string // start or end, so labels stay inside the figure
}

type svgLegend struct {
	X     float64
	Color string
	Line  bool
	Label string
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// Layout of every chart, in SVG user units (pixels at scale 1).
const (
	chartWidth  = 1100
	plotLeft    = 64
	plotRight   = 24
	plotWidth   = chartWidth - plotLeft - plotRight
	markerSpace = 48 // above the first panel, for up to three rows of marker labels
	panelGap    = 30 // between panels, for the next panel's label
	axisSpace   = 26 // under the last panel, for x labels
	legendSpace = 30
)

// minuteChart draws one window: a panel per sending IP with its sends per
// minute as bars and its deferrals per minute as a red line, on one scale.
func minuteChart(id string, w analyze.MinuteWindow, ipIndex map[string]int) svgChart {
	const panelH = 130.0
	c := svgChart{ID: id, Title: w.Title, Width: chartWidth}
	last := w.From.Add(time.Duration(w.Minutes) * time.Minute)
	c.Caption = fmt.Sprintf("Sends per minute (wide bars) with the deferrals of the same minute over them (narrow red bars), per sending IP, %s to %s UTC.",
		w.From.Format("2006-01-02 15:04"), last.Format("15:04"))
	var top int64
	for _, s := range w.Series {
		for i := range s.Sends {
			top = max(top, s.Sends[i], s.Deferred[i])
		}
	}
	yMax := niceCeil(float64(top))
	n := max(w.Minutes, 1)
	bw := float64(plotWidth) / float64(n)
	y := float64(markerSpace)
	for _, s := range w.Series {
		y += 18 // the panel's label
		p := svgPanel{Label: s.IP, X: plotLeft, Y: y, W: plotWidth, H: panelH}
		for _, t := range []float64{0, yMax / 2, yMax} {
			p.YTicks = append(p.YTicks, svgTick{Pos: y + panelH - t/yMax*panelH, Label: num0(t)})
		}
		color := ipColor(ipIndex[s.IP])
		for i := range s.Sends {
			t := w.From.Add(time.Duration(i) * time.Minute).Format("15:04")
			tip := fmt.Sprintf("%s %s: %d sends, %d deferred", t, s.IP, s.Sends[i], s.Deferred[i])
			x := plotLeft + float64(i)*bw
			if v := s.Sends[i]; v > 0 {
				h := float64(v) / yMax * panelH
				p.Bars = append(p.Bars, svgRect{X: x + bw*0.1, Y: y + panelH - h, W: math.Max(bw*0.8, 1), H: h, Fill: color, Tip: tip})
			}
			// Deferrals are drawn over the sends, narrower, so both show.
			if v := s.Deferred[i]; v > 0 {
				h := float64(v) / yMax * panelH
				p.Bars = append(p.Bars, svgRect{X: x + bw*0.3, Y: y + panelH - h, W: math.Max(bw*0.4, 1), H: h, Fill: colorDeferred, Tip: tip})
			}
		}
		c.Panels = append(c.Panels, p)
		y += panelH + panelGap
	}
	bottom := y - panelGap
	if len(c.Panels) == 0 {
		bottom = y + 18
	}
	xOf := func(t time.Time) float64 { return plotLeft + t.Sub(w.From).Minutes()*bw }
	step := 10
	switch {
	case n > 240:
		step = 30
	case n > 120:
		step = 15
	}
	for i := 0; i <= n; i++ {
		t := w.From.Add(time.Duration(i) * time.Minute)
		if t.Minute()%step == 0 {
			c.XTicks = append(c.XTicks, svgTick{Pos: xOf(t), Label: t.Format("15:04")})
		}
	}
	for _, m := range w.Markers {
		color := colorBurst
		if m.Kind == analyze.TimelineFirstDeferral {
			color = colorDeferred
		}
		c.Markers = append(c.Markers, marker(xOf(m.Time), markerSpace-4, bottom, m.Label, color))
	}
	staggerLabels(c.Markers)
	c.LegendY = bottom + axisSpace + 12
	c.Height = int(bottom + axisSpace + legendSpace)
	x := float64(plotLeft)
	for _, s := range w.Series {
		c.Legend = append(c.Legend, svgLegend{X: x, Color: ipColor(ipIndex[s.IP]), Label: "sends from " + s.IP})
		x += 200
	}
	c.Legend = append(c.Legend, svgLegend{X: x, Color: colorDeferred, Label: "deferrals (attempts deferred that minute)"})
	return c
}

// rateChart draws the hourly deferral rate per IP over the incident on a
// square-root scale, so the narrow healthy and watch bands stay visible
// under the pause band, with the bands behind.
func rateChart(id string, inv *analyze.Investigation, inc *analyze.Incident, ipIndex map[string]int) (svgChart, bool) {
	const panelH = 240.0
	if inv.Rates == nil || len(inv.Rates.Rows) == 0 {
		return svgChart{}, false
	}
	rows := inv.Rates.Rows
	from, to := rows[0].Start, rows[0].Start
	for _, r := range rows {
		if r.Start.Before(from) {
			from = r.Start
		}
		if r.Start.After(to) {
			to = r.Start
		}
	}
	to = to.Add(time.Hour)
	hours := to.Sub(from).Hours()
	c := svgChart{ID: id, Title: "Deferral rate by hour", Width: chartWidth}
	c.Caption = fmt.Sprintf("Deferral rate (deferred / attempts) per hour and sending IP to %s, %s to %s UTC, square-root scale; the bands behind: healthy, watch, throttle, pause.",
		analyze.ProviderName(inv.Provider), from.Format("2006-01-02 15:04"), to.Format("2006-01-02 15:04"))
	y := float64(markerSpace)
	p := svgPanel{Label: "all sending IPs", X: plotLeft, Y: y, W: plotWidth, H: panelH}
	yOf := func(rate float64) float64 { return y + panelH - math.Sqrt(math.Max(0, math.Min(rate, 1)))*panelH }
	xOf := func(t time.Time) float64 { return plotLeft + t.Sub(from).Hours()/hours*plotWidth }
	bands := []struct {
		lo, hi float64
		fill   string
		name   analyze.Band
	}{{0, 0.02, "#e6f4ea", analyze.BandHealthy}, {0.02, 0.05, "#fdf5d3", analyze.BandWatch}, {0.05, 0.15, "#fde6cc", analyze.BandThrottle}, {0.15, 1, "#fadede", analyze.BandPause}}
	for _, b := range bands {
		p.Bands = append(p.Bands, svgRect{X: plotLeft, Y: yOf(b.hi), W: plotWidth, H: yOf(b.lo) - yOf(b.hi), Fill: b.fill, Tip: string(b.name) + " band"})
	}
	for _, t := range []float64{0, 0.02, 0.05, 0.15, 0.5, 1} {
		p.YTicks = append(p.YTicks, svgTick{Pos: yOf(t), Label: strconv.FormatFloat(t*100, 'f', -1, 64) + "%"})
	}
	byIP := map[string][]analyze.RateRow{}
	var ips []string
	for _, r := range rows {
		if _, ok := byIP[r.IP]; !ok {
			ips = append(ips, r.IP)
		}
		byIP[r.IP] = append(byIP[r.IP], r)
	}
	sortIPs(ips)
	bw := plotWidth / hours
	for _, ip := range ips {
		color := ipColor(ipIndex[ip])
		var seg []string
		prev := time.Time{}
		flush := func() {
			if len(seg) > 1 {
				p.Lines = append(p.Lines, svgLine{Points: strings.Join(seg, " "), Stroke: color})
			}
			seg = nil
		}
		for _, r := range byIP[ip] {
			if !prev.IsZero() && r.Start.Sub(prev) > time.Hour {
				flush() // no attempts in between: no rate to draw
			}
			cx, cy := xOf(r.Start)+bw/2, yOf(r.DeferralRate)
			seg = append(seg, num(cx)+","+num(cy))
			p.Dots = append(p.Dots, svgDot{X: cx, Y: cy, Fill: color,
				Tip: fmt.Sprintf("%s %s: %s of %s attempts deferred (%s, %s)", r.Start.Format("2006-01-02 15:04"), ip, Int(r.Deferred), Int(r.Attempts), pct(r.DeferralRate), r.Band)})
			prev = r.Start
		}
		flush()
	}
	c.Panels = append(c.Panels, p)
	bottom := y + panelH
	for d := from.Truncate(24 * time.Hour); !d.After(to); d = d.Add(6 * time.Hour) {
		if d.Before(from) {
			continue
		}
		label := d.Format("15:04")
		if d.Hour() == 0 {
			label = d.Format("Jan 2")
		}
		c.XTicks = append(c.XTicks, svgTick{Pos: xOf(d), Label: label})
	}
	add := func(t *time.Time, label, color string) {
		if t == nil || t.Before(from) || t.After(to) {
			return
		}
		c.Markers = append(c.Markers, marker(xOf(*t), markerSpace-4, bottom, label, color))
	}
	add(inv.IncidentStart, "first deferral", colorDeferred)
	if inc != nil {
		if inc.PeakHour != nil {
			t := inc.PeakHour.Start.Add(30 * time.Minute)
			add(&t, "peak hour", colorBurst)
		}
		add(inc.RecoveredAt, "recovered", colorRecover)
		for _, e := range inc.Timeline {
			if e.Kind == analyze.TimelineRetryHorizon {
				t := e.Time
				add(&t, "retry horizon "+inc.RetryHorizon, colorHorizon)
			}
		}
	}
	staggerLabels(c.Markers)
	c.LegendY = bottom + axisSpace + 12
	c.Height = int(bottom + axisSpace + legendSpace)
	x := float64(plotLeft)
	for _, ip := range ips {
		c.Legend = append(c.Legend, svgLegend{X: x, Color: ipColor(ipIndex[ip]), Line: true, Label: ip})
		x += 160
	}
	return c, true
}

func marker(x, y1, y2 float64, label, color string) svgMarker {
	anchor := "start"
	lx := x + 4
	if x > chartWidth-220 {
		anchor, lx = "end", x-4
	}
	return svgMarker{X: x, Y1: y1, Y2: y2, LX: lx, LY: y1 - 4, Label: label, Stroke: color, Anchor: anchor}
}

// staggerLabels puts the label of a marker close to the one before on the
// next row up (three rows, then round again), so labels do not overprint.
func staggerLabels(ms []svgMarker) {
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].X < ms[j].X })
	row := 0
	for i := range ms {
		if i > 0 && math.Abs(ms[i].X-ms[i-1].X) < 170 {
			row = (row + 1) % 3
		} else {
			row = 0
		}
		ms[i].LY = ms[i].Y1 - 4 - float64(row)*13
	}
}

// niceCeil rounds a maximum up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func num0(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func sortIPs(ips []string) {
	for i := 1; i < len(ips); i++ {
		for j := i; j > 0 && analyze.IPLess(ips[j], ips[j-1]); j-- {
			ips[j], ips[j-1] = ips[j-1], ips[j]
		}
	}
}

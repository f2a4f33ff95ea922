package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/senderscope/senderscope/analyze"
	"github.com/senderscope/senderscope/report"
)

// reportData is the JSON report, read back to know what the HTML must show.
type reportData struct {
	Title         string                `json:"title"`
	Investigation analyze.Investigation `json:"investigation"`
	Incident      analyze.Incident      `json:"incident"`
}

// htmlReport renders the fixture as HTML and as JSON.
func htmlReport(t *testing.T) (string, reportData) {
	t.Helper()
	db, _ := reportDB(t)
	page, _ := runCmd(t, "--db", db, "report", "--offline", "--format", "html")
	js, _ := runCmd(t, "--db", db, "report", "--offline", "--format", "json")
	var data reportData
	if err := json.Unmarshal([]byte(js), &data); err != nil {
		t.Fatal(err)
	}
	return page, data
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, c string) bool {
	return slices.Contains(strings.Fields(attr(n, "class")), c)
}

// nodeText is the text under n, as a browser would show it.
func nodeText(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

// checkSafeDocument fails on anything that runs code or fetches: script,
// frames, objects, images, external links, event handler attributes, CSS
// that loads URLs.
func checkSafeDocument(t *testing.T, doc *html.Node) {
	t.Helper()
	allowed := map[string]bool{}
	for _, l := range report.DocLinks {
		allowed[l.URL] = true
	}
	for _, n := range findAll(doc, func(*html.Node) bool { return true }) {
		switch n.Data {
		case "script", "iframe", "frame", "object", "embed", "link", "img", "image", "base", "form", "foreignObject", "foreignobject", "use":
			t.Errorf("<%s> element in the report", n.Data)
		case "meta":
			if strings.EqualFold(attr(n, "http-equiv"), "refresh") {
				t.Error("meta refresh in the report")
			}
		case "style":
			if css := strings.ToLower(nodeText(n)); strings.Contains(css, "url(") || strings.Contains(css, "@import") {
				t.Error("the stylesheet loads something")
			}
		}
		for _, a := range n.Attr {
			k := strings.ToLower(a.Key)
			switch {
			case strings.HasPrefix(k, "on"):
				t.Errorf("<%s %s=%q>: an event handler", n.Data, a.Key, a.Val)
			case k == "style":
				t.Errorf("<%s style=%q>: inline style attributes are not expected", n.Data, a.Val)
			case k == "href" || k == "src" || k == "srcset" || k == "action" || k == "formaction" || k == "poster" || k == "data" || a.Namespace == "xlink":
				if !strings.HasPrefix(a.Val, "#") && !allowed[a.Val] {
					t.Errorf("<%s %s=%q>: a URL that is not a documentation link", n.Data, a.Key, a.Val)
				}
			}
		}
	}
}

func TestReportHTML(t *testing.T) {
	page, data := htmlReport(t)
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	checkSafeDocument(t, doc)
	if !strings.HasPrefix(page, "<!DOCTYPE html>") {
		t.Error("no doctype")
	}
	titles := findAll(doc, func(n *html.Node) bool { return n.Data == "title" && n.Namespace == "" })
	if len(titles) != 1 || nodeText(titles[0]) != data.Title {
		t.Errorf("title %q, want %q", nodeText(titles[0]), data.Title)
	}
	if len(findAll(doc, func(n *html.Node) bool { return n.Data == "style" })) != 1 {
		t.Error("want one inline stylesheet")
	}
	// One SVG per minute window and one for the hourly rates.
	svgs := findAll(doc, func(n *html.Node) bool { return n.Data == "svg" })
	if want := len(data.Incident.Windows) + 1; len(svgs) != want {
		t.Fatalf("%d svg elements, want %d", len(svgs), want)
	}
	wantFrames := 1
	for wi, w := range data.Incident.Windows {
		wantFrames += len(w.Series)
		fig := findAll(doc, func(n *html.Node) bool {
			return n.Data == "figure" && attr(n, "id") == fmt.Sprintf("chart-minutes-%d", wi+1)
		})
		if len(fig) != 1 {
			t.Fatalf("no figure for window %d", wi+1)
		}
		bars := findAll(fig[0], func(n *html.Node) bool { return n.Data == "rect" && hasClass(n, "bar") })
		tips := map[string]int{}
		var sendBars, deferBars int
		for _, b := range bars {
			if attr(b, "fill") == report.DeferredColor {
				deferBars++
			} else {
				sendBars++
			}
			tips[nodeText(b)]++
			if h, err := strconv.ParseFloat(attr(b, "height"), 64); err != nil || h <= 0 {
				t.Errorf("bar height %q", attr(b, "height"))
			}
		}
		var wantSends, wantDefer int
		for _, s := range w.Series {
			for i := range s.Sends {
				if s.Sends[i] > 0 {
					wantSends++
				}
				if s.Deferred[i] > 0 {
					wantDefer++
				}
				if s.Sends[i] > 0 || s.Deferred[i] > 0 {
					tip := fmt.Sprintf("%s %s: %d sends, %d deferred", w.From.Add(time.Duration(i)*time.Minute).Format("15:04"), s.IP, s.Sends[i], s.Deferred[i])
					if tips[tip] == 0 {
						t.Errorf("window %d: no bar for %q", wi+1, tip)
					}
				}
			}
		}
		if sendBars != wantSends || deferBars != wantDefer {
			t.Errorf("window %d: %d send bars and %d deferral bars, want %d and %d", wi+1, sendBars, deferBars, wantSends, wantDefer)
		}
		if markers := findAll(fig[0], func(n *html.Node) bool { return n.Data == "line" && hasClass(n, "marker") }); len(markers) != len(w.Markers) {
			t.Errorf("window %d: %d markers drawn, want %d", wi+1, len(markers), len(w.Markers))
		}
	}
	// The burst: 16 sends from each IP in its minute (15 of the burst, 1 steady).
	for _, ip := range []string{"203.0.113.7", "203.0.113.10"} {
		tip := fmt.Sprintf("19:40 %s: 16 sends, 0 deferred", ip)
		if !strings.Contains(page, tip) {
			t.Errorf("no bar %q", tip)
		}
	}
	rate := findAll(doc, func(n *html.Node) bool { return n.Data == "figure" && attr(n, "id") == "chart-rate-hourly" })
	if len(rate) != 1 {
		t.Fatal("no hourly rate chart")
	}
	if dots := findAll(rate[0], func(n *html.Node) bool { return n.Data == "circle" && hasClass(n, "dot") }); len(dots) != len(data.Investigation.Rates.Rows) {
		t.Errorf("%d points in the rate chart, want one per hour and IP: %d", len(dots), len(data.Investigation.Rates.Rows))
	}
	if bands := findAll(rate[0], func(n *html.Node) bool { return n.Data == "rect" && hasClass(n, "band") }); len(bands) != 4 {
		t.Errorf("%d bands, want healthy, watch, throttle, pause", len(bands))
	}
	if frames := findAll(doc, func(n *html.Node) bool { return n.Data == "rect" && hasClass(n, "frame") }); len(frames) != wantFrames {
		t.Errorf("%d plot frames, want %d", len(frames), wantFrames)
	}
	// The timeline table has a row per timeline entry.
	what := findAll(doc, func(n *html.Node) bool { return n.Data == "section" && attr(n, "id") == "section-1" })
	if len(what) != 1 || len(findAll(what[0], func(n *html.Node) bool { return n.Data == "tr" }))-1 != len(data.Incident.Timeline) {
		t.Errorf("the timeline table does not have %d rows", len(data.Incident.Timeline))
	}
}

// TestReportHTMLInjection: replies with markup, and a file name with
// markup, end up as text.
func TestReportHTMLInjection(t *testing.T) {
	page, _ := htmlReport(t)
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	checkSafeDocument(t, doc)
	if strings.Contains(strings.ToLower(page), "<script") || strings.Contains(page, "<img") || strings.Contains(page, "<b onmouseover") {
		t.Error("markup from the data reached the page unescaped")
	}
	text := nodeText(doc)
	for _, p := range []string{payloadScript, payloadImg, `<script>document.title='pwned'</script>`, `<b onmouseover="alert(1)">`} {
		if !strings.Contains(text, p) {
			t.Errorf("%q is not shown as text", p)
		}
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the script payload is not escaped as expected")
	}
}

func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// runChromium runs headless Chromium with no network and no profile.
func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	tmp := t.TempDir()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--user-data-dir=" + filepath.Join(tmp, "profile"), "--force-device-scale-factor=1", "--hide-scrollbars"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// TestReportHTMLInChromium opens the report in headless Chromium: the
// screenshot shows every plot with data in it, and the payloads in the
// replies did not run. CI installs chromium (.ci/run) and sets
// SENDERSCOPE_REQUIRE_CHROMIUM, so there it never skips.
func TestReportHTMLInChromium(t *testing.T) {
	bin := chromiumPath()
	if bin == "" {
		if os.Getenv("SENDERSCOPE_REQUIRE_CHROMIUM") != "" {
			t.Fatal("SENDERSCOPE_REQUIRE_CHROMIUM is set but no chromium is installed")
		}
		t.Skip("SKIPPED: chromium is not installed (apt-get install chromium); TestReportHTML still checks the HTML structure")
	}
	page, data := htmlReport(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, []byte(page), 0o600); err != nil {
		t.Fatal(err)
	}
	url := "file://" + path

	t.Run("screenshot", func(t *testing.T) {
		shot := filepath.Join(dir, "out.png")
		runChromium(t, bin, "--screenshot="+shot, "--window-size=1280,2400", url)
		f, err := os.Open(shot)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			t.Fatalf("not a PNG: %v", err)
		}
		if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 2400 {
			t.Fatalf("screenshot is %v", b)
		}
		plots := framedRegions(img, report.ChartFrameColor)
		want := 1
		for _, w := range data.Incident.Windows {
			want += len(w.Series)
		}
		if len(plots) != want {
			t.Fatalf("found %d plot frames in the screenshot, want %d: %v", len(plots), want, plots)
		}
		for _, r := range plots {
			inner := r.Inset(4)
			sd, colored := pixelStats(img, inner)
			t.Logf("plot %v: luminance stddev %.1f, %d coloured pixels", r, sd, colored)
			if sd < 5 || colored < inner.Dx()*inner.Dy()/400 {
				t.Errorf("plot %v looks blank: luminance stddev %.1f, %d coloured pixels of %d", r, sd, colored, inner.Dx()*inner.Dy())
			}
		}
		if os.Getenv("SENDERSCOPE_KEEP_SCREENSHOT") != "" {
			b, _ := os.ReadFile(shot)
			os.WriteFile(os.Getenv("SENDERSCOPE_KEEP_SCREENSHOT"), b, 0o644)
		}
	})

	t.Run("payloads inert", func(t *testing.T) {
		dom := runChromium(t, bin, "--dump-dom", url)
		doc, err := html.Parse(bytes.NewReader(dom))
		if err != nil {
			t.Fatal(err)
		}
		titles := findAll(doc, func(n *html.Node) bool { return n.Data == "title" && n.Namespace == "" })
		if len(titles) != 1 || nodeText(titles[0]) != data.Title {
			t.Errorf("document title after load is %q, want %q: a payload ran", nodeText(titles[0]), data.Title)
		}
		checkSafeDocument(t, doc)
		if text := nodeText(doc); !strings.Contains(text, payloadScript) || !strings.Contains(text, payloadImg) {
			t.Error("the payloads are not on the page as text")
		}
	})

	// The control: the same browser does run a payload that is not escaped,
	// so the test above would see one that ran.
	t.Run("control", func(t *testing.T) {
		ctl := filepath.Join(dir, "control.html")
		os.WriteFile(ctl, []byte("<!DOCTYPE html><title>safe</title><p>"+payloadTitle+"</p>"), 0o600)
		dom := runChromium(t, bin, "--dump-dom", "file://"+ctl)
		doc, err := html.Parse(bytes.NewReader(dom))
		if err != nil {
			t.Fatal(err)
		}
		titles := findAll(doc, func(n *html.Node) bool { return n.Data == "title" })
		if len(titles) != 1 || nodeText(titles[0]) != "pwned" {
			t.Errorf("control title %q: this browser does not show a payload that ran, so the check above proves nothing", nodeText(titles[0]))
		}
	})
}

// framedRegions finds the rectangles outlined in one exact colour: the
// bounding boxes of its connected pixels, wider than 300 and taller than 60.
func framedRegions(img image.Image, hex string) []image.Rectangle {
	want, _ := strconv.ParseUint(strings.TrimPrefix(hex, "#"), 16, 32)
	b := img.Bounds()
	is := func(x, y int) bool {
		r, g, bl, _ := img.At(x, y).RGBA()
		return uint64(r>>8)<<16|uint64(g>>8)<<8|uint64(bl>>8) == want
	}
	seen := make([]bool, b.Dx()*b.Dy())
	var out []image.Rectangle
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			i := (y-b.Min.Y)*b.Dx() + (x - b.Min.X)
			if seen[i] || !is(x, y) {
				continue
			}
			box := image.Rect(x, y, x+1, y+1)
			stack := []image.Point{{x, y}}
			seen[i] = true
			for len(stack) > 0 {
				p := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				box = box.Union(image.Rect(p.X, p.Y, p.X+1, p.Y+1))
				for _, d := range []image.Point{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
					q := p.Add(d)
					if !q.In(b) {
						continue
					}
					j := (q.Y-b.Min.Y)*b.Dx() + (q.X - b.Min.X)
					if !seen[j] && is(q.X, q.Y) {
						seen[j] = true
						stack = append(stack, q)
					}
				}
			}
			if box.Dx() > 300 && box.Dy() > 60 {
				out = append(out, box)
			}
		}
	}
	return out
}

// pixelStats gives the luminance standard deviation in r and how many
// pixels are strongly coloured (bars, lines), as opposed to the white
// background, grey grid lines and pale bands.
func pixelStats(img image.Image, r image.Rectangle) (float64, int) {
	var sum, sq float64
	var n, colored int
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			R, G, B := float64(cr>>8), float64(cg>>8), float64(cb>>8)
			l := 0.2126*R + 0.7152*G + 0.0722*B
			sum += l
			sq += l * l
			n++
			if math.Max(R, math.Max(G, B))-math.Min(R, math.Min(G, B)) > 80 {
				colored++
			}
		}
	}
	if n == 0 {
		return 0, 0
	}
	mean := sum / float64(n)
	return math.Sqrt(math.Max(0, sq/float64(n)-mean*mean)), colored
}

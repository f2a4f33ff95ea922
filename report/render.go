package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gocarina/gocsv"
	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"
)

// Format is an output format chosen with --output.
type Format string

const (
	FormatTable    Format = "table"
	FormatJSON     Format = "json"
	FormatCSV      Format = "csv"
	FormatMarkdown Format = "markdown"
	FormatText     Format = "text"
)

// ParseFormat validates --output against the formats a command offers.
func ParseFormat(s string, allowed ...Format) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	if f == "md" {
		f = FormatMarkdown
	}
	var names []string
	for _, a := range allowed {
		if a == f {
			return f, nil
		}
		names = append(names, string(a))
	}
	return "", fmt.Errorf("--output %q is not offered here (choose %s)", s, strings.Join(names, ", "))
}

// AnalysisFormats are what every analysis offers.
var AnalysisFormats = []Format{FormatTable, FormatJSON, FormatCSV, FormatMarkdown}

// Printer renders one command's result to one writer.
type Printer struct {
	W        io.Writer
	Format   Format
	Terminal bool // W is a terminal: box drawing allowed
}

// Section is one titled table of a human-readable result.
type Section struct {
	Title  string
	Intro  []string // lines printed before the table
	Header []string
	Rows   [][]string
	Notes  []string // lines printed under the table
	// Align right for these column indexes (numbers).
	Right []int
	// Lists: these columns hold "a; b; c" lists that the HTML report puts
	// one item a line (the text formats keep them on one line).
	Lists []int
}

// Doc is a result in every shape a command can print it: Value for JSON
// (its json tags are the stable field names), Records for CSV (a slice of
// structs with csv tags), Sections for tables and Markdown.
type Doc struct {
	Value    any
	Records  any
	Sections []Section
	Lead     []string // lines before the sections (human formats only)
}

// Print renders d in p's format.
func (p Printer) Print(d Doc) error {
	switch p.Format {
	case FormatJSON:
		enc := json.NewEncoder(p.W)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(d.Value)
	case FormatCSV:
		if d.Records == nil {
			return fmt.Errorf("this result has no CSV form; use --output json")
		}
		return writeCSV(p.W, d.Records)
	case FormatMarkdown:
		return p.markdown(d)
	default:
		return p.table(d)
	}
}

func writeCSV(w io.Writer, records any) error {
	cw := &formulaSafeWriter{gocsv.NewSafeCSVWriter(csv.NewWriter(w))}
	if err := gocsv.MarshalCSV(records, cw); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	cw.Flush()
	return cw.Error()
}

// formulaSafeWriter defuses spreadsheet formula injection: a reply text such
// as =HYPERLINK(...) must not become a live formula when the CSV is opened in
// a spreadsheet. Cells starting with = + - @ TAB or CR that are not plain
// numbers get a leading apostrophe (OWASP's recommendation).
type formulaSafeWriter struct{ *gocsv.SafeCSVWriter }

func (f *formulaSafeWriter) Write(row []string) error {
	for i, c := range row {
		row[i] = DefuseFormula(c)
	}
	return f.SafeCSVWriter.Write(row)
}

// DefuseFormula prefixes a cell that a spreadsheet would run as a formula.
func DefuseFormula(c string) string {
	if c == "" {
		return c
	}
	switch c[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if _, err := strconv.ParseFloat(c, 64); err == nil {
			return c // a signed number is data, not a formula
		}
		return "'" + c
	}
	return c
}

func (p Printer) table(d Doc) error {
	var b strings.Builder
	for _, l := range d.Lead {
		b.WriteString(Clean(l))
		b.WriteByte('\n')
	}
	for i, s := range d.Sections {
		if i > 0 || len(d.Lead) > 0 {
			b.WriteByte('\n')
		}
		if s.Title != "" {
			b.WriteString(Clean(s.Title))
			b.WriteByte('\n')
		}
		for _, l := range s.Intro {
			b.WriteString(Clean(l))
			b.WriteByte('\n')
		}
		if len(s.Header) > 0 {
			t := table.NewWriter()
			if p.Terminal {
				t.SetStyle(table.StyleLight)
			} else {
				t.SetStyle(plainStyle())
			}
			t.AppendHeader(rowOf(s.Header))
			for _, r := range s.Rows {
				t.AppendRow(rowOf(r))
			}
			var cfg []table.ColumnConfig
			for _, c := range s.Right {
				cfg = append(cfg, table.ColumnConfig{Number: c + 1, Align: text.AlignRight, AlignHeader: text.AlignRight})
			}
			t.SetColumnConfigs(cfg)
			b.WriteString(t.Render())
			b.WriteByte('\n')
		}
		for _, n := range s.Notes {
			b.WriteString(Clean(n))
			b.WriteByte('\n')
		}
	}
	_, err := io.WriteString(p.W, b.String())
	return err
}

// plainStyle is for pipes and files: no box drawing, no colour.
func plainStyle() table.Style {
	s := table.StyleDefault
	s.Box = table.StyleBoxDefault
	s.Box.MiddleHorizontal = "-"
	s.Box.MiddleSeparator = "+"
	s.Box.MiddleVertical = "|"
	s.Options.DrawBorder = false
	s.Options.SeparateColumns = true
	s.Options.SeparateHeader = true
	s.Options.SeparateRows = false
	s.Format.Header = text.FormatDefault
	return s
}

func rowOf(cells []string) table.Row {
	r := make(table.Row, len(cells))
	for i, c := range cells {
		r[i] = Clean(c)
	}
	return r
}

func (p Printer) markdown(d Doc) error {
	var b strings.Builder
	for _, l := range d.Lead {
		b.WriteString(MarkdownText(l))
		b.WriteString("\n\n")
	}
	for _, s := range d.Sections {
		if s.Title != "" {
			b.WriteString("### ")
			b.WriteString(MarkdownText(s.Title))
			b.WriteString("\n\n")
		}
		for _, l := range s.Intro {
			b.WriteString(MarkdownText(l))
			b.WriteString("\n\n")
		}
		if len(s.Header) > 0 {
			writeMDRow(&b, s.Header)
			b.WriteString("|")
			for i := range s.Header {
				if contains(s.Right, i) {
					b.WriteString("--:|")
				} else {
					b.WriteString("---|")
				}
			}
			b.WriteByte('\n')
			for _, r := range s.Rows {
				writeMDRow(&b, r)
			}
			b.WriteByte('\n')
		}
		for _, n := range s.Notes {
			b.WriteString(MarkdownText(n))
			b.WriteString("\n\n")
		}
	}
	_, err := io.WriteString(p.W, strings.TrimRight(b.String(), "\n")+"\n")
	return err
}

func writeMDRow(b *strings.Builder, cells []string) {
	b.WriteString("|")
	for _, c := range cells {
		b.WriteByte(' ')
		b.WriteString(MarkdownCell(c))
		b.WriteString(" |")
	}
	b.WriteByte('\n')
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Clean makes untrusted text safe to print on a terminal: control characters
// and escape sequences become visible \x.. escapes, so a reply text cannot
// move the cursor, recolour the screen or retitle the window.
func Clean(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !validAt(s, i):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, `\x%02x`, r)
		case r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func validAt(s string, i int) bool {
	r, size := utf8.DecodeRuneInString(s[i:])
	return !(r == utf8.RuneError && size <= 1)
}

var mdCellEscaper = strings.NewReplacer(`\`, `\\`, `|`, `\|`,
	"<", "&lt;", ">", "&gt;", "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`)

var lineBreaks = strings.NewReplacer("\r\n", "\n", "\r", "\n")

// MarkdownCell escapes text for one Markdown table cell: nothing in it can
// end the cell, start a new row, or become HTML or a link. Line breaks
// become <br>.
func MarkdownCell(s string) string {
	lines := strings.Split(lineBreaks.Replace(s), "\n")
	for i, l := range lines {
		lines[i] = mdCellEscaper.Replace(Clean(l))
	}
	return strings.Join(lines, "<br>")
}

var mdTextEscaper = strings.NewReplacer(`\`, `\\`, "<", "&lt;", ">", "&gt;", "`", "\\`", "[", `\[`, "]", `\]`, "*", `\*`, "_", `\_`)

// MarkdownText escapes a line of prose.
func MarkdownText(s string) string { return mdTextEscaper.Replace(Clean(s)) }

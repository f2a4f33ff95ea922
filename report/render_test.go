package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

func TestCleanNeutralizesTerminalControl(t *testing.T) {
	for in, want := range map[string]string{
		"plain reply":              "plain reply",
		"550 \x1b[31mred\x1b[0m":   `550 \x1b[31mred\x1b[0m`,
		"title \x1b]0;pwned\x07":   `title \x1b]0;pwned\x07`,
		"bell\x07 and back\bspace": `bell\x07 and back\x08space`,
		"c1 \u009b31m csi":         `c1 \x9b31m csi`,
		"rtl \u202eevil":           `rtl \u202eevil`,
		"tab\tkept as space":       "tab kept as space",
		"line\nbreak":              `line\x0abreak`,
		"bad utf8 \xff\xfe":        `bad utf8 \xff\xfe`,
		"ünïcödé stays":            "ünïcödé stays",
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMarkdownCellCannotBreakTheTable(t *testing.T) {
	got := MarkdownCell("a | b\nnew row | <script>x</script> [link](javascript:x) `code` *em*")
	for _, bad := range []string{"\n", "<script>", " | b"} {
		if strings.Contains(got, bad) {
			t.Errorf("MarkdownCell left %q in %q", bad, got)
		}
	}
	if regexp.MustCompile(`[^\\]\]\(`).MatchString(got) {
		t.Errorf("MarkdownCell left a link in %q", got)
	}
	if !strings.Contains(got, `a \| b<br>new row`) {
		t.Errorf("MarkdownCell(...) = %q", got)
	}
}

func TestCSVDefusesFormulas(t *testing.T) {
	type rec struct {
		Reply string `csv:"reply"`
		N     string `csv:"n"`
	}
	var b bytes.Buffer
	err := writeCSV(&b, []rec{
		{`=HYPERLINK("http://evil","x")`, "-5"},
		{"+1+cmd|' /C calc'!A0", "+3.5"},
		{"@SUM(A1)", "-"},
		{"\t=1", "1e3"},
		{"550 5.7.1 fine", "12"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "reply,n\n" +
		`"'=HYPERLINK(""http://evil"",""x"")",-5` + "\n" +
		`'+1+cmd|' /C calc'!A0,+3.5` + "\n" +
		`'@SUM(A1),'-` + "\n" +
		"'\t=1,1e3\n" +
		"550 5.7.1 fine,12\n"
	if b.String() != want {
		t.Errorf("csv:\n%s\nwant:\n%s", b.String(), want)
	}
}

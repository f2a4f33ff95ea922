package analyze

import (
	"bufio"
	"os"
	"sort"
	"strings"
	"testing"
)

// tableRow is one row of testdata/classify/*.tsv.
type tableRow struct {
	line      int
	provider  string
	reply     string
	reason    Reason
	temporary bool
	source    string
}

func loadTable(t *testing.T, path string) []tableRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open table: %v", err)
	}
	defer f.Close()
	var rows []tableRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		if line == 1 || strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 5 {
			t.Fatalf("%s:%d: want 5 columns, got %d", path, line, len(f))
		}
		reason := Reason(f[2])
		if !reason.Valid() {
			t.Fatalf("%s:%d: unknown reason %q", path, line, f[2])
		}
		if f[3] != "yes" && f[3] != "no" {
			t.Fatalf("%s:%d: temporary must be yes or no, got %q", path, line, f[3])
		}
		rows = append(rows, tableRow{line: line, provider: f[0], reply: f[1], reason: reason, temporary: f[3] == "yes", source: f[4]})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read table: %v", err)
	}
	return rows
}

func newTestClassifier(t testing.TB) *Classifier {
	t.Helper()
	c, err := NewClassifier()
	if err != nil {
		t.Fatalf("NewClassifier: %v", err)
	}
	return c
}

// accuracy tallies reason hits per group of rows.
type accuracy struct{ hit, total int }

func (a accuracy) rate() float64 {
	if a.total == 0 {
		return 0
	}
	return float64(a.hit) / float64(a.total)
}

// TestClassifyTable runs the table of real replies from providers' published
// pages and the shared bounce corpus. The temporary flag must be right for
// every row (each carries a 2xx/4xx/5xx code); the reason must be right for
// at least 95% of rows. Misses are logged so they can be reviewed.
func TestClassifyTable(t *testing.T) {
	c := newTestClassifier(t)
	rows := loadTable(t, "../testdata/classify/replies.tsv")
	if len(rows) < 150 {
		t.Fatalf("table has %d rows, want at least 150", len(rows))
	}
	groups := map[string]*accuracy{}
	all := &accuracy{}
	for _, row := range rows {
		got := c.Classify(row.reply)
		if got.Temporary != row.temporary {
			t.Errorf("line %d: temporary = %v, want %v: %s", row.line, got.Temporary, row.temporary, row.reply)
		}
		group := "provider docs and logs"
		if strings.HasPrefix(row.source, "corpus:") {
			group = "shared corpus"
		}
		if groups[group] == nil {
			groups[group] = &accuracy{}
		}
		groups[group].total++
		all.total++
		if got.Reason == row.reason {
			groups[group].hit++
			all.hit++
			continue
		}
		t.Logf("miss line %d (%s): got %s (%s), want %s: %.160s", row.line, row.provider, got.Reason, got.RuleID, row.reason, row.reply)
	}
	names := make([]string, 0, len(groups))
	for name := range groups {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		g := groups[name]
		t.Logf("reason accuracy, %s: %d/%d = %.1f%%", name, g.hit, g.total, 100*g.rate())
	}
	t.Logf("reason accuracy, all: %d/%d = %.1f%%", all.hit, all.total, 100*all.rate())
	if all.rate() < 0.95 {
		t.Errorf("reason accuracy %.1f%% is under 95%%", 100*all.rate())
	}
}

// TestClassifyNoSMTPReply runs the corpus texts that carry no SMTP reply at
// all (an MTA's own words such as "retry timeout exceeded"). Their temporary
// flag came from the DSN, not the text, so it can only be guessed; both
// rates are reported and held above floors that catch regressions.
func TestClassifyNoSMTPReply(t *testing.T) {
	c := newTestClassifier(t)
	rows := loadTable(t, "../testdata/classify/no-smtp-reply.tsv")
	var reason, temp accuracy
	for _, row := range rows {
		got := c.Classify(row.reply)
		reason.total++
		temp.total++
		if got.Reason == row.reason {
			reason.hit++
		} else {
			t.Logf("miss line %d (%s): got %s (%s), want %s: %.120s", row.line, row.provider, got.Reason, got.RuleID, row.reason, row.reply)
		}
		if got.Temporary == row.temporary {
			temp.hit++
		} else {
			t.Logf("temporary miss line %d: got %v: %.120s", row.line, got.Temporary, row.reply)
		}
	}
	t.Logf("no-SMTP-reply texts: reason %d/%d = %.1f%%, temporary %d/%d = %.1f%%",
		reason.hit, reason.total, 100*reason.rate(), temp.hit, temp.total, 100*temp.rate())
	if reason.rate() < 0.80 {
		t.Errorf("reason accuracy %.1f%% is under 80%%", 100*reason.rate())
	}
	if temp.rate() < 0.75 {
		t.Errorf("temporary accuracy %.1f%% is under 75%%", 100*temp.rate())
	}
}

// TestRuleExamples classifies every rule's example reply and expects that
// rule to be the one that matches. Provider rules are tried with their
// provider given (as when the MX host names it), generic rules with the
// provider unknown, so a more specific provider rule does not shadow them.
func TestRuleExamples(t *testing.T) {
	c := newTestClassifier(t)
	for _, r := range c.Rules() {
		if r.Example == "" {
			t.Errorf("rule %s has no example", r.ID)
			continue
		}
		if r.Source == "" {
			t.Errorf("rule %s has no source", r.ID)
		}
		provider := r.Provider
		if r.anyProvider {
			provider = ProviderUnknown
		}
		got := c.ClassifyFor(r.Example, provider)
		if got.RuleID != r.ID {
			t.Errorf("rule %s: example classified by %q (%s): %s", r.ID, got.RuleID, got.Reason, r.Example)
		}
	}
}

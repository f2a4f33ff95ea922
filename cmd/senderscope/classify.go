package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/senderscope/senderscope/analyze"
	"github.com/senderscope/senderscope/ingest"
	"github.com/senderscope/senderscope/report"
)

type classifyOpts struct {
	input    string // FILE or -; "" means the database
	rules    string
	rng      rangeFlags
	refresh  bool
	noRedact bool
}

// replyHooks makes ingest group replies by their normalized text and
// classify each group once as it is stored, so grouping deferrals is a
// query; "classify --refresh" redoes the classification when rules change.
func replyHooks(opts *ingest.Options) error {
	classifier, err := analyze.NewClassifier()
	if err != nil {
		return err
	}
	opts.Normalize = analyze.NormalizeReply
	opts.Classify = func(text string, code int, enhanced string) ingest.ReplyClass {
		c := classifier.ClassifyParts(text, code, enhanced)
		return ingest.ReplyClass{Reason: string(c.Reason), Temporary: c.Temporary, RuleID: c.RuleID}
	}
	opts.ClassifyVersion = classifier.Version()
	return nil
}

func newClassifyCmd(app *App, g *globals) *cobra.Command {
	o := &classifyOpts{}
	cmd := &cobra.Command{
		Use:   "classify [FILE|-]",
		Short: "Say what SMTP replies mean and what to do: one reply per line, or the stored deferrals",
		Long: `Classify SMTP replies: the reason (ratelimited, blocked, userunknown ...), whether the
failure is temporary, how wide it is (ip, domain, recipient, message, tenant,
infrastructure), which provider wrote it, the rule that matched, a one-line
meaning, an action and where to escalate.

With FILE (or - for standard input), each non-empty line is one reply, as logs,
DSNs or webhooks carry it ("smtp;550 5.1.1 ...", "host mx[ip] said: 451 ...").

Without FILE, the deferrals and bounces stored in the database are grouped by
reason, recipient provider, sending IP and normalized reply, most events first,
with distinct recipients, first and last time and one verbatim sample each.
--refresh stores the verdicts of the current rules (and --rules) in the database.

--rules FILE adds rules: a tab-separated file with a header line naming the
columns rule_id, provider, code, enhanced, pattern, reason, scope, meaning,
action, links, source, example (rule_id and reason required). They are tried
before the built-in rules; one with a built-in's rule_id replaces it.`,
		Example: `  senderscope classify replies.txt
  grep -h 'status=deferred' /var/log/mail.log | sed 's/.*said: //' | senderscope classify -
  senderscope classify -o json - <<< '451 4.7.650 The mail server [203.0.113.7] has been temporarily rate limited due to IP reputation. (S775)'
  senderscope classify --since "2024-03-05 14:00" --provider microsoft
  senderscope classify --rules ours.tsv --refresh`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.input = args[0]
			}
			return runClassify(cmd.Context(), app, g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.rules, "rules", "", "extra rules file (TSV, same columns as the built-in rules)")
	// Database mode only: FILE replies carry no time or recipient.
	o.rng.add(f, "all")
	f.BoolVar(&o.noRedact, "no-redact", false, "database mode: show recipient addresses in the sample replies (redacted by default)")
	f.BoolVar(&o.refresh, "refresh", false, "database mode: store the current rules' verdicts for every reply classified with other rules")
	return cmd
}

func runClassify(ctx context.Context, app *App, g *globals, o *classifyOpts) error {
	p, err := app.printer(g)
	if err != nil {
		return err
	}
	if o.input != "" && (o.rng.since != "" || o.rng.until != "" || o.rng.provider != "all" || o.refresh) {
		return usagef("--since, --until, --provider and --refresh read the database; they do not apply to FILE")
	}
	c, err := newClassifier(o.rules)
	if err != nil {
		return err
	}
	if o.input != "" {
		replies, err := readReplies(app, o.input)
		if err != nil {
			return err
		}
		return p.Print(report.ClassifyDoc(c.ClassifyAll(replies)))
	}
	q := analyze.DeferralQuery{Refresh: o.refresh}
	if q.Provider, q.Since, q.Until, err = o.rng.parse(); err != nil {
		return err
	}
	store, err := app.openExisting(ctx, g)
	if err != nil {
		return err
	}
	defer store.Close()
	rep, err := analyze.Deferrals(ctx, store, c, q)
	if err != nil {
		return &dbError{err}
	}
	if !o.noRedact {
		analyze.RedactStrings(rep)
	}
	return p.Print(report.DeferralsDoc(rep))
}

// newClassifier builds the classifier with the rules of --rules, if any.
func newClassifier(rulesPath string) (*analyze.Classifier, error) {
	if rulesPath == "" {
		return analyze.NewClassifier()
	}
	f, err := os.Open(rulesPath)
	if err != nil {
		return nil, &inputError{fmt.Errorf("--rules: %w", err)}
	}
	defer f.Close()
	rules, err := analyze.LoadRules(f)
	if err != nil {
		return nil, &inputError{fmt.Errorf("--rules %s: %w", rulesPath, err)}
	}
	c, err := analyze.NewClassifier(rules...)
	if err != nil {
		return nil, &inputError{fmt.Errorf("--rules %s: %w", rulesPath, err)}
	}
	return c, nil
}

// readReplies reads one reply per non-empty line of FILE or standard input.
func readReplies(app *App, name string) ([]string, error) {
	var r io.Reader = app.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, &inputError{fmt.Errorf("classify: %w", err)}
		}
		defer f.Close()
		r = f
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	var out []string
	line := 0
	for sc.Scan() {
		line++
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &inputError{fmt.Errorf("classify: %s: after line %d: %w (a reply longer than 1 MiB?)", name, line, err)}
	}
	return out, nil
}

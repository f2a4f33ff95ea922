package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/senderscope/senderscope/analyze"
	"github.com/senderscope/senderscope/ingest"
	"github.com/senderscope/senderscope/report"
)

type reportOpts struct {
	evidenceOpts
	format    string
	formatSet bool
	out       string
	noRedact  bool
}

func newReportCmd(app *App, g *globals) *cobra.Command {
	o := &reportOpts{}
	cmd := &cobra.Command{
		Use:   "report",
		Short: "The incident report of what the database holds: Markdown, JSON or one self-contained HTML file",
		Long: `Write the incident report of the events in the database: what happened (a timeline of
the burst, the first deferral per IP, the peak deferral hour, the recovery or the
last deferral, the retry horizon), which providers and IPs, the spikes with "highest
since", deferral rates with their bands, the deferrals and bounces classified (as
classify does, without storing the verdicts) and grouped by normalized reply with
what to do about each, the DNS findings for --domain (skipped with --offline), the
recommended per-IP limit and the next steps.

--format html writes one file that opens in any browser with no network: inline CSS,
charts as inline SVG (sends per minute per IP around the burst and the first
deferrals with the deferrals overlaid; deferral rate by hour per IP), no script.

Recipient addresses are redacted everywhere, inside reply texts too
("<jane@outlook.com>" becomes "<[redacted]@outlook.com>"); --no-redact keeps them.`,
		Example: `  senderscope report > incident.md
  senderscope report --format html --out incident.html --domain example.com --ip 203.0.113.7
  senderscope report --db senderscope-example.db --format json --offline`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.formatSet = cmd.Flags().Changed("format")
			return runReport(cmd.Context(), app, g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "markdown", "markdown, json or html")
	f.StringVar(&o.out, "out", "", "write the report to this file instead of stdout")
	f.BoolVar(&o.noRedact, "no-redact", false, "keep recipient addresses (they are redacted by default)")
	o.addFlags(f)
	return cmd
}

// topReplyGroups is how many groups of deferrals and bounces the report lists.
const topReplyGroups = 12

// reportFormats are what --format takes; -o markdown or -o json work too.
var reportFormats = []string{"markdown", "json", "html"}

func (o *reportOpts) outputFormat(g *globals) (string, error) {
	f := o.format
	if !o.formatSet && g.output != "" && g.output != "table" {
		f = g.output
	}
	f = strings.ToLower(strings.TrimSpace(f))
	if f == "md" {
		f = "markdown"
	}
	if !slices.Contains(reportFormats, f) {
		return "", usagef("--format %q: choose %s", f, strings.Join(reportFormats, ", "))
	}
	return f, nil
}

func runReport(ctx context.Context, app *App, g *globals, o *reportOpts) error {
	format, err := o.outputFormat(g)
	if err != nil {
		return err
	}
	aopts, err := o.investigateOptions()
	if err != nil {
		return err
	}
	store, err := app.openExisting(ctx, g)
	if err != nil {
		return err
	}
	defer store.Close()
	bundled, err := store.HasSource(ctx, bundledSource)
	if err != nil {
		return &dbError{err}
	}
	view := &report.IncidentView{Database: filepath.Base(store.Path()), GeneratedAt: app.Now().UTC(), Redacted: !o.noRedact}
	_, err = gatherEvidence(ctx, app, store, &o.evidenceOpts, aopts, bundled, strconv.Itoa(report.LimitSection), &view.InvestigationView)
	if errors.Is(err, errNoEvents) {
		return &inputError{fmt.Errorf("report: the database %s holds no events: ingest logs first (senderscope ingest FILE), or report on the bundled example with 'senderscope investigate' and then 'senderscope report --db senderscope-example.db'", store.Path())}
	}
	if err != nil {
		return err
	}
	inv := view.Investigation
	if view.Incident, err = analyze.BuildIncident(ctx, store, inv, analyze.IncidentOptions{}); err != nil {
		return &dbError{err}
	}
	// The replies are classified with the current rules as classify does,
	// without writing the verdicts back: a report only reads.
	classifier, err := analyze.NewClassifier()
	if err != nil {
		return err
	}
	deferrals, err := analyze.Deferrals(ctx, store, classifier, analyze.DeferralQuery{Since: analyze.RepliesSince(inv)})
	if err != nil {
		return &dbError{err}
	}
	view.Incident.AddReplies(deferrals, topReplyGroups)
	view.Title = report.IncidentTitle(inv)
	runs, err := store.Runs(ctx)
	if err != nil {
		return &dbError{err}
	}
	view.Source = sourceNames(runs, bundled)
	if !o.noRedact {
		analyze.RedactStrings(view)
	}
	var buf bytes.Buffer
	if format == "html" {
		err = report.WriteIncidentHTML(&buf, view)
	} else {
		err = report.Printer{W: &buf, Format: report.Format(format)}.Print(report.IncidentDoc(view))
	}
	if err != nil {
		return err
	}
	if o.out == "" || o.out == "-" {
		_, err := app.Stdout.Write(buf.Bytes())
		return err
	}
	// A report that keeps addresses is as private as the database.
	mode := os.FileMode(0o644)
	if o.noRedact {
		mode = 0o600
	}
	if err := writeFileAtomic(o.out, buf.Bytes(), mode); err != nil {
		return err
	}
	fmt.Fprintf(app.Stderr, "senderscope: wrote %s (%s, %s bytes)\n", o.out, format, report.Int(int64(buf.Len())))
	return nil
}

// sourceNames lists the inputs the database was filled from, by file name.
func sourceNames(runs []ingest.RunInfo, bundled bool) string {
	var names []string
	seen := map[string]bool{}
	for _, r := range runs {
		if r.Status != "finished" && r.Status != "interrupted" {
			continue
		}
		for _, n := range strings.Split(r.Sources, ", ") {
			if n == "" {
				continue
			}
			if n == bundledSource && bundled {
				n += " (example.com)"
			} else if n != "-" {
				n = filepath.Base(n)
			}
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return "unknown"
	}
	const most = 8
	if len(names) > most {
		return strings.Join(names[:most], ", ") + fmt.Sprintf(" and %d more", len(names)-most)
	}
	return strings.Join(names, ", ")
}

// writeFileAtomic writes through a temporary file in the same directory, so
// an interrupted run never leaves half a report under the final name.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return &inputError{fmt.Errorf("write report: %w", err)}
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return &inputError{fmt.Errorf("write report: %w", err)}
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return &inputError{fmt.Errorf("write report: %w", err)}
	}
	if err := f.Close(); err != nil {
		return &inputError{fmt.Errorf("write report: %w", err)}
	}
	if err := os.Rename(tmp, path); err != nil {
		return &inputError{fmt.Errorf("write report: %w", err)}
	}
	return nil
}

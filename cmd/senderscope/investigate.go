package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/senderscope/senderscope/analyze"
	"github.com/senderscope/senderscope/ingest"
	"github.com/senderscope/senderscope/ingest/example"
	"github.com/senderscope/senderscope/report"
)

// bundledSource names the bundled example in the sources table.
const bundledSource = "bundled example incident"

type investigateOpts struct {
	ingest ingestOpts
	evidenceOpts
	noRedact bool
}

func newInvestigateCmd(app *App, g *globals) *cobra.Command {
	o := &investigateOpts{}
	cmd := &cobra.Command{
		Use:   "investigate [FILE|-]...",
		Short: "The whole investigation in one command: ingest, impact, onset, spikes, auth, limit",
		Long: `Ingest the given inputs (as ingest does), then tell the incident's story: which providers
defer and how much, when it started on each IP and which burst came before, the
busiest minutes, the sender's authentication and identity (DNS checks for --domain
and --ip, skipped with --offline), and what a per-IP limit would cost in delay.

With no input it investigates the bundled example incident (example.com, whose DNS
answers come from its bundled zone, offline), in senderscope-example.db unless --db
or $SENDERSCOPE_DB says otherwise.`,
		Example: `  senderscope investigate
  psql -c "COPY (...) TO STDOUT CSV HEADER" | senderscope investigate - --domain example.com --ip 203.0.113.7 --ip 203.0.113.10
  senderscope investigate --offline exports/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.ingest.inputs = args
			return runInvestigate(cmd.Context(), app, g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.ingest.format, "format", "auto", "input format (see ingest --help)")
	f.StringSliceVar(&o.ingest.maps, "map", nil, "map fields to CSV columns: field=column,...")
	f.StringSliceVar(&o.ingest.statuses, "status", nil, "map status words to event types: word=type,...")
	f.StringVar(&o.ingest.tz, "tz", "UTC", "time zone of timestamps that carry none")
	o.addFlags(f)
	f.BoolVar(&o.noRedact, "no-redact", false, "show recipient addresses in quoted replies (redacted by default)")
	return cmd
}

func runInvestigate(ctx context.Context, app *App, g *globals, o *investigateOpts) error {
	p, err := app.printer(g, report.FormatTable, report.FormatJSON, report.FormatMarkdown)
	if err != nil {
		return err
	}
	iopts, err := parseIngestOpts(&o.ingest)
	if err != nil {
		return err
	}
	aopts, err := o.investigateOptions()
	if err != nil {
		return err
	}
	bundled := len(o.ingest.inputs) == 0
	dbPath := app.dbPath(g)
	if bundled && g.db == "" && app.Getenv("SENDERSCOPE_DB") == "" {
		dbPath = "senderscope-example.db"
	}
	store, err := app.OpenStore(ctx, dbPath)
	if err != nil {
		return &dbError{err}
	}
	defer store.Close()
	view := &report.InvestigationView{Source: strings.Join(o.ingest.inputs, ", ")}
	if bundled {
		view.Source = bundledSource + " (example.com)"
		if err := ingestBundled(ctx, app, store, iopts); err != nil {
			return err
		}
	} else if err := ingestInputs(ctx, app, store, &o.ingest, iopts); err != nil {
		return err
	}
	if _, err := gatherEvidence(ctx, app, store, &o.evidenceOpts, aopts, bundled, "6", view); err != nil {
		if errors.Is(err, errNoEvents) {
			return &inputError{fmt.Errorf("investigate: %w", err)}
		}
		return err
	}
	classifier, err := analyze.NewClassifier()
	if err != nil {
		return err
	}
	var since time.Time
	if inv := view.Investigation; inv.IncidentStart != nil {
		since = *inv.IncidentStart
	}
	if view.Deferrals, err = analyze.Deferrals(ctx, store, classifier, analyze.DeferralQuery{Provider: analyze.ProviderMicrosoft, Since: since}); err != nil {
		return &dbError{err}
	}
	if view.Ticket, err = draftForStory(ctx, store, view, o.domain, bundled, !o.noRedact); err != nil {
		return &dbError{err}
	}
	if !o.noRedact {
		// The story is pasted into chats and tickets: replies quote recipients.
		analyze.RedactStrings(view)
	}
	return p.Print(report.InvestigationDoc(view, app.StdoutTTY))
}

// ingestBundled loads the bundled example unless this database has it already.
func ingestBundled(ctx context.Context, app *App, store *ingest.Store, opts ingest.Options) error {
	has, err := store.HasSource(ctx, bundledSource)
	if err != nil {
		return &dbError{err}
	}
	if has {
		return nil
	}
	fmt.Fprintf(app.Stderr, "senderscope: loading the bundled example incident into %s (about 1.4M events, once)...\n", store.Path())
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(example.Write(pw, example.Options{})) }()
	defer pr.Close()
	opts.Args = `{"inputs":["bundled example incident"]}`
	opts.Now = app.Now
	opts.Enrich = enricher()
	if err := replyHooks(&opts); err != nil {
		return err
	}
	_, err = ingest.Ingest(ctx, store, []ingest.Input{{Name: bundledSource, Reader: pr}}, opts)
	if err != nil {
		return &dbError{err}
	}
	return nil
}

// ingestInputs ingests the user's inputs and prints the run summary to stderr,
// keeping stdout for the investigation.
func ingestInputs(ctx context.Context, app *App, store *ingest.Store, o *ingestOpts, opts ingest.Options) error {
	var inputs []ingest.Input
	for _, name := range o.inputs {
		if name == "-" {
			inputs = append(inputs, ingest.Input{Name: "-", Reader: app.Stdin})
		} else {
			inputs = append(inputs, ingest.Input{Name: name})
		}
	}
	opts.Args = fmt.Sprintf("%q", o.inputs)
	opts.Now = app.Now
	opts.Enrich = enricher()
	if err := replyHooks(&opts); err != nil {
		return err
	}
	sum, err := ingest.Ingest(ctx, store, inputs, opts)
	if sum != nil {
		fmt.Fprintf(app.Stderr, "senderscope: run %d %s: read %s = stored %s + duplicates %s + rejected %s\n", sum.RunID, sum.Status,
			report.Int(sum.Read), report.Int(sum.Stored), report.Int(sum.Duplicates), report.Int(sum.Rejected))
	}
	if err != nil {
		var ie *ingest.InputError
		if errors.As(err, &ie) {
			return &inputError{err}
		}
		return &dbError{err}
	}
	return nil
}

// draftForStory drafts the request to Microsoft from what investigate found;
// the person's contact details stay missing (ticket takes them).
func draftForStory(ctx context.Context, store *ingest.Store, view *report.InvestigationView, domain string, bundled, redact bool) (*analyze.Ticket, error) {
	if view.Investigation.IncidentStart == nil {
		return nil, nil
	}
	opts := analyze.TicketOptions{Redact: redact, Contact: analyze.Contact{SendingDomain: domain}, AuthSkipped: view.ChecksSkipped}
	if bundled {
		opts.Contact.SendingDomain, opts.Contact.ServerType = example.Facts.SendingDomain, "Dedicated"
	}
	if view.Checks != nil {
		for _, f := range view.Checks.Findings {
			opts.Auth = append(opts.Auth, analyze.AuthFinding{ID: f.ID, Severity: string(f.Severity), Subject: f.Subject, Message: f.Message})
		}
	}
	return analyze.DraftTicket(ctx, store, opts)
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/senderscope/senderscope/analyze"
	"github.com/senderscope/senderscope/checks"
	"github.com/senderscope/senderscope/ingest"
	"github.com/senderscope/senderscope/ingest/example"
	"github.com/senderscope/senderscope/report"
)

// bundledSource names the bundled example in the sources table.
const bundledSource = "bundled example incident"

type investigateOpts struct {
	ingest    ingestOpts
	domain    string
	ips       []string
	selectors []string
	offline   bool
	resolver  string
	timeout   time.Duration
	limit     string
	maxDelay  string
	lookback  string
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
	f.StringVar(&o.domain, "domain", "", "the sending domain to check (From, DKIM d=, MAIL FROM)")
	f.StringSliceVar(&o.ips, "ip", nil, "a sending IP to check (repeatable; default: the IPs in the data)")
	f.StringSliceVar(&o.selectors, "selector", nil, "DKIM selector to look up (repeatable)")
	f.BoolVar(&o.offline, "offline", false, "skip the DNS checks")
	f.StringVar(&o.resolver, "resolver", "", "DNS server HOST:PORT (default: /etc/resolv.conf)")
	f.DurationVar(&o.timeout, "timeout", 10*time.Second, "deadline for all DNS checks")
	f.StringVar(&o.limit, "limit", "10/1m", "the per-IP limit whose cost to show")
	f.StringVar(&o.maxDelay, "max-delay", "5m", "delay budget for the recommended limit (p95)")
	f.StringVar(&o.lookback, "lookback", "24h", "how far before the first deferral to look for bursts")
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
	lim, err := analyze.ParseLimit(o.limit)
	if err != nil {
		return usageErr(err)
	}
	maxDelay, err := parseDuration("--max-delay", o.maxDelay)
	if err != nil {
		return err
	}
	lookback, err := parseDuration("--lookback", o.lookback)
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
	ov, err := store.Overview(ctx)
	if err != nil {
		return &dbError{err}
	}
	view.Events, view.First, view.Last = ov.Events, ov.First, ov.Last
	if ov.Events == 0 {
		return &inputError{errors.New("investigate: the database holds no events to investigate")}
	}
	inv, err := analyze.Investigate(ctx, store, analyze.InvestigateOptions{Provider: analyze.ProviderMicrosoft, Lookback: lookback, Limit: lim, MaxDelay: maxDelay})
	if err != nil {
		return &dbError{err}
	}
	view.Investigation = inv
	domain, ips := o.domain, o.ips
	if bundled && domain == "" {
		domain, ips = example.Facts.SendingDomain, example.Facts.IPs
	}
	if len(ips) == 0 {
		for _, ip := range ov.IPs {
			ips = append(ips, ip.IP)
		}
	}
	switch {
	case o.offline:
		view.ChecksSkipped = "DNS checks skipped (--offline)."
	case domain == "":
		view.ChecksSkipped = "DNS checks skipped: give --domain (and --ip) to check SPF, DKIM, DMARC, reverse DNS and block lists."
	default:
		copts := checks.Options{Domain: domain, Selectors: o.selectors, Recipients: []string{"hotmail.com"}, Timeout: o.timeout}
		for _, s := range ips {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return usagef("--ip %q: not an IP address", s)
			}
			copts.IPs = append(copts.IPs, a)
		}
		if bundled && o.resolver == "" {
			zr, err := checks.NewZoneResolver(example.Zone)
			if err != nil {
				return fmt.Errorf("bundled zone: %w", err)
			}
			copts.Resolver = zr
		} else {
			r, err := app.NewResolver(o.resolver, queryTimeout(o.timeout))
			if err != nil {
				return usageErr(err)
			}
			copts.Resolver = r
		}
		rep := checks.Run(ctx, copts)
		view.Checks = &rep
	}
	view.Next = nextSteps(inv, domain)
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

func nextSteps(inv *analyze.Investigation, domain string) []string {
	var out []string
	if inv.IncidentStart != nil {
		out = append(out, "Cap sends to Microsoft per IP (see 5) and keep retrying; do not raise volume until deferrals stop.")
		d := domain
		if d == "" {
			d = "YOUR-DOMAIN"
		}
		out = append(out, fmt.Sprintf("Draft the request to Microsoft's sender support: senderscope ticket --domain %s --remediation \"capped Microsoft at N/min per IP\"", d))
	}
	out = append(out, "Look closer: senderscope spikes, senderscope onset, senderscope rates --provider microsoft, senderscope simulate --max-delay 5m")
	return out
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/senderscope/senderscope/analyze"
	"github.com/senderscope/senderscope/ingest"
	"github.com/senderscope/senderscope/report"
)

type ingestOpts struct {
	inputs       []string
	format       string
	maps         []string
	statuses     []string
	tz           string
	provider     string
	noProgress   bool
	year         int
	sendingIP    string
	maxExpansion int64
}

func newIngestCmd(app *App, g *globals) *cobra.Command {
	o := &ingestOpts{}
	reg := ingest.NewRegistry()
	cmd := &cobra.Command{
		Use:   "ingest [FILE|-]...",
		Short: "Read send logs, ESP events or SQL exports into the database",
		Long: `Read event logs into the database. Each input is a file, or - for standard input;
gzip, zstd and zip are undone whatever the file is called.

Formats (detected from the content, or chosen with --format):
  csv       CSV with a header line, e.g. psql COPY ... TO STDOUT CSV HEADER. Columns are
            mapped by name: time (created_at, timestamp, time, date, sent_at...),
            recipient (email, recipient, to, rcpt...), status (status, event, type, state),
            reply (response, reason, smtp_response, diagnostic, error), ip (ip, sending_ip,
            source_ip, outgoing_ip), message_id (message_id, msg_id, smtp_id), attempt,
            id, class (stream, category, kind). --map overrides.
  sendgrid  SendGrid Event Webhook JSON: a POST body (array) or one event per line.
  ses       Amazon SES events: event publishing (Firehose lines), SNS envelopes, SQS
            messages holding them, EventBridge events, legacy notificationType records.
  mailgun   Mailgun Events API pages ({"items": [...]}) and webhook bodies ("event-data").
  postmark  Postmark webhooks (RecordType Delivery, Bounce, SpamComplaint...).
  sparkpost SparkPost webhook batches ([{"msys": {...}}]).
  mandrill  Mandrill webhooks: the mandrill_events JSON, or the form-encoded POST body.
  brevo     Brevo transactional webhooks (times from ts_epoch).
  kumomta   KumoMTA log records (JSON lines; zstd-compressed segments are fine).
            "KumoMTA internal:" responses are KumoMTA's own: kept as text with no
            SMTP code, type word TransientFailure/internal.
  postfix   Postfix mail log (syslog): one event per to= line (sent, deferred,
            bounced) and per recipient of status=expired. Classic syslog times have
            no year: it comes from --year, else the file's modification time, else
            today; a December to January turn moves it on. Postfix does not log the
            sending IP: it is taken from the IP Microsoft quotes in its reply, else
            --sending-ip.
  exim      Exim main log: => and -> deliveries, == deferrals, ** bounces. Times
            without a zone are read in --tz. The sending IP is I=[ip] when logged
            (log_selector +outgoing_interface), else the reply's, else --sending-ip.
  powermta  PowerMTA accounting CSV (header: type, then timeLogged), columns by
            name; records d, b, t, tq, r, f, rb, rs; sending IP from dlvSourceIp.
  snds      Microsoft SNDS "View Data" export (headerless, 14 columns): stored per IP and day.
  snds-status  SNDS "IP Status" export: blocked IP ranges and the reason.
  counts    pre-aggregated sends per minute (minute,count[,provider|domain][,ip], header
            optional), e.g. the output of a per-minute GROUP BY in your warehouse.

JSON inputs may be one array, one value per line, or pretty-printed. Soft bounces
(SES Transient, Postmark Transient/SoftBounce, Mandrill and Brevo soft_bounce) are
stored as deferred, Mailgun failed events by their severity; the ESP's own word is
kept as original_type.

A directory argument ingests every file in it, each detected on its own; zip
archives are read from their first member.
Nothing is lost: every record is stored, skipped as a duplicate of one already
stored, or kept in the rejects table with its line and reason, and
read = stored + duplicates + rejected. Re-running the same input stores nothing
twice. An interrupted run keeps what it committed and is marked interrupted; run
it again to complete it.`,
		Example: `  psql -c "COPY (SELECT created_at, email, status, response FROM notifications) TO STDOUT CSV HEADER" \
    | senderscope ingest -
  senderscope ingest --map time=logged,recipient=rcpt_addr export.csv
  senderscope ingest --status soft_failed=deferred,hard_failed=bounced export.csv.gz
  senderscope ingest --tz Europe/Berlin local-times.csv
  senderscope ingest sendgrid-2026-02-*.json
  senderscope ingest --year 2025 --sending-ip 203.0.113.10 /var/log/mail.log.1.gz
  senderscope ingest --provider microsoft per-minute-counts.csv
  senderscope ingest ./exports/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.inputs = args
			return runIngest(cmd.Context(), app, g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "auto", "input format: auto, "+strings.Join(reg.Names(), ", "))
	f.StringSliceVar(&o.maps, "map", nil, "map fields to CSV columns: field=column,... (fields: "+fieldNames()+")")
	f.StringSliceVar(&o.statuses, "status", nil, "map status words to event types: word=type,... (types: "+typeNames()+")")
	f.StringVar(&o.tz, "tz", "UTC", "time zone of timestamps that carry none (IANA name, e.g. Europe/Berlin)")
	f.StringVar(&o.provider, "provider", "", "provider that pre-aggregated counts without a provider or domain column are for (microsoft, gmail, yahoo, apple, other, all)")
	f.Int64Var(&o.maxExpansion, "max-expansion", ingest.DefaultMaxExpansion, "refuse a compressed input that expands more than this many times (a decompression bomb)")
	f.BoolVar(&o.noProgress, "no-progress", false, "never draw a progress bar")
	f.IntVar(&o.year, "year", 0, "year of the first line of a syslog file whose times have none (default: from the file's modification time, else this year)")
	f.StringVar(&o.sendingIP, "sending-ip", "", "sending IP for MTA logs that do not record it (Postfix, Exim without I=)")
	return cmd
}

func fieldNames() string {
	var s []string
	for _, f := range ingest.Fields() {
		s = append(s, string(f))
	}
	return strings.Join(s, ", ")
}

func typeNames() string {
	var s []string
	for _, t := range ingest.EventTypes {
		s = append(s, string(t))
	}
	return strings.Join(s, ", ")
}

// parseIngestOpts turns flag text into ingest options, or a usage error.
func parseIngestOpts(o *ingestOpts) (ingest.Options, error) {
	var opts ingest.Options
	opts.Format = o.format
	if o.format != "auto" {
		if _, err := ingest.NewRegistry().Lookup(o.format); err != nil {
			return opts, usageErr(err)
		}
	}
	loc, err := time.LoadLocation(o.tz)
	if err != nil {
		return opts, usagef("--tz %q: not a time zone name (e.g. UTC, Europe/Berlin, America/New_York)", o.tz)
	}
	opts.TZ = loc
	if o.maxExpansion < 0 {
		return opts, usagef("--max-expansion must be at least 1")
	}
	opts.MaxExpansion = o.maxExpansion // 0: the default
	if o.year != 0 && (o.year < 1970 || o.year > 9999) {
		return opts, usagef("--year %d: expected a four-digit year such as 2024", o.year)
	}
	opts.Year = o.year
	if o.sendingIP != "" {
		ip, err := netip.ParseAddr(strings.Trim(o.sendingIP, "[]"))
		if err != nil {
			return opts, usagef("--sending-ip %q: not an IP address", o.sendingIP)
		}
		opts.SendingIP = ip.Unmap().String()
	}
	if o.provider != "" {
		p, err := analyze.ParseProvider(o.provider)
		if err != nil {
			return opts, usagef("--provider: %v", err)
		}
		opts.CountsProvider = string(p)
		if p == "" {
			opts.CountsProvider = "all"
		}
	}
	if len(o.maps) > 0 {
		opts.ColumnMap = map[ingest.Field]string{}
		for _, m := range splitList(o.maps) {
			k, v, ok := strings.Cut(m, "=")
			if !ok || v == "" {
				return opts, usagef("--map %q: expected field=column", m)
			}
			f, err := ingest.ParseField(k)
			if err != nil {
				return opts, usagef("--map %q: %v", m, err)
			}
			opts.ColumnMap[f] = v
		}
	}
	if len(o.statuses) > 0 {
		opts.Status = map[string]ingest.EventType{}
		for _, m := range splitList(o.statuses) {
			k, v, ok := strings.Cut(m, "=")
			if !ok {
				return opts, usagef("--status %q: expected word=type", m)
			}
			t, ok := ingest.ParseEventType(v)
			if !ok {
				return opts, usagef("--status %q: %q is not an event type (types: %s)", m, v, typeNames())
			}
			opts.Status[strings.Trim(k, `'"`)] = t
		}
	}
	return opts, nil
}

func runIngest(ctx context.Context, app *App, g *globals, o *ingestOpts) error {
	p, err := app.printer(g)
	if err != nil {
		return err
	}
	opts, err := parseIngestOpts(o)
	if err != nil {
		return err
	}
	stdinUsed := false
	var inputs []ingest.Input
	for _, name := range o.inputs {
		if name == "-" {
			if stdinUsed {
				return usagef("- (standard input) given twice")
			}
			stdinUsed = true
			inputs = append(inputs, ingest.Input{Name: "-", Reader: app.Stdin})
			continue
		}
		inputs = append(inputs, ingest.Input{Name: name})
	}
	store, err := app.OpenStore(ctx, app.dbPath(g))
	if err != nil {
		return &dbError{err}
	}
	defer store.Close()
	argsJSON, _ := json.Marshal(map[string]any{"inputs": o.inputs, "format": o.format, "map": o.maps, "status": o.statuses, "tz": o.tz,
		"year": o.year, "sending_ip": o.sendingIP})
	opts.Args = string(argsJSON)
	opts.Now = app.Now
	opts.Enrich = enricher()
	if err := replyHooks(&opts); err != nil {
		return err
	}
	var prog *report.Progress
	if app.StderrTTY && !o.noProgress {
		prog = report.NewProgress(app.Stderr)
		opts.Progress = func(name string, done, total int64) {
			if total >= 4<<20 {
				prog.Update(name, done, total)
			}
		}
	}
	sum, err := ingest.Ingest(ctx, store, inputs, opts)
	if prog != nil {
		prog.Stop()
	}
	if sum != nil {
		if perr := p.Print(report.IngestDoc(sum)); perr != nil && err == nil {
			err = perr
		}
		if sum.Rejected > 0 && p.Format == report.FormatTable {
			fmt.Fprintf(app.Stderr, "senderscope: %s records rejected; they are kept in the rejects table of %s (run %d)\n",
				report.Int(sum.Rejected), store.Path(), sum.RunID)
		}
	}
	if err != nil {
		var ie *ingest.InputError
		if errors.As(err, &ie) {
			return &inputError{err}
		}
		if errors.Is(err, ingest.ErrInterrupted) || errors.Is(err, ingest.ErrBusy) {
			return err
		}
		return &dbError{err}
	}
	return nil
}

// enricher sets each event's provider from its recipient domain, exactly.
func enricher() func(*ingest.Event) {
	providers := analyze.DefaultProviders()
	return func(e *ingest.Event) { e.Provider = string(providers.ForDomain(e.Domain)) }
}

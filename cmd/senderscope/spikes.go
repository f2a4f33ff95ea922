package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/senderscope/senderscope/analyze"
	"github.com/senderscope/senderscope/report"
)

type spikesOpts struct {
	rng          rangeFlags
	window       string
	by           string
	top          int
	over         int64
	baselineDays int
	sql          analyze.CountsQuery
	emitSQL      string
}

func newSpikesCmd(app *App, g *globals) *cobra.Command {
	o := &spikesOpts{}
	cmd := &cobra.Command{
		Use:   "spikes",
		Short: "Find the send spikes to a provider: per window and IP, with the true 60-second peak",
		Long: `Rank the windows with the most sends to a provider (Microsoft by default), per sending
IP when the data knows them (Microsoft throttles per IP). For each window: the sends,
the most sends in any 60 seconds overlapping it (a burst straddling a minute boundary
is invisible to a per-minute GROUP BY), the factor over a baseline (the median of the
daily peaks over the prior 30 days) and "highest since": the last time a window was at
least as high. A chart of the minutes around the worst spike follows.

Recipients are matched to providers by exact domain, never by substring.
Pre-aggregated counts (ingest --provider ... counts.csv) are read like events.

With --emit-sql, print instead the query that computes the same per-minute sends per
provider and IP in your warehouse (PostgreSQL, BigQuery or ClickHouse), with the exact
domain list; its CSV output ingests as pre-aggregated counts. The database is not read.`,
		Example: `  senderscope spikes
  senderscope spikes --top 20 --since 2026-02-01
  senderscope spikes --window 1h --by total
  senderscope spikes --over 40 -o csv > spikes.csv
  senderscope spikes --emit-sql postgres --table notifications --time-col created_at \
    --recipient-col email --ip-col ip --attempt-col attempt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runSpikes(cmd.Context(), app, g, o) },
	}
	f := cmd.Flags()
	o.rng.add(f, "microsoft")
	f.StringVar(&o.window, "window", "1m", "window: 1m, 5m, 1h or 1d")
	f.StringVar(&o.by, "by", "auto", "ip (a series per sending IP), total, or auto (per IP when IPs are known)")
	f.IntVar(&o.top, "top", 10, "show this many windows (0 = all that pass --over)")
	f.Int64Var(&o.over, "over", 0, "only windows with more sends than this")
	f.IntVar(&o.baselineDays, "baseline-days", 30, "days of daily peaks before a window that make its baseline")
	f.StringVar(&o.emitSQL, "emit-sql", "", "print the warehouse query instead: postgres, bigquery or clickhouse")
	f.StringVar(&o.sql.Table, "table", "", "emit-sql: the table (schema.table, project.dataset.table)")
	f.StringVar(&o.sql.TimeCol, "time-col", "", "emit-sql: the timestamp column")
	f.StringVar(&o.sql.RecipientCol, "recipient-col", "", "emit-sql: the recipient address column")
	f.StringVar(&o.sql.IPCol, "ip-col", "", "emit-sql: the sending IP column, if any")
	f.StringVar(&o.sql.AttemptCol, "attempt-col", "", "emit-sql: count only rows whose attempt is empty or at most 1")
	f.StringVar(&o.sql.StatusCol, "status-col", "", "emit-sql: count only rows whose status is a delivery outcome (delivered, deferred, bounced)")
	return cmd
}

// runEmitSQL prints the warehouse counts query.
func runEmitSQL(app *App, o *spikesOpts, provider analyze.Provider) error {
	d, err := analyze.ParseSQLDialect(o.emitSQL)
	if err != nil {
		return usageErr(err)
	}
	if o.rng.since != "" || o.rng.until != "" {
		return usagef("--emit-sql writes the query for every minute; --since and --until apply when you run spikes on its counts")
	}
	q := o.sql
	q.Dialect, q.Provider = d, provider
	text, err := analyze.CountsSQL(q)
	if err != nil {
		return usageErr(err)
	}
	_, err = io.WriteString(app.Stdout, text)
	return err
}

func runSpikes(ctx context.Context, app *App, g *globals, o *spikesOpts) error {
	p, err := app.printer(g)
	if err != nil {
		return err
	}
	provider, since, until, err := o.rng.parse()
	if err != nil {
		return err
	}
	if o.emitSQL != "" {
		return runEmitSQL(app, o, provider)
	}
	if o.sql != (analyze.CountsQuery{}) {
		return usagef("--table, --time-col, --recipient-col, --ip-col, --attempt-col and --status-col go with --emit-sql")
	}
	win, err := analyze.ParseWindow(o.window)
	if err != nil {
		return usageErr(err)
	}
	byIP, auto, err := byFlag(o.by)
	if err != nil {
		return err
	}
	if o.top < 0 || o.baselineDays < 1 {
		return usagef("--top must be 0 or more and --baseline-days at least 1")
	}
	store, err := app.openExisting(ctx, g)
	if err != nil {
		return err
	}
	defer store.Close()
	rep, err := analyze.Spikes(ctx, store, analyze.SpikeOptions{Provider: provider, Window: win, ByIP: byIP, AutoByIP: auto,
		Top: o.top, Over: o.over, BaselineDays: o.baselineDays, Since: since, Until: until})
	if err != nil {
		return &dbError{err}
	}
	return p.Print(report.SpikesDoc(rep, app.StdoutTTY))
}

type onsetOpts struct {
	rng      rangeFlags
	lookback string
}

func newOnsetCmd(app *App, g *globals) *cobra.Command {
	o := &onsetOpts{}
	cmd := &cobra.Command{
		Use:   "onset",
		Short: "When did deferrals start per provider and IP, and which burst came before",
		Long: `For each provider and sending IP: the first deferral and the first permanent failure,
the busiest minute of sends in the look-back before the first deferral (over every IP
and on that IP), and the lag between them, written as the sentence a ticket needs.`,
		Example: `  senderscope onset
  senderscope onset --provider all --lookback 48h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runOnset(cmd.Context(), app, g, o) },
	}
	o.rng.add(cmd.Flags(), "microsoft")
	cmd.Flags().StringVar(&o.lookback, "lookback", "24h", "how far before the first deferral to look for bursts")
	return cmd
}

func runOnset(ctx context.Context, app *App, g *globals, o *onsetOpts) error {
	p, err := app.printer(g)
	if err != nil {
		return err
	}
	provider, since, until, err := o.rng.parse()
	if err != nil {
		return err
	}
	lb, err := parseDuration("--lookback", o.lookback)
	if err != nil {
		return err
	}
	store, err := app.openExisting(ctx, g)
	if err != nil {
		return err
	}
	defer store.Close()
	os, err := analyze.Onsets(ctx, store, analyze.OnsetOptions{Provider: provider, Lookback: lb, Since: since, Until: until})
	if err != nil {
		return &dbError{err}
	}
	return p.Print(report.OnsetDoc(os))
}

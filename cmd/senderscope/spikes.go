package main

import (
	"context"

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
Pre-aggregated counts (ingest --provider ... counts.csv) are read like events.`,
		Example: `  senderscope spikes
  senderscope spikes --top 20 --since 2026-02-01
  senderscope spikes --window 1h --by total
  senderscope spikes --over 40 -o csv > spikes.csv`,
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
	return cmd
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
	store, err := app.OpenStore(ctx, app.dbPath(g))
	if err != nil {
		return &dbError{err}
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
	store, err := app.OpenStore(ctx, app.dbPath(g))
	if err != nil {
		return &dbError{err}
	}
	defer store.Close()
	os, err := analyze.Onsets(ctx, store, analyze.OnsetOptions{Provider: provider, Lookback: lb, Since: since, Until: until})
	if err != nil {
		return &dbError{err}
	}
	return p.Print(report.OnsetDoc(os))
}

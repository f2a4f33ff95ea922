package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/senderscope/senderscope/analyze"
	"github.com/senderscope/senderscope/report"
)

type ratesOpts struct {
	rng     rangeFlags
	window  string
	by      string
	horizon string
	all     bool
}

func newRatesCmd(app *App, g *globals) *cobra.Command {
	o := &ratesOpts{}
	cmd := &cobra.Command{
		Use:   "rates",
		Short: "Deferral and bounce rates per provider, IP and hour, with warm-up bands and delivery delays",
		Long: `Deferral rate (deferred / attempts) and bounce rate per provider, sending IP and window,
placed in the bands operators use for Microsoft warm-up: healthy under 2 %, watch 2-5 %,
throttle 5-15 %, pause volume growth at 15 % and over. Then, for messages deferred at
least once: how long until delivered (p50/p95/max) and how many were never delivered
within the retry horizon.`,
		Example: `  senderscope rates --provider microsoft
  senderscope rates --window 1d --by total
  senderscope rates --since 2026-02-24 --all -o csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runRates(cmd.Context(), app, g, o) },
	}
	f := cmd.Flags()
	o.rng.add(f, "all")
	f.StringVar(&o.window, "window", "1h", "window: 1m, 5m, 1h or 1d")
	f.StringVar(&o.by, "by", "ip", "ip or total")
	f.StringVar(&o.horizon, "retry-horizon", "72h", "how long the sender keeps retrying a deferred message")
	f.BoolVar(&o.all, "all", false, "list healthy windows too")
	return cmd
}

func runRates(ctx context.Context, app *App, g *globals, o *ratesOpts) error {
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
	byIP, _, err := byFlag(o.by)
	if err != nil {
		return err
	}
	horizon, err := parseDuration("--retry-horizon", o.horizon)
	if err != nil {
		return err
	}
	store, err := app.openExisting(ctx, g)
	if err != nil {
		return err
	}
	defer store.Close()
	rep, err := analyze.Rates(ctx, store, analyze.RateOptions{Provider: provider, Window: win, ByIP: byIP, Since: since, Until: until, RetryHorizon: horizon})
	if err != nil {
		return &dbError{err}
	}
	return p.Print(report.RatesDoc(rep, o.all))
}

type simulateOpts struct {
	rng       rangeFlags
	limit     string
	algorithm string
	maxDelay  string
}

func newSimulateCmd(app *App, g *globals) *cobra.Command {
	o := &simulateOpts{}
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Replay recorded sends through a per-IP limiter: what would a limit have cost in delay",
		Long: `Replay the recorded sends to a provider through a per-IP rate limiter and report the
added delay (p50/p95/p99/max), the worst backlog, and how long the worst batch takes
to drain. The sliding window (default) is what a Redis sorted-set limiter does when
callers wait and retry; token is a token bucket with a burst of N. With --max-delay,
also find the lowest limit whose p95 added delay stays within it. When the data has a
mail class (a stream or category column), each class gets its own line.`,
		Example: `  senderscope simulate --limit 10/1m
  senderscope simulate --limit 10/1m --max-delay 5m
  senderscope simulate --limit 600/1h --algorithm token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runSimulate(cmd.Context(), app, g, o) },
	}
	f := cmd.Flags()
	o.rng.add(f, "microsoft")
	f.StringVar(&o.limit, "limit", "10/1m", "limit per sending IP: N/PERIOD")
	f.StringVar(&o.algorithm, "algorithm", "sliding", "sliding or token")
	f.StringVar(&o.maxDelay, "max-delay", "", "find the lowest limit whose p95 added delay is within this (e.g. 5m)")
	return cmd
}

func runSimulate(ctx context.Context, app *App, g *globals, o *simulateOpts) error {
	p, err := app.printer(g)
	if err != nil {
		return err
	}
	provider, since, until, err := o.rng.parse()
	if err != nil {
		return err
	}
	lim, err := analyze.ParseLimit(o.limit)
	if err != nil {
		return usageErr(err)
	}
	alg := analyze.Algorithm(o.algorithm)
	if alg != analyze.AlgSliding && alg != analyze.AlgToken {
		return usagef("--algorithm %q: use sliding or token", o.algorithm)
	}
	opts := analyze.SimOptions{Provider: provider, Limit: lim, Algorithm: alg, Since: since, Until: until}
	if o.maxDelay != "" {
		d, err := parseDuration("--max-delay", o.maxDelay)
		if err != nil {
			return err
		}
		opts.MaxDelay = d
	}
	store, err := app.openExisting(ctx, g)
	if err != nil {
		return err
	}
	defer store.Close()
	rep, err := analyze.Simulate(ctx, store, opts)
	if err != nil {
		return &dbError{err}
	}
	return p.Print(report.SimulateDoc(rep))
}

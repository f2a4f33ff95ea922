package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/senderscope/senderscope/report"
)

func newSummaryCmd(app *App, g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "summary",
		Short: "Show what the database holds: time range, events by provider and type, IPs, runs",
		Example: `  senderscope summary
  senderscope summary -o json | jq '.by_provider'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSummary(cmd.Context(), app, g)
		},
	}
}

func runSummary(ctx context.Context, app *App, g *globals) error {
	p, err := app.printer(g)
	if err != nil {
		return err
	}
	store, err := app.openExisting(ctx, g)
	if err != nil {
		return err
	}
	defer store.Close()
	o, err := store.Overview(ctx)
	if err != nil {
		return &dbError{err}
	}
	return p.Print(report.OverviewDoc(o))
}

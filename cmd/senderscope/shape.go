package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/senderscope/senderscope/analyze"
	"github.com/senderscope/senderscope/report"
)

type shapeOpts struct {
	emit     string
	limit    string
	provider string
	nexthop  string
}

func newShapeCmd(app *App, g *globals) *cobra.Command {
	o := &shapeOpts{}
	cmd := &cobra.Command{
		Use:   "shape",
		Short: "Turn a per-IP send limit into Postfix, KumoMTA or generic queue configuration",
		Long: `Write the configuration that holds a chosen per-IP limit to one provider (Microsoft by
default), with a comment on every number saying where it comes from:

  postfix  the transport map with the provider's exact domain list, main.cf rate delay,
           concurrency and recipient limit, and the master.cf transport
  kumomta  a shaping.toml provider entry matched by MX suffix, with the message rate,
           connection limit, deliveries per connection and an automation rule that backs
           off on the provider's throttle reply (4.7.650 for Microsoft)
  yaml     generic per-provider queue settings: connections and rate per IP, back-off on
           the throttle reply, retry after, and the climb back after clean hours

See what a limit costs first with senderscope simulate --limit. The database is not read.`,
		Example: `  senderscope shape --emit postfix --limit 10/1m
  senderscope shape --emit kumomta --limit 600/1h > /opt/kumomta/etc/policy/senderscope-shaping.toml
  senderscope shape --emit yaml --provider gmail --limit 20/1m
  senderscope shape --emit postfix -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runShape(cmd.Context(), app, g, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.emit, "emit", "", "configuration to write: postfix, kumomta or yaml (required)")
	f.StringVar(&o.limit, "limit", "10/1m", "limit per sending IP: N/PERIOD")
	f.StringVar(&o.provider, "provider", "microsoft", "mailbox provider: microsoft, gmail, yahoo or apple")
	f.StringVar(&o.nexthop, "postfix-nexthop", "", "postfix: route every domain to this one next hop so they share one rate delay")
	return cmd
}

func runShape(_ context.Context, app *App, g *globals, o *shapeOpts) error {
	p, err := app.printer(g, report.FormatTable, report.FormatJSON)
	if err != nil {
		return err
	}
	if o.emit == "" {
		return usagef("--emit is required: postfix, kumomta or yaml")
	}
	format, err := analyze.ParseShapeFormat(o.emit)
	if err != nil {
		return usageErr(err)
	}
	lim, err := analyze.ParseLimit(o.limit)
	if err != nil {
		return usageErr(err)
	}
	provider, err := analyze.ParseProvider(o.provider)
	if err != nil {
		return usagef("--provider: %v", err)
	}
	plan, err := analyze.Shape(analyze.ShapeOptions{Provider: provider, Limit: lim, PostfixNexthop: o.nexthop})
	if err != nil {
		return usageErr(err)
	}
	if p.Format == report.FormatJSON {
		return p.Print(report.Doc{Value: plan})
	}
	return report.WriteShape(app.Stdout, plan, format)
}

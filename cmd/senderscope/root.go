package main

import (
	"context"
	"strings"

	"github.com/spf13/cobra"
)

func run(ctx context.Context, app *App, args []string) int {
	root := newRootCmd(app)
	root.SetArgs(args)
	root.SetIn(app.Stdin)
	root.SetOut(app.Stdout)
	root.SetErr(app.Stderr)
	err := root.ExecuteContext(ctx)
	return exitCode(app.Stderr, err)
}

func newRootCmd(app *App) *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "senderscope",
		Short: "Investigate e-mail deliverability incidents (Microsoft throttling first)",
		Long: `senderscope turns a deliverability incident into evidence: it ingests your send logs
(SQL exports, ESP webhooks) into a local SQLite file, finds the send spikes that
triggered a throttle, classifies the deferrals, checks authentication and drafts
the escalation to the mailbox provider.`,
		Example: `  # Pipe a SQL export straight in, then see what is there
  psql -c "COPY (SELECT created_at, email, status, response FROM notifications) TO STDOUT CSV HEADER" \
    | senderscope ingest -
  senderscope summary

  # SendGrid webhook archive, gzip-compressed
  senderscope ingest --format sendgrid events.jsonl.gz`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("senderscope {{.Version}}\n")
	root.PersistentFlags().StringVar(&g.db, "db", "", "SQLite database file (default $SENDERSCOPE_DB, else ./senderscope.db)")
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "table", "output format: table, json, csv or markdown")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageErr(err) })
	root.SetHelpTemplate(root.HelpTemplate() + "\n" + exitCodesHelp + "\n")
	root.AddCommand(newIngestCmd(app, g), newSummaryCmd(app, g), newSpikesCmd(app, g), newOnsetCmd(app, g),
		newRatesCmd(app, g), newSimulateCmd(app, g), newShapeCmd(app, g), newCheckCmd(app, g), newExampleCmd(app, g),
		newInvestigateCmd(app, g), newTicketCmd(app, g), newClassifyCmd(app, g), newReportCmd(app, g))
	for _, c := range root.Commands() {
		c.Args = wrapArgs(c.Args)
	}
	return root
}

// wrapArgs makes positional-argument errors usage errors (exit 2).
func wrapArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	if v == nil {
		return nil
	}
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return usageErr(err)
		}
		return nil
	}
}

// splitList splits "a=b,c=d" style flag values, allowing repeats of the flag.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

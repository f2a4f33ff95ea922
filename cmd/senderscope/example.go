package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/senderscope/senderscope/ingest/example"
)

type exampleOpts struct {
	from, until string
	out         string
	gzip        bool
}

func newExampleCmd(app *App, g *globals) *cobra.Command {
	o := &exampleOpts{}
	cmd := &cobra.Command{
		Use:   "example",
		Short: "Write the bundled example incident as a psql CSV export",
		Long: `Write the bundled example incident: the webhook-notification table of a SaaS sender
(example.com, two dedicated IPs 203.0.113.7 and 203.0.113.10, ~350k emails a month)
exported with psql COPY ... CSV HEADER, from 2025-11-17 to 2026-03-01. On the evening
of 2026-02-24 a newsletter batch puts 53 Outlook.com recipients into one minute, the
most since a 66 three months earlier; 2h13m later Outlook.com defers every message on
both IPs with 451 4.7.650 for about 60 hours while other providers deliver normally.

The data is generated deterministically (the same bytes every time, ~1.37M rows,
~400 MB); pipe it straight into ingest.`,
		Example: `  senderscope example | senderscope ingest -
  senderscope example --since 2026-02-20 --gzip --out incident.csv.gz`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runExample(cmd.Context(), app, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.from, "since", "", "first day (UTC) to write, e.g. 2026-02-20 (default: the whole history)")
	f.StringVar(&o.until, "until", "", "end of the range, exclusive")
	f.StringVar(&o.out, "out", "", "write to this file instead of standard output")
	f.BoolVar(&o.gzip, "gzip", false, "gzip-compress the output")
	return cmd
}

func runExample(ctx context.Context, app *App, o *exampleOpts) error {
	from, err := parseWhen("--since", o.from)
	if err != nil {
		return err
	}
	to, err := parseWhen("--until", o.until)
	if err != nil {
		return err
	}
	var w io.Writer = app.Stdout
	if o.out != "" {
		f, err := os.Create(o.out)
		if err != nil {
			return &inputError{fmt.Errorf("example: %w", err)}
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var dst io.Writer = bw
	var zw *gzip.Writer
	if o.gzip {
		zw = gzip.NewWriter(bw)
		dst = zw
	}
	if err := example.Write(dst, example.Options{From: from, To: to}); err != nil {
		return usageErr(fmt.Errorf("example: %w", err))
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return err
		}
	}
	return bw.Flush()
}

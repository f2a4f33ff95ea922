package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/senderscope/senderscope/checks"
	"github.com/senderscope/senderscope/ingest"
	"github.com/senderscope/senderscope/report"
)

// App is everything a command touches outside itself, injected so tests can
// run commands against buffers, a fixed clock and a temporary database.
type App struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// StdoutTTY and StderrTTY say whether the streams are terminals: tables
	// get box drawing and progress bars appear only then.
	StdoutTTY bool
	StderrTTY bool
	Now       func() time.Time
	Getenv    func(string) string
	OpenStore func(ctx context.Context, path string) (*ingest.Store, error)
	// NewResolver builds the DNS client of "check": server is --resolver
	// ("" for resolv.conf), timeout the per-query timeout.
	NewResolver func(server string, timeout time.Duration) (checks.Resolver, error)
}

func newApp() *App {
	return &App{
		Stdin:       os.Stdin,
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
		StdoutTTY:   term.IsTerminal(int(os.Stdout.Fd())),
		StderrTTY:   term.IsTerminal(int(os.Stderr.Fd())),
		Now:         time.Now,
		Getenv:      os.Getenv,
		OpenStore:   ingest.Open,
		NewResolver: newResolver,
	}
}

// globals are the flags every command shares.
type globals struct {
	db     string
	output string
}

// printer returns the renderer for the command's --output.
func (a *App) printer(g *globals, allowed ...report.Format) (report.Printer, error) {
	if len(allowed) == 0 {
		allowed = report.AnalysisFormats
	}
	f, err := report.ParseFormat(g.output, allowed...)
	if err != nil {
		return report.Printer{}, usageErr(err)
	}
	return report.Printer{W: a.Stdout, Format: f, Terminal: a.StdoutTTY}, nil
}

// openExisting opens the database for a command that reads it: a missing
// file is an error that says how to fill one, not an empty result (and no
// stray empty database is left behind).
func (a *App) openExisting(ctx context.Context, g *globals) (*ingest.Store, error) {
	path := a.dbPath(g)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, &inputError{fmt.Errorf("no database at %s: ingest your logs first (senderscope ingest FILE), point --db or SENDERSCOPE_DB at one, or run senderscope investigate for the bundled example", path)}
	}
	s, err := a.OpenStore(ctx, path)
	if err != nil {
		return nil, &dbError{err}
	}
	return s, nil
}

// dbPath is --db, else $SENDERSCOPE_DB, else senderscope.db here.
func (a *App) dbPath(g *globals) string {
	if g.db != "" {
		return g.db
	}
	if p := a.Getenv("SENDERSCOPE_DB"); p != "" {
		return p
	}
	return "senderscope.db"
}

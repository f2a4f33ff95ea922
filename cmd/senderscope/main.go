// Command senderscope investigates e-mail deliverability incidents: it ingests
// send logs into a local SQLite file, finds send spikes, classifies deferrals,
// checks DNS authentication and drafts the escalation to the mailbox provider.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, newApp(), os.Args[1:])
	stop()
	os.Exit(code)
}

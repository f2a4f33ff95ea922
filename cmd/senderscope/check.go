package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/senderscope/senderscope/checks"
	"github.com/senderscope/senderscope/report"
)

type checkOpts struct {
	domain     string
	ips        []string
	selectors  []string
	helo       string
	mailFrom   string
	message    string
	resolver   string
	timeout    time.Duration
	recipients []string
	dnsbl      []string
	noProbe    bool
}

const checkLong = `Check what receivers check before they trust a sender: SPF (a full RFC 7208
evaluation with the include tree and lookup counts), DKIM keys and, with
--message, signatures, DMARC (RFC 9989 tree walk, alignment, report
destinations, and a verdict against Microsoft's and Google/Yahoo's bulk-sender
rules), reverse DNS and DNS block lists for each --ip, and MX, MTA-STS and
TLS-RPT records.

Every finding has a stable ID (e.g. spf.too_many_lookups), a severity (ok,
info, warn, fail), a one-line message and the DNS evidence. A DNS server that
does not answer makes temperror findings (warn) within --timeout; it never
hangs. Queries go to --resolver, else to the servers in /etc/resolv.conf; use
your own resolver: block lists refuse public ones.`

func newCheckCmd(app *App, g *globals) *cobra.Command {
	o := &checkOpts{}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check SPF, DKIM, DMARC, reverse DNS, block lists and MX of a sending domain",
		Long:  checkLong,
		Example: `  senderscope check --domain example.com --ip 192.0.2.10 --selector s1
  senderscope check --domain example.com --ip 192.0.2.10 --message sample.eml -o markdown
  senderscope check spf --ip 192.0.2.10 --mail-from bounce@example.com -o json | jq -r .result
  senderscope check mx --domain example.com --recipient hotmail.com --recipient contoso.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCheck(cmd.Context(), app, g, o, "")
		},
	}
	f := cmd.PersistentFlags()
	f.StringVar(&o.domain, "domain", "", "sending domain (default: the --mail-from domain, else the From of --message)")
	f.StringSliceVar(&o.ips, "ip", nil, "sending IP address (repeatable)")
	f.StringSliceVar(&o.selectors, "selector", nil, "DKIM selector to look up (repeatable); common ones are probed too")
	f.StringVar(&o.helo, "helo", "", "HELO/EHLO name the IPs announce")
	f.StringVar(&o.mailFrom, "mail-from", "", "MAIL FROM (envelope sender) address for SPF (default postmaster@DOMAIN)")
	f.StringVar(&o.message, "message", "", "a sent message (.eml, - for stdin) whose DKIM signatures are verified")
	f.StringVar(&o.resolver, "resolver", "", "DNS server HOST[:PORT] (default: /etc/resolv.conf)")
	f.DurationVar(&o.timeout, "timeout", 20*time.Second, "deadline for the whole check; unanswered queries become temperror findings")
	f.StringSliceVar(&o.recipients, "recipient", nil, "recipient domain whose receiving system to identify (repeatable)")
	f.StringSliceVar(&o.dnsbl, "dnsbl", nil, "DNS block list zone to query instead of the built-in list (repeatable)")
	f.BoolVar(&o.noProbe, "no-probe", false, "do not probe the common DKIM selectors")

	for _, c := range checks.AllChecks() {
		name := c
		cmd.AddCommand(&cobra.Command{
			Use:   string(name),
			Short: checkShort(name),
			Args:  wrapArgs(cobra.NoArgs),
			RunE: func(cmd *cobra.Command, args []string) error {
				return runCheck(cmd.Context(), app, g, o, name)
			},
		})
	}
	return cmd
}

func checkShort(c checks.CheckName) string {
	switch c {
	case checks.CheckSPF:
		return "Evaluate SPF for each --ip and lint the include tree"
	case checks.CheckDKIM:
		return "Look up DKIM keys and verify the signatures of --message"
	case checks.CheckDMARC:
		return "Find the DMARC policy and grade the sender against bulk-sender rules"
	case checks.CheckRDNS:
		return "Check the reverse DNS of each --ip"
	case checks.CheckDNSBL:
		return "Look up each --ip on DNS block lists"
	}
	return "Check MX, MTA-STS and TLS-RPT; identify recipient systems"
}

// checkOptions turns flags into checks.Options; every problem is a usage error.
func checkOptions(app *App, o *checkOpts, only checks.CheckName) (checks.Options, error) {
	opts := checks.Options{
		Domain: strings.TrimSpace(o.domain), Selectors: splitList(o.selectors), HELO: o.helo, MailFrom: o.mailFrom,
		Recipients: splitList(o.recipients), NoProbe: o.noProbe, Timeout: o.timeout,
	}
	if only != "" {
		opts.Checks = []checks.CheckName{only}
	}
	if o.timeout <= 0 {
		return opts, usagef("--timeout must be positive, got %s", o.timeout)
	}
	for _, s := range splitList(o.ips) {
		ip, err := netip.ParseAddr(s)
		if err != nil || ip.Zone() != "" {
			return opts, usagef("--ip %q is not an IP address", s)
		}
		opts.IPs = append(opts.IPs, ip)
	}
	if (only == checks.CheckRDNS || only == checks.CheckDNSBL) && len(opts.IPs) == 0 {
		return opts, usagef("check %s needs at least one --ip", only)
	}
	if opts.MailFrom != "" && !strings.Contains(opts.MailFrom, "@") {
		return opts, usagef("--mail-from %q is not an address (local@domain)", opts.MailFrom)
	}
	if opts.Domain == "" && opts.MailFrom != "" {
		opts.Domain = opts.MailFrom[strings.LastIndexByte(opts.MailFrom, '@')+1:]
	}
	if o.message != "" {
		raw, err := readMessage(app, o.message)
		if err != nil {
			return opts, &inputError{err}
		}
		opts.Message = raw
	}
	if opts.Domain == "" && len(opts.Message) == 0 && only != checks.CheckRDNS && only != checks.CheckDNSBL {
		return opts, usagef("give --domain (or --mail-from, or a --message with a From address)")
	}
	for _, z := range splitList(o.dnsbl) {
		opts.DNSBLZones = append(opts.DNSBLZones, checks.DNSBLZone{Zone: strings.TrimSuffix(z, "."), Name: z, Codes: map[string]string{}})
	}
	r, err := app.NewResolver(o.resolver, queryTimeout(o.timeout))
	if err != nil {
		return opts, usageErr(err)
	}
	opts.Resolver = r
	return opts, nil
}

// queryTimeout gives one query a quarter of the deadline, within 200ms..2s,
// so a dead server still leaves time for retries and the other checks.
func queryTimeout(total time.Duration) time.Duration {
	return min(max(total/4, 200*time.Millisecond), checks.DefaultQueryTimeout)
}

// readMessage reads --message; "-" is standard input.
func readMessage(app *App, path string) ([]byte, error) {
	var r io.Reader = app.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("message: %w", err)
		}
		defer f.Close()
		r = f
	}
	raw, err := io.ReadAll(io.LimitReader(r, 50<<20))
	if err != nil {
		return nil, fmt.Errorf("message %s: %w", path, err)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("message %s is empty", path)
	}
	return raw, nil
}

// newResolver is the default App.NewResolver: --resolver, else resolv.conf.
func newResolver(server string, timeout time.Duration) (checks.Resolver, error) {
	cfg := checks.ClientConfig{QueryTimeout: timeout, Attempts: checks.DefaultAttempts}
	if server != "" {
		addr, err := checks.ParseServer(server)
		if err != nil {
			return nil, fmt.Errorf("--resolver: %w", err)
		}
		cfg.Servers = []string{addr}
	} else {
		sys, err := checks.SystemClientConfig("")
		if err != nil {
			return nil, fmt.Errorf("no --resolver given and %w", err)
		}
		cfg.Servers = sys.Servers
	}
	return checks.NewClient(cfg)
}

func runCheck(ctx context.Context, app *App, g *globals, o *checkOpts, only checks.CheckName) error {
	p, err := app.printer(g, report.FormatTable, report.FormatJSON, report.FormatMarkdown, report.FormatCSV)
	if err != nil {
		return err
	}
	opts, err := checkOptions(app, o, only)
	if err != nil {
		return err
	}
	rep := checks.Run(ctx, opts)
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := p.Print(report.CheckDoc(rep, only)); err != nil {
		return err
	}
	if rep.Failed() {
		return errFindings
	}
	return nil
}

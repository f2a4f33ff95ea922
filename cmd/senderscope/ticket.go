package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/senderscope/senderscope/analyze"
	"github.com/senderscope/senderscope/checks"
	"github.com/senderscope/senderscope/ingest/example"
	"github.com/senderscope/senderscope/report"
)

type ticketOpts struct {
	config      string
	contact     analyze.Contact
	remediation []string
	cap         string
	ips         []string
	selectors   []string
	offline     bool
	resolver    string
	timeout     time.Duration
	noRedact    bool
	template    string
}

// ticketConfig is the small file that holds what a sender says about itself.
type ticketConfig struct {
	analyze.Contact `yaml:",inline"`
	Remediation     []string `yaml:"remediation"`
	Cap             string   `yaml:"cap"`
	IPs             []string `yaml:"ips"`
}

func newTicketCmd(app *App, g *globals) *cobra.Command {
	o := &ticketOpts{}
	cmd := &cobra.Command{
		Use:   "ticket",
		Short: "Draft the request to Microsoft's sender support, with the evidence, ready to paste",
		Long: `Draft the escalation to Microsoft from what is in the database: which channel it goes to
(the Outlook.com "Sender Information for Outlook.com Delivery" form for consumer-domain
deferrals and blocks; the Microsoft 365 delist portal for 5.7.606-649; delist@microsoft.com
for 5.7.511; no ticket for 5.7.515 until authentication passes; a warning when the evidence
points to a Microsoft-side incident), the form field by field, 3 to 5 verbatim error
messages, the evidence block for your reply to the ticket e-mail (volumes per IP per day and
hour, the burst and "highest since", first deferral and lag, deferrals by code and IP, the
deferral-rate band, authentication and reverse DNS, SNDS when ingested, what you changed,
projected volume) and a polite, specific ask.

Contact details come from flags or --config FILE (YAML: contact_name, contact_email, website,
self_description, server_type, time_zone, sending_domain, remediation, cap, ips). Missing
fields are listed, never invented. Recipient addresses are redacted (local parts replaced)
unless --no-redact.`,
		Example: `  senderscope ticket --domain example.com --contact-name "Ana Ops" --contact-email ops@example.net \
    --website https://example.com --self-description business --server-type dedicated \
    --remediation "capped Outlook.com at 10/min per IP on 2026-02-25" --cap 10/1m
  senderscope ticket --config ticket.yaml -o markdown > ticket.md
  senderscope ticket --config ticket.yaml --template my-ticket.tmpl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runTicket(cmd.Context(), app, g, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.config, "config", "", "YAML file with the contact details and remediation")
	f.StringVar(&o.contact.Name, "contact-name", "", "contact name")
	f.StringVar(&o.contact.Email, "contact-email", "", "contact e-mail (must receive mail from Microsoft)")
	f.StringVar(&o.contact.Website, "website", "", "website URL")
	f.StringVar(&o.contact.SelfDescription, "self-description", "", "isp, esp, business, university or other")
	f.StringVar(&o.contact.ServerType, "server-type", "", "dedicated, shared or unknown")
	f.StringVar(&o.contact.TimeZone, "time-zone", "", `the form's time zone (default "(UTC) Coordinated Universal Time": the evidence is in UTC)`)
	f.StringVar(&o.contact.SendingDomain, "domain", "", "the sending domain (also checked in DNS unless --offline)")
	f.StringArrayVar(&o.remediation, "remediation", nil, "a change already made, in your words (repeatable)")
	f.StringVar(&o.cap, "cap", "", "the per-IP limit now applied to Microsoft, e.g. 10/1m (bounds the projected volume)")
	f.StringSliceVar(&o.ips, "ip", nil, "sending IP to check in DNS (default: the IPs Microsoft deferred)")
	f.StringSliceVar(&o.selectors, "selector", nil, "DKIM selector to look up (repeatable)")
	f.BoolVar(&o.offline, "offline", false, "skip the DNS checks")
	f.StringVar(&o.resolver, "resolver", "", "DNS server HOST:PORT (default: /etc/resolv.conf)")
	f.DurationVar(&o.timeout, "timeout", 10*time.Second, "deadline for all DNS checks")
	f.BoolVar(&o.noRedact, "no-redact", false, "keep recipient addresses in the error messages")
	f.StringVar(&o.template, "template", "", "render with this Go text/template instead (fields: see -o json)")
	return cmd
}

func runTicket(ctx context.Context, app *App, g *globals, o *ticketOpts) error {
	format := g.output
	if format == "table" || format == "text" {
		format = "text"
	} else if _, err := report.ParseFormat(format, report.FormatJSON, report.FormatMarkdown); err != nil {
		return usagef("--output %q: ticket prints text, markdown or json", g.output)
	}
	opts := analyze.TicketOptions{Redact: !o.noRedact}
	contact := o.contact
	remediation, capText, ips := o.remediation, o.cap, o.ips
	if o.config != "" {
		b, err := os.ReadFile(o.config)
		if err != nil {
			return &inputError{fmt.Errorf("--config: %w", err)}
		}
		var cfg ticketConfig
		if err := yaml.Unmarshal(b, &cfg); err != nil {
			return &inputError{fmt.Errorf("--config %s: %w", o.config, err)}
		}
		contact = mergeContact(contact, cfg.Contact)
		if len(remediation) == 0 {
			remediation = cfg.Remediation
		}
		if capText == "" {
			capText = cfg.Cap
		}
		if len(ips) == 0 {
			ips = cfg.IPs
		}
	}
	if contact.SelfDescription != "" {
		v, ok := analyze.NormalizeChoice(contact.SelfDescription, analyze.SelfDescriptions, analyze.SelfDescriptionAliases)
		if !ok {
			return usagef("self description %q: choose esp, isp, business, university, other (or the form's wording)", contact.SelfDescription)
		}
		contact.SelfDescription = v
	}
	if contact.ServerType != "" {
		v, ok := analyze.NormalizeChoice(contact.ServerType, analyze.ServerTypes, nil)
		if !ok {
			return usagef("server type %q: choose dedicated, shared or unknown", contact.ServerType)
		}
		contact.ServerType = v
	}
	if capText != "" {
		l, err := analyze.ParseLimit(capText)
		if err != nil {
			return usagef("--cap: %v", err)
		}
		opts.Cap = &l
	}
	var tmpl string
	if o.template != "" {
		b, err := os.ReadFile(o.template)
		if err != nil {
			return &inputError{fmt.Errorf("--template: %w", err)}
		}
		tmpl = string(b)
	}
	store, err := app.openExisting(ctx, g)
	if err != nil {
		return err
	}
	defer store.Close()
	bundled, err := store.HasSource(ctx, bundledSource)
	if err != nil {
		return &dbError{err}
	}
	if bundled && contact.SendingDomain == "" {
		// The bundled example says who it is; the person's details stay missing.
		contact.SendingDomain = example.Facts.SendingDomain
		if contact.ServerType == "" {
			contact.ServerType = "Dedicated"
		}
	}
	opts.Contact, opts.Remediation = contact, remediation
	// First the ticket without DNS, to know the IPs Microsoft deferred.
	t, err := analyze.DraftTicket(ctx, store, opts)
	if err != nil {
		return &dbError{err}
	}
	if len(ips) == 0 {
		ips = t.Evidence.IPs
	}
	switch {
	case o.offline:
		opts.AuthSkipped = "DNS checks skipped (--offline)."
	case contact.SendingDomain == "":
		opts.AuthSkipped = "DNS checks not run: give --domain to include SPF, DKIM, DMARC and reverse DNS results."
	default:
		rep, err := runAuthChecks(ctx, app, contact.SendingDomain, ips, o.selectors, o.resolver, o.timeout, bundled)
		if err != nil {
			return err
		}
		for _, f := range rep.Findings {
			opts.Auth = append(opts.Auth, analyze.AuthFinding{ID: f.ID, Severity: string(f.Severity), Subject: f.Subject, Message: f.Message})
		}
	}
	if opts.Auth != nil || opts.AuthSkipped != "" {
		if t, err = analyze.DraftTicket(ctx, store, opts); err != nil {
			return &dbError{err}
		}
	}
	switch {
	case tmpl != "":
		return report.TicketTemplate(app.Stdout, t, tmpl)
	case format == "json":
		return report.Printer{W: app.Stdout, Format: report.FormatJSON}.Print(report.Doc{Value: t})
	case format == "markdown":
		return report.TicketMarkdown(app.Stdout, t)
	}
	return report.TicketText(app.Stdout, t)
}

func mergeContact(flags, file analyze.Contact) analyze.Contact {
	pick := func(a, b string) string {
		if a != "" {
			return a
		}
		return b
	}
	return analyze.Contact{Name: pick(flags.Name, file.Name), Email: pick(flags.Email, file.Email), Website: pick(flags.Website, file.Website),
		SelfDescription: pick(flags.SelfDescription, file.SelfDescription), ServerType: pick(flags.ServerType, file.ServerType),
		TimeZone: pick(flags.TimeZone, file.TimeZone), SendingDomain: pick(flags.SendingDomain, file.SendingDomain)}
}

// runAuthChecks runs the DNS checks for a domain and IPs; the bundled
// example's DNS is answered from its bundled zone.
func runAuthChecks(ctx context.Context, app *App, domain string, ips, selectors []string, resolver string, timeout time.Duration, bundled bool) (*checks.Report, error) {
	copts := checks.Options{Domain: domain, Selectors: selectors, Recipients: []string{"hotmail.com"}, Timeout: timeout}
	for _, s := range ips {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return nil, usagef("--ip %q: not an IP address", s)
		}
		copts.IPs = append(copts.IPs, a)
	}
	if bundled && resolver == "" && domain == example.Facts.SendingDomain {
		zr, err := checks.NewZoneResolver(example.Zone)
		if err != nil {
			return nil, errors.New("bundled zone: " + err.Error())
		}
		copts.Resolver = zr
	} else {
		r, err := app.NewResolver(resolver, queryTimeout(timeout))
		if err != nil {
			return nil, usageErr(err)
		}
		copts.Resolver = r
	}
	rep := checks.Run(ctx, copts)
	return &rep, nil
}

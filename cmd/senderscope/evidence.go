package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/spf13/pflag"

	"github.com/senderscope/senderscope/analyze"
	"github.com/senderscope/senderscope/checks"
	"github.com/senderscope/senderscope/ingest"
	"github.com/senderscope/senderscope/ingest/example"
	"github.com/senderscope/senderscope/report"
)

// evidenceOpts are the flags investigate and report share: the sender whose
// DNS to check and the knobs of the analyses.
type evidenceOpts struct {
	domain    string
	ips       []string
	selectors []string
	offline   bool
	resolver  string
	timeout   time.Duration
	limit     string
	maxDelay  string
	lookback  string
}

func (o *evidenceOpts) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.domain, "domain", "", "the sending domain to check (From, DKIM d=, MAIL FROM)")
	f.StringSliceVar(&o.ips, "ip", nil, "a sending IP to check (repeatable; default: the IPs in the data)")
	f.StringSliceVar(&o.selectors, "selector", nil, "DKIM selector to look up (repeatable)")
	f.BoolVar(&o.offline, "offline", false, "skip the DNS checks")
	f.StringVar(&o.resolver, "resolver", "", "DNS server HOST:PORT (default: /etc/resolv.conf)")
	f.DurationVar(&o.timeout, "timeout", 10*time.Second, "deadline for all DNS checks")
	f.StringVar(&o.limit, "limit", "10/1m", "the per-IP limit whose cost to show")
	f.StringVar(&o.maxDelay, "max-delay", "5m", "delay budget for the recommended limit (p95)")
	f.StringVar(&o.lookback, "lookback", "24h", "how far before the first deferral to look for bursts")
}

// investigateOptions reads the analysis flags; their errors are usage errors.
func (o *evidenceOpts) investigateOptions() (analyze.InvestigateOptions, error) {
	lim, err := analyze.ParseLimit(o.limit)
	if err != nil {
		return analyze.InvestigateOptions{}, usageErr(err)
	}
	maxDelay, err := parseDuration("--max-delay", o.maxDelay)
	if err != nil {
		return analyze.InvestigateOptions{}, err
	}
	lookback, err := parseDuration("--lookback", o.lookback)
	if err != nil {
		return analyze.InvestigateOptions{}, err
	}
	return analyze.InvestigateOptions{Provider: analyze.ProviderMicrosoft, Lookback: lookback, Limit: lim, MaxDelay: maxDelay}, nil
}

// errNoEvents: there is nothing to investigate; each command says what to do.
var errNoEvents = errors.New("the database holds no events to investigate")

// gatherEvidence fills view from the store: what it holds, the
// investigation, the DNS checks and the next steps. bundled says the store
// holds the bundled example, whose domain, IPs and zone stand in for flags.
// limitSection names where the output shows the limit, for the next steps.
func gatherEvidence(ctx context.Context, app *App, store *ingest.Store, o *evidenceOpts, aopts analyze.InvestigateOptions, bundled bool, limitSection string, view *report.InvestigationView) (*ingest.Extent, error) {
	ov, err := store.Extent(ctx)
	if err != nil {
		return nil, &dbError{err}
	}
	view.Events, view.First, view.Last = ov.Events, ov.First, ov.Last
	if ov.Events == 0 {
		return ov, errNoEvents
	}
	inv, err := analyze.Investigate(ctx, store, aopts)
	if err != nil {
		return nil, &dbError{err}
	}
	view.Investigation = inv
	domain, ips := o.domain, o.ips
	if bundled && domain == "" {
		domain, ips = example.Facts.SendingDomain, example.Facts.IPs
	}
	if len(ips) == 0 {
		ips = ov.IPs
	}
	switch {
	case o.offline:
		view.ChecksSkipped = "DNS checks skipped (--offline)."
	case domain == "":
		view.ChecksSkipped = "DNS checks skipped: give --domain (and --ip) to check SPF, DKIM, DMARC, reverse DNS and block lists."
	default:
		copts := checks.Options{Domain: domain, Selectors: o.selectors, Recipients: []string{"hotmail.com"}, Timeout: o.timeout}
		for _, s := range ips {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, usagef("--ip %q: not an IP address", s)
			}
			copts.IPs = append(copts.IPs, a)
		}
		if bundled && o.resolver == "" {
			zr, err := checks.NewZoneResolver(example.Zone)
			if err != nil {
				return nil, fmt.Errorf("bundled zone: %w", err)
			}
			copts.Resolver = zr
		} else {
			r, err := app.NewResolver(o.resolver, queryTimeout(o.timeout))
			if err != nil {
				return nil, usageErr(err)
			}
			copts.Resolver = r
		}
		rep := checks.Run(ctx, copts)
		view.Checks = &rep
	}
	view.Next = nextSteps(inv, domain, limitSection)
	return ov, nil
}

func nextSteps(inv *analyze.Investigation, domain, limitSection string) []string {
	var out []string
	if inv.IncidentStart != nil {
		out = append(out, fmt.Sprintf("Cap sends to Microsoft per IP (see %s) and keep retrying; do not raise volume until deferrals stop.", limitSection))
		d := domain
		if d == "" {
			d = "YOUR-DOMAIN"
		}
		out = append(out, fmt.Sprintf("Draft the request to Microsoft's sender support: senderscope ticket --domain %s --remediation \"capped Microsoft at N/min per IP\"", d))
	}
	out = append(out, "Look closer: senderscope spikes, senderscope onset, senderscope rates --provider microsoft, senderscope simulate --max-delay 5m")
	return out
}

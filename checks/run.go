package checks

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout is the overall deadline of a Run when Options.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// Options says what Run checks.
type Options struct {
	Domain    string       // the sending (From / MAIL FROM) domain
	IPs       []netip.Addr // sending IPs
	Selectors []string     // DKIM selectors to look up, on top of the probe
	NoProbe   bool         // skip probing the common DKIM selectors
	HELO      string
	MailFrom  string // MAIL FROM address for SPF; postmaster@Domain when empty
	// Message is a raw RFC 5322 message whose DKIM signatures are verified
	// and whose From domain is used for DMARC.
	Message    []byte
	Recipients []string    // recipient domains whose receiving system is reported
	Checks     []CheckName // empty: all
	// Timeout is the deadline of the whole run: whatever has not answered
	// by then becomes a temperror finding.
	Timeout    time.Duration
	Resolver   Resolver
	DNSBLZones []DNSBLZone // nil: the built-in list
}

// Report is everything Run found. Sections are nil for checks not run.
type Report struct {
	Domain   string         `json:"domain"`
	IPs      []string       `json:"ips,omitempty"`
	Checks   []CheckName    `json:"checks"`
	Findings []Finding      `json:"findings"`
	SPF      *SPFReport     `json:"spf,omitempty"`
	DKIM     *DKIMReport    `json:"dkim,omitempty"`
	DMARC    *DMARCReport   `json:"dmarc,omitempty"`
	RDNS     []RDNSResult   `json:"rdns,omitempty"`
	DNSBL    *DNSBLReport   `json:"dnsbl,omitempty"`
	MX       *MXReport      `json:"mx,omitempty"`
	Worst    Severity       `json:"worst"`
	Counts   map[string]int `json:"counts"` // findings per severity
}

// Failed reports whether any finding has severity fail.
func (r Report) Failed() bool { return r.Worst == SeverityFail }

// Run performs the requested checks against one domain within the deadline.
// It never returns a Go error: problems, DNS timeouts included, are findings.
func Run(ctx context.Context, o Options) Report {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	domain := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(o.Domain), "."))
	rep := Report{Domain: domain, Checks: o.Checks}
	if len(rep.Checks) == 0 {
		rep.Checks = AllChecks()
	}
	for _, ip := range o.IPs {
		rep.IPs = append(rep.IPs, ip.Unmap().String())
	}
	want := func(c CheckName) bool { return slices.Contains(rep.Checks, c) }
	var pre []Finding

	r := o.Resolver
	if r == nil {
		cfg, err := SystemClientConfig("")
		if err == nil {
			r, err = NewClient(cfg)
		}
		if err != nil {
			pre = append(pre, Finding{ID: "run.no_resolver", Check: rep.Checks[0], Severity: SeverityFail, Subject: domain, Message: "no DNS resolver: " + err.Error() + "; give --resolver HOST:PORT"})
			rep.finish(pre)
			return rep
		}
	}
	r = NewCachingResolver(r)

	var msg *Message
	if len(o.Message) > 0 {
		m, err := ParseMessage(o.Message)
		if err != nil {
			pre = append(pre, Finding{ID: "dkim.message_unreadable", Check: CheckDKIM, Severity: SeverityFail, Subject: "message", Message: err.Error()})
		} else {
			msg = m
			if domain == "" {
				domain, rep.Domain = m.FromDomain, m.FromDomain
			}
		}
	}
	needsDomain := want(CheckSPF) || want(CheckDKIM) || want(CheckDMARC) || want(CheckMX)
	if why := checkName(domain); needsDomain && (why != "" || !strings.Contains(domain, ".")) {
		if why == "" {
			why = "not a multi-label domain name"
		}
		pre = append(pre, Finding{ID: "run.bad_domain", Check: rep.Checks[0], Severity: SeverityFail, Subject: domain, Message: "domain " + domain + " cannot be checked: " + why})
		rep.finish(pre)
		return rep
	}

	// DMARC needs SPF and DKIM results, so they run even when only DMARC
	// was asked for; their sections are reported only when asked for.
	var wg sync.WaitGroup
	var spf *SPFReport
	var dkim *DKIMReport
	if want(CheckSPF) || want(CheckDMARC) {
		wg.Go(func() {
			spf = InspectSPF(ctx, r, SPFOptions{Domain: domain, IPs: o.IPs, MailFrom: o.MailFrom, HELO: o.HELO})
		})
	}
	if want(CheckDKIM) || want(CheckDMARC) {
		wg.Go(func() {
			dkim = InspectDKIM(ctx, r, DKIMOptions{Domain: domain, Selectors: o.Selectors, Probe: !o.NoProbe, Message: msg})
		})
	}
	var rdns []RDNSResult
	if want(CheckRDNS) || want(CheckDMARC) {
		rdns = make([]RDNSResult, len(o.IPs))
		for i, ip := range o.IPs {
			wg.Go(func() { rdns[i] = InspectRDNS(ctx, r, ip, o.HELO) })
		}
	}
	if want(CheckDNSBL) {
		zones := o.DNSBLZones
		if zones == nil {
			var err error
			if zones, err = DefaultDNSBLZones(); err != nil {
				pre = append(pre, Finding{ID: "dnsbl.knowledge_error", Check: CheckDNSBL, Severity: SeverityWarn, Subject: domain, Message: err.Error()})
			}
		}
		wg.Go(func() { rep.DNSBL = InspectDNSBL(ctx, r, o.IPs, zones) })
	}
	if want(CheckMX) {
		wg.Go(func() { rep.MX = InspectMX(ctx, r, MXOptions{Domain: domain, Recipients: o.Recipients}) })
	}
	wg.Wait()

	if want(CheckDMARC) {
		dopts := DMARCOptions{Domain: domain, Message: msg, RDNS: rdns}
		if spf != nil {
			dopts.SPF = spf.Evaluations
		}
		if dkim != nil {
			dopts.DKIMKeys = dkim.Keys
		}
		rep.DMARC = InspectDMARC(ctx, r, dopts)
	}
	if want(CheckSPF) {
		rep.SPF = spf
	}
	if want(CheckDKIM) {
		rep.DKIM = dkim
	}
	if want(CheckRDNS) {
		rep.RDNS = rdns
	}
	rep.finish(pre)
	return rep
}

// finish gathers the findings in check order and sums them up.
func (rep *Report) finish(pre []Finding) {
	all := append([]Finding{}, pre...)
	if rep.SPF != nil {
		all = append(all, rep.SPF.Findings...)
	}
	if rep.DKIM != nil {
		all = append(all, rep.DKIM.Findings...)
	}
	if rep.DMARC != nil {
		all = append(all, rep.DMARC.Findings...)
	}
	for _, x := range rep.RDNS {
		all = append(all, x.Findings...)
	}
	if rep.DNSBL != nil {
		all = append(all, rep.DNSBL.Findings...)
	}
	if rep.MX != nil {
		all = append(all, rep.MX.Findings...)
	}
	rep.Findings = all
	rep.Worst = Worst(all)
	rep.Counts = map[string]int{}
	for _, f := range all {
		rep.Counts[string(f.Severity)]++
	}
}

package checks

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// RFC 7208 4.6.4 processing limits.
const (
	spfMaxLookups      = 10
	spfMaxVoidLookups  = 2
	spfMaxAddrLookups  = 10 // per mx or ptr evaluation
	spfMaxIncludeDepth = 20 // only a guard: the lookup limit ends loops first
)

// SPFRequest is the input of check_host().
type SPFRequest struct {
	IP       netip.Addr `json:"ip"`
	MailFrom string     `json:"mail_from,omitempty"` // "" checks the HELO identity
	HELO     string     `json:"helo,omitempty"`
	// Receiver is the %{r} macro; "unknown" when empty.
	Receiver string `json:"receiver,omitempty"`
	// DefaultExplanation is used for a fail result when the record has no
	// usable exp= (RFC 7208 6.2 lets the receiver choose it).
	DefaultExplanation string `json:"-"`
	// Now is the %{t} macro's clock; time.Now when nil.
	Now func() time.Time `json:"-"`
}

// SPFOutcome is the result of check_host() and how it was reached.
type SPFOutcome struct {
	Result   SPFResult `json:"result"`
	Identity string    `json:"identity"` // "mailfrom" or "helo"
	Domain   string    `json:"domain"`
	Sender   string    `json:"sender"`
	IP       string    `json:"ip"`
	// Directive is the term of the checked record (or of its redirect
	// target) whose qualifier gave the result, as written ("-all",
	// "include:_spf.example.net"); "" when the default result applied.
	Directive string `json:"directive,omitempty"`
	// Mechanism is the innermost mechanism that matched: inside an include
	// it is the mechanism of the included record that passed, e.g.
	// "ip4:192.0.2.0/24".
	Mechanism string `json:"mechanism,omitempty"`
	// MechanismDomain is the domain whose record holds Mechanism.
	MechanismDomain string `json:"mechanism_domain,omitempty"`
	// Path is how evaluation reached that record: the checked domain, then
	// each "include:..." or "redirect=..." followed.
	Path        []string `json:"path,omitempty"`
	Explanation string   `json:"explanation,omitempty"`
	// Problem says what went wrong for permerror and temperror.
	Problem     string   `json:"problem,omitempty"`
	Lookups     int      `json:"dns_lookups"`
	VoidLookups int      `json:"void_lookups"`
	Record      string   `json:"record,omitempty"` // the record of Domain
	Evidence    []string `json:"evidence,omitempty"`
}

// spfEval is the state of one check_host() run, shared by every recursive
// call: the lookup counters are per SPF check, not per record.
type spfEval struct {
	ctx      context.Context
	r        Resolver
	ip       netip.Addr
	helo     string
	sender   string
	local    string
	sdomain  string
	receiver string
	now      time.Time
	defExp   string

	lookups  int
	voids    int
	evidence []string

	pDone     bool
	pValue    string
	topRecord string
}

// hostResult is what one check_host() call returns.
type hostResult struct {
	result      SPFResult
	directive   string
	mechanism   string
	mechDomain  string
	path        []string
	explanation string
	problem     string
}

// EvaluateSPF runs RFC 7208 check_host() for the MAIL FROM identity, or for the
// HELO identity when MailFrom is empty. DNS failures become temperror, never
// a Go error; the context's deadline bounds the whole evaluation.
func EvaluateSPF(ctx context.Context, r Resolver, req SPFRequest) SPFOutcome {
	ip := req.IP.Unmap()
	out := SPFOutcome{IP: ip.String(), Identity: "mailfrom"}
	sender := req.MailFrom
	if sender == "" {
		out.Identity = "helo"
		sender = "postmaster@" + req.HELO
	}
	local, domain := splitSender(sender)
	out.Sender = sender
	out.Domain = domain
	now := time.Now
	if req.Now != nil {
		now = req.Now
	}
	e := &spfEval{
		ctx: ctx, r: r, ip: ip, helo: req.HELO, sender: sender, local: local, sdomain: domain,
		receiver: req.Receiver, now: now(), defExp: req.DefaultExplanation,
	}
	if !ip.IsValid() {
		out.Result = SPFPermError
		out.Problem = "no valid client IP address"
		return out
	}
	if why := spfDomainProblem(domain); why != "" {
		// RFC 7208 4.3: a malformed or single-label domain gives "none"
		out.Result = SPFNone
		out.Problem = why
		return out
	}
	hr := e.checkHost(domain, true, 0, []string{strings.ToLower(domain)})
	out.Result = hr.result
	out.Directive = hr.directive
	out.Mechanism = hr.mechanism
	out.MechanismDomain = hr.mechDomain
	out.Path = hr.path
	out.Explanation = hr.explanation
	out.Problem = hr.problem
	out.Lookups = e.lookups
	out.VoidLookups = e.voids
	out.Evidence = e.evidence
	out.Record = e.topRecord
	return out
}

// spfDomainProblem says why a domain cannot be an SPF domain (RFC 7208 4.3).
func spfDomainProblem(d string) string {
	if d == "" {
		return "no domain to check"
	}
	if strings.HasPrefix(d, "[") {
		return "domain literal " + d + " is not a domain name"
	}
	if _, err := netip.ParseAddr(d); err == nil {
		return d + " is an IP address, not a domain name"
	}
	if why := checkName(d); why != "" {
		return "malformed domain " + d + ": " + why
	}
	if !strings.Contains(strings.TrimSuffix(d, "."), ".") {
		return d + " is not a multi-label domain name"
	}
	for i := 0; i < len(d); i++ {
		if c := d[i]; c <= 0x20 || c >= 0x7f {
			return "domain " + d + " contains a space, control or non-ASCII byte"
		}
	}
	return ""
}

func (e *spfEval) env(domain string) *macroEnv {
	return &macroEnv{
		sender: e.sender, local: e.local, senderDomain: e.sdomain, domain: domain,
		ip: e.ip, helo: e.helo, receiver: e.receiver, now: e.now, validated: e.validatedName(domain),
	}
}

func perm(format string, a ...any) hostResult {
	return hostResult{result: SPFPermError, problem: fmt.Sprintf(format, a...)}
}

func temp(format string, a ...any) hostResult {
	return hostResult{result: SPFTempError, problem: fmt.Sprintf(format, a...)}
}

// fetchSPF finds the one SPF record of domain (RFC 7208 4.4, 4.5).
func (e *spfEval) fetchSPF(domain string) (string, *hostResult) {
	ans, err := e.r.Lookup(e.ctx, domain, TypeTXT)
	e.evidence = append(e.evidence, ans.Evidence()...)
	if err != nil {
		if ans.Status == StatusBadName {
			return "", &hostResult{result: SPFNone, problem: "malformed domain " + domain}
		}
		hr := temp("TXT lookup for %s failed: %v", domain, err)
		return "", &hr
	}
	var found []string
	for _, t := range ans.Texts() {
		if isSPFRecord(t) {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return "", &hostResult{result: SPFNone, problem: "no SPF record at " + domain}
	case 1:
		return found[0], nil
	}
	hr := perm("%s publishes %d SPF records; exactly one is allowed (RFC 7208 4.5)", domain, len(found))
	return "", &hr
}

// checkHost is check_host(<ip>, <domain>, <sender>). wantExp is false inside
// include, whose explanation is never used (RFC 7208 6.2).
func (e *spfEval) checkHost(domain string, wantExp bool, depth int, path []string) hostResult {
	if depth > spfMaxIncludeDepth {
		return perm("include/redirect nesting deeper than %d", spfMaxIncludeDepth)
	}
	if why := spfDomainProblem(domain); why != "" {
		return hostResult{result: SPFNone, problem: why}
	}
	txt, hr := e.fetchSPF(domain)
	if hr != nil {
		hr.path = path
		return *hr
	}
	if depth == 0 {
		e.topRecord = txt
	}
	rec, err := ParseSPF(txt)
	if err != nil {
		r := perm("%s: %v", domain, err)
		r.path = path
		return r
	}
	for _, t := range rec.directives {
		if t.lookupTerm() {
			e.lookups++
			if e.lookups > spfMaxLookups {
				r := perm("more than %d DNS-querying mechanisms and modifiers (at %q in %s, RFC 7208 4.6.4)", spfMaxLookups, t.raw, domain)
				r.path = path
				return r
			}
		}
		match, inner, res := e.evalMechanism(t, domain, depth, path)
		if res != nil {
			if len(res.path) == 0 {
				res.path = path
			}
			if res.mechanism == "" {
				res.mechanism, res.mechDomain = t.raw, domain
			}
			return *res
		}
		if !match {
			continue
		}
		out := hostResult{result: t.result(), directive: t.raw, mechanism: t.raw, mechDomain: domain, path: path}
		if inner != nil {
			// an include matched: report the mechanism inside it that passed
			out.mechanism, out.mechDomain, out.path = inner.mechanism, inner.mechDomain, inner.path
		}
		if out.result == SPFFail && wantExp {
			out.explanation = e.explain(rec, domain)
		}
		return out
	}
	if rec.redirect != nil {
		e.lookups++
		if e.lookups > spfMaxLookups {
			r := perm("more than %d DNS-querying mechanisms and modifiers (at %q in %s, RFC 7208 4.6.4)", spfMaxLookups, rec.redirect.raw, domain)
			r.path = path
			return r
		}
		target, ok := e.expandDomain(rec.redirect.value, domain)
		if !ok || checkName(target) != "" {
			r := perm("redirect target %q of %s is not a valid domain (RFC 7208 6.1)", target, domain)
			r.path = path
			return r
		}
		sub := e.checkHost(target, wantExp, depth+1, appendPath(path, "redirect="+target))
		if sub.result == SPFNone {
			sub.result = SPFPermError
			sub.problem = fmt.Sprintf("redirect=%s from %s found no SPF record (RFC 7208 6.1)", target, domain)
		}
		return sub
	}
	return hostResult{result: SPFNeutral, path: path}
}

func appendPath(path []string, step string) []string {
	out := make([]string, len(path), len(path)+1)
	copy(out, path)
	return append(out, step)
}

// expandDomain expands a domain-spec into a query name.
func (e *spfEval) expandDomain(spec, domain string) (string, bool) {
	toks, err := parseMacroString(spec, macroDomain)
	if err != nil {
		return "", false
	}
	return targetName(expandMacros(toks, e.env(domain))), true
}

// evalMechanism decides whether one directive matches. res is non-nil when
// the mechanism ends evaluation with an error result; inner is the deciding
// mechanism of a matching include.
func (e *spfEval) evalMechanism(t spfTerm, domain string, depth int, path []string) (match bool, inner *hostResult, res *hostResult) {
	target := domain
	if t.domain != "" {
		var ok bool
		if target, ok = e.expandDomain(t.domain, domain); !ok {
			r := perm("cannot expand %q", t.domain)
			return false, nil, &r
		}
	}
	switch t.mech {
	case "all":
		return true, nil, nil
	case "ip4", "ip6":
		return t.prefix.Contains(e.ip), nil, nil
	case "include":
		if checkName(target) != "" {
			r := perm("include target %q is not a valid domain", target)
			return false, nil, &r
		}
		sub := e.checkHost(target, false, depth+1, appendPath(path, "include:"+target))
		switch sub.result {
		case SPFPass:
			return true, &sub, nil
		case SPFTempError, SPFPermError:
			return false, nil, &sub
		case SPFNone:
			r := perm("include:%s found no SPF record (RFC 7208 5.2)", target)
			r.mechanism, r.mechDomain = t.raw, domain
			return false, nil, &r
		}
		return false, nil, nil
	}

	// The remaining mechanisms query the DNS; a target that cannot be a DNS
	// name is treated as not existing (RFC 7208 4.8, 5/10).
	if checkName(target) != "" {
		return false, nil, nil
	}
	switch t.mech {
	case "a":
		return e.matchHost(target, t, true)
	case "mx":
		return e.matchMX(target, t)
	case "ptr":
		return e.matchPTR(target), nil, nil
	case "exists":
		ans, err := e.r.Lookup(e.ctx, target, TypeA)
		e.evidence = append(e.evidence, ans.Evidence()...)
		if err != nil {
			r := temp("exists:%s: %v", target, err)
			return false, nil, &r
		}
		if ans.Status.Void() {
			return false, nil, e.void(t)
		}
		return len(ans.Records) > 0, nil, nil
	}
	r := perm("unknown mechanism %q", t.mech)
	return false, nil, &r
}

// void counts a void lookup and returns a permerror past the limit.
func (e *spfEval) void(t spfTerm) *hostResult {
	e.voids++
	if e.voids > spfMaxVoidLookups {
		r := perm("more than %d void lookups (at %q, RFC 7208 4.6.4)", spfMaxVoidLookups, t.raw)
		return &r
	}
	return nil
}

// addrType is the address record type for the client's family.
func (e *spfEval) addrType() RRType {
	if e.ip.Is4() {
		return TypeA
	}
	return TypeAAAA
}

// inCIDR applies the mechanism's CIDR lengths to addr.
func (e *spfEval) inCIDR(addr netip.Addr, t spfTerm) bool {
	addr = addr.Unmap()
	if addr.Is4() != e.ip.Is4() {
		return false
	}
	bits := 32
	if addr.Is4() {
		if t.cidr4 >= 0 {
			bits = t.cidr4
		}
	} else {
		bits = 128
		if t.cidr6 >= 0 {
			bits = t.cidr6
		}
	}
	p, err := addr.Prefix(bits)
	return err == nil && p.Contains(e.ip)
}

func (e *spfEval) matchHost(target string, t spfTerm, countVoid bool) (bool, *hostResult, *hostResult) {
	ans, err := e.r.Lookup(e.ctx, target, e.addrType())
	e.evidence = append(e.evidence, ans.Evidence()...)
	if err != nil {
		r := temp("%s lookup for %s: %v", e.addrType(), target, err)
		return false, nil, &r
	}
	if ans.Status.Void() {
		if countVoid {
			return false, nil, e.void(t)
		}
		return false, nil, nil
	}
	for _, a := range ans.Addrs() {
		if e.inCIDR(a, t) {
			return true, nil, nil
		}
	}
	return false, nil, nil
}

func (e *spfEval) matchMX(target string, t spfTerm) (bool, *hostResult, *hostResult) {
	ans, err := e.r.Lookup(e.ctx, target, TypeMX)
	e.evidence = append(e.evidence, ans.Evidence()...)
	if err != nil {
		r := temp("MX lookup for %s: %v", target, err)
		return false, nil, &r
	}
	if ans.Status.Void() {
		return false, nil, e.void(t)
	}
	var hosts []string
	for _, rec := range ans.Records {
		if rec.Target != "" { // "." is a null MX (RFC 7505): nothing to look up
			hosts = append(hosts, rec.Target)
		}
	}
	if len(hosts) > spfMaxAddrLookups {
		r := perm("mx:%s has %d MX hosts; more than %d address lookups (RFC 7208 4.6.4)", target, len(hosts), spfMaxAddrLookups)
		return false, nil, &r
	}
	var failed *hostResult
	for _, h := range hosts {
		m, _, res := e.matchHost(h, t, false)
		if m {
			return true, nil, nil
		}
		if res != nil && failed == nil {
			failed = res
		}
	}
	return false, nil, failed
}

// validatedNames returns the client's PTR names that resolve back to it
// (RFC 7208 5.5), at most 10 PTR names tried; DNS errors skip a name.
func (e *spfEval) validatedNames() ([]string, bool) {
	ans, err := e.r.Lookup(e.ctx, reverseName(e.ip), TypePTR)
	e.evidence = append(e.evidence, ans.Evidence()...)
	if err != nil {
		return nil, false
	}
	var names []string
	for i, rec := range ans.Records {
		if i >= spfMaxAddrLookups {
			break
		}
		a, err := e.r.Lookup(e.ctx, rec.Target, e.addrType())
		if err != nil {
			continue
		}
		for _, addr := range a.Addrs() {
			if addr.Unmap() == e.ip {
				names = append(names, rec.Target)
				break
			}
		}
	}
	return names, ans.Status.Void()
}

func (e *spfEval) matchPTR(target string) bool {
	names, _ := e.validatedNames()
	for _, n := range names {
		if domainWithin(n, target) {
			return true
		}
	}
	return false
}

// domainWithin reports whether name is domain or a subdomain of it,
// ignoring case and trailing dots.
func domainWithin(name, domain string) bool {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	return name == domain || strings.HasSuffix(name, "."+domain)
}

// validatedName is the %{p} macro (RFC 7208 7.3): the validated name equal
// to the domain, else one under it, else any, else "unknown".
func (e *spfEval) validatedName(domain string) func() string {
	return func() string {
		if !e.pDone {
			e.pDone = true
			names, _ := e.validatedNames()
			e.pValue = "unknown"
			for _, n := range names {
				if strings.EqualFold(strings.TrimSuffix(n, "."), domain) {
					e.pValue = n
				}
			}
			if e.pValue == "unknown" {
				for _, n := range names {
					if domainWithin(n, domain) {
						e.pValue = n
						break
					}
				}
			}
			if e.pValue == "unknown" && len(names) > 0 {
				e.pValue = names[0]
			}
		}
		return e.pValue
	}
}

// explain evaluates exp= for a fail result (RFC 7208 6.2): any problem
// with it means the default explanation is used.
func (e *spfEval) explain(rec *SPFRecord, domain string) string {
	if rec.exp == nil {
		return e.defExp
	}
	target, ok := e.expandDomain(rec.exp.value, domain)
	if !ok || checkName(target) != "" {
		return e.defExp
	}
	ans, err := e.r.Lookup(e.ctx, target, TypeTXT)
	if err != nil {
		return e.defExp
	}
	texts := ans.Texts()
	if len(texts) != 1 {
		return e.defExp
	}
	for i := 0; i < len(texts[0]); i++ {
		if c := texts[0][i]; c < 0x20 || c > 0x7e {
			return e.defExp
		}
	}
	toks, err := parseMacroString(texts[0], macroExplain)
	if err != nil {
		return e.defExp
	}
	return expandMacros(toks, e.env(domain))
}

// reverseName is the in-addr.arpa or ip6.arpa name of ip.
func reverseName(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is4() {
		b := ip.As4()
		return fmt.Sprintf("%d.%d.%d.%d.in-addr.arpa", b[3], b[2], b[1], b[0])
	}
	b := ip.As16()
	const hexdigits = "0123456789abcdef"
	out := make([]byte, 0, 72)
	for i := len(b) - 1; i >= 0; i-- {
		out = append(out, hexdigits[b[i]&0xf], '.', hexdigits[b[i]>>4], '.')
	}
	return string(out) + "ip6.arpa"
}

package checks

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
)

// SPFNode is one record of a domain's include/redirect tree, as the lint
// sees it: every include and redirect followed, whatever the client IP.
type SPFNode struct {
	Domain string `json:"domain"`
	// Via is how the parent reached this record: "include:x", "redirect=x",
	// "" for the checked domain.
	Via    string `json:"via,omitempty"`
	Record string `json:"record,omitempty"`
	// Status is ok, none, multiple, permerror, temperror, loop or macro (a
	// target that depends on the sender and was not followed).
	Status  string `json:"status"`
	Problem string `json:"problem,omitempty"`
	// Lookups counts this record's DNS-querying terms (include, a, mx, ptr,
	// exists, redirect); TotalLookups adds every record below it, i.e. the
	// worst case a receiver may have to spend on this branch.
	Lookups      int        `json:"lookups"`
	TotalLookups int        `json:"total_lookups"`
	Children     []*SPFNode `json:"children,omitempty"`

	terms     []spfTerm
	evidence  []string
	voidHosts []string // a/mx/exists targets that resolve to nothing
}

const spfLintMaxDepth = 12

// BuildSPFTree fetches domain's SPF record and every record it includes or
// redirects to.
func BuildSPFTree(ctx context.Context, r Resolver, domain string) *SPFNode {
	return buildSPFNode(ctx, r, strings.ToLower(strings.TrimSuffix(domain, ".")), "", 0, map[string]bool{})
}

func buildSPFNode(ctx context.Context, r Resolver, domain, via string, depth int, onPath map[string]bool) *SPFNode {
	n := &SPFNode{Domain: domain, Via: via, Status: "ok"}
	if onPath[domain] {
		n.Status, n.Problem = "loop", "already on the include/redirect path: evaluation would never end before the 10-lookup limit"
		return n
	}
	if depth > spfLintMaxDepth {
		n.Status, n.Problem = "permerror", "nesting too deep"
		return n
	}
	ans, err := r.Lookup(ctx, domain, TypeTXT)
	n.evidence = append(n.evidence, ans.Evidence()...)
	if err != nil {
		n.Status, n.Problem = "temperror", err.Error()
		if ans.Status == StatusBadName {
			n.Status = "none"
		}
		return n
	}
	var recs []string
	for _, t := range ans.Texts() {
		if isSPFRecord(t) {
			recs = append(recs, t)
		}
	}
	switch len(recs) {
	case 0:
		n.Status, n.Problem = "none", "no v=spf1 record"
		return n
	case 1:
	default:
		n.Status, n.Problem = "multiple", fmt.Sprintf("%d v=spf1 records", len(recs))
		n.Record = strings.Join(recs, " | ")
		return n
	}
	n.Record = recs[0]
	rec, err := ParseSPF(n.Record)
	if err != nil {
		n.Status, n.Problem = "permerror", err.Error()
		return n
	}
	n.terms = append(append([]spfTerm{}, rec.directives...), rec.modifiers...)
	onPath[domain] = true
	defer delete(onPath, domain)
	env := &macroEnv{domain: domain, local: "postmaster", senderDomain: domain, sender: "postmaster@" + domain}
	for _, t := range n.terms {
		if !t.lookupTerm() {
			continue
		}
		n.Lookups++
		spec := t.domain
		if t.name == "redirect" {
			spec = t.value
		}
		target := domain
		if spec != "" {
			if strings.Contains(strings.ReplaceAll(strings.ReplaceAll(spec, "%{d}", ""), "%{o}", ""), "%") {
				// depends on the sender or the client: cannot be followed statically
				if t.mech == "include" || t.name == "redirect" {
					n.Children = append(n.Children, &SPFNode{Domain: spec, Via: viaOf(t, spec), Status: "macro", Problem: "target depends on the sender or the client IP"})
				}
				continue
			}
			toks, _ := parseMacroString(spec, macroDomain)
			target = strings.ToLower(targetName(expandMacros(toks, env)))
		}
		switch {
		case t.mech == "include" || t.name == "redirect":
			if t.name == "redirect" && hasAll(rec) {
				continue // ignored when "all" is present (RFC 7208 6.1)
			}
			n.Children = append(n.Children, buildSPFNode(ctx, r, target, viaOf(t, target), depth+1, onPath))
		case t.mech == "a" || t.mech == "mx" || t.mech == "exists":
			qt := TypeA
			if t.mech == "mx" {
				qt = TypeMX
			}
			a, err := r.Lookup(ctx, target, qt)
			if err == nil && a.Status.Void() {
				if t.mech == "a" {
					// an IPv6-only host is not void for IPv6 clients
					if aaaa, err := r.Lookup(ctx, target, TypeAAAA); err == nil && !aaaa.Status.Void() {
						continue
					}
				}
				n.voidHosts = append(n.voidHosts, t.raw)
				n.evidence = append(n.evidence, a.Evidence()...)
			}
		}
	}
	n.TotalLookups = n.Lookups
	for _, c := range n.Children {
		n.TotalLookups += c.TotalLookups
	}
	return n
}

func viaOf(t spfTerm, target string) string {
	if t.name == "redirect" {
		return "redirect=" + target
	}
	return "include:" + target
}

func hasAll(rec *SPFRecord) bool {
	for _, d := range rec.directives {
		if d.mech == "all" {
			return true
		}
	}
	return false
}

// walk visits every node, depth first.
func (n *SPFNode) walk(fn func(*SPFNode, int)) {
	var rec func(*SPFNode, int)
	rec = func(x *SPFNode, depth int) {
		fn(x, depth)
		for _, c := range x.Children {
			rec(c, depth+1)
		}
	}
	rec(n, 0)
}

// Lines renders the tree with lookups per branch, one line per record.
func (n *SPFNode) Lines() []string {
	var out []string
	n.walk(func(x *SPFNode, depth int) {
		label := x.Domain
		if x.Via != "" {
			label = x.Via
		}
		line := fmt.Sprintf("%s%s: %d lookup(s) here, %d in this branch", strings.Repeat("  ", depth), label, x.Lookups, x.TotalLookups)
		if x.Status != "ok" {
			line += " [" + x.Status + "]"
		}
		out = append(out, line)
	})
	return out
}

// SPFReport is the SPF part of a report.
type SPFReport struct {
	Domain string `json:"domain"`
	Record string `json:"record,omitempty"`
	// Result is the check_host() result for the first --ip (the MAIL FROM
	// identity); Evaluations holds one outcome per IP.
	Result       SPFResult    `json:"result,omitempty"`
	Evaluations  []SPFOutcome `json:"evaluations,omitempty"`
	HELO         []SPFOutcome `json:"helo,omitempty"`
	Tree         *SPFNode     `json:"tree,omitempty"`
	TotalLookups int          `json:"total_lookups"`
	Findings     []Finding    `json:"findings"`
}

// SPFOptions says what to evaluate.
type SPFOptions struct {
	Domain   string
	IPs      []netip.Addr
	MailFrom string // "" means postmaster@Domain
	HELO     string
	Receiver string
}

// InspectSPF lints domain's SPF tree and evaluates check_host() for each
// IP.
func InspectSPF(ctx context.Context, r Resolver, o SPFOptions) *SPFReport {
	rep := &SPFReport{Domain: o.Domain}
	f := &findings{check: CheckSPF}
	tree := BuildSPFTree(ctx, r, o.Domain)
	rep.Tree = tree
	rep.Record = tree.Record
	rep.TotalLookups = tree.TotalLookups
	lintSPF(ctx, r, tree, f)

	mailFrom := o.MailFrom
	if mailFrom == "" {
		mailFrom = "postmaster@" + o.Domain
	}
	for _, ip := range o.IPs {
		out := EvaluateSPF(ctx, r, SPFRequest{IP: ip, MailFrom: mailFrom, HELO: o.HELO, Receiver: o.Receiver})
		rep.Evaluations = append(rep.Evaluations, out)
		spfResultFinding(f, out)
		if o.HELO != "" {
			h := EvaluateSPF(ctx, r, SPFRequest{IP: ip, HELO: o.HELO, Receiver: o.Receiver})
			rep.HELO = append(rep.HELO, h)
			heloFinding(f, h)
		}
	}
	if len(rep.Evaluations) > 0 {
		rep.Result = rep.Evaluations[0].Result
	}
	rep.Findings = f.list
	return rep
}

// spfResultFinding turns one MAIL FROM evaluation into a finding. Anything
// but pass fails: Microsoft's and Google's bulk-sender rules want SPF pass.
func spfResultFinding(f *findings, o SPFOutcome) {
	subject := o.IP
	where := ""
	if o.Mechanism != "" {
		where = fmt.Sprintf(" by %q in %s", o.Mechanism, o.MechanismDomain)
		if len(o.Path) > 1 {
			where += " via " + strings.Join(o.Path[1:], " > ")
		}
	}
	ev := append([]string{fmt.Sprintf("check_host(%s, %s, %s) = %s", o.IP, o.Domain, o.Sender, o.Result),
		fmt.Sprintf("%d DNS lookups, %d void lookups", o.Lookups, o.VoidLookups)}, o.Evidence...)
	id := "spf.result." + string(o.Result)
	switch o.Result {
	case SPFPass:
		f.add(id, SeverityOK, subject, "SPF pass for %s from %s: authorized%s", o.Sender, o.IP, where).with(ev...)
	case SPFFail, SPFSoftFail, SPFNeutral:
		f.add(id, SeverityFail, subject, "SPF %s for %s from %s: not authorized%s; bulk senders need SPF pass", o.Result, o.Sender, o.IP, where).with(ev...)
	case SPFNone:
		msg := "SPF none for " + o.Sender + ": no SPF record"
		if o.Problem != "" {
			msg += " (" + o.Problem + ")"
		}
		f.add(id, SeverityFail, subject, "%s", msg).with(ev...)
	case SPFPermError:
		f.add(id, SeverityFail, subject, "SPF permerror for %s from %s: %s", o.Sender, o.IP, o.Problem).with(ev...)
	case SPFTempError:
		f.add(id, SeverityWarn, subject, "SPF temperror for %s from %s: %s; receivers defer and retry", o.Sender, o.IP, o.Problem).with(ev...)
	}
}

func heloFinding(f *findings, o SPFOutcome) {
	id := "spf.helo." + string(o.Result)
	ev := []string{fmt.Sprintf("check_host(%s, %s, %s) = %s", o.IP, o.Domain, o.Sender, o.Result)}
	switch o.Result {
	case SPFPass:
		f.add(id, SeverityOK, o.IP, "HELO %s passes SPF for %s", o.Domain, o.IP).with(ev...)
	case SPFNone:
		f.add(id, SeverityInfo, o.IP, "HELO %s publishes no SPF record; receivers then use the MAIL FROM result", o.Domain).with(ev...)
	case SPFTempError:
		f.add(id, SeverityWarn, o.IP, "HELO %s: SPF temperror: %s", o.Domain, o.Problem).with(ev...)
	default:
		f.add(id, SeverityWarn, o.IP, "HELO %s gives SPF %s for %s %s", o.Domain, o.Result, o.IP, o.Problem).with(ev...)
	}
}

// lintSPF reports problems with the published records, whatever the IP.
func lintSPF(ctx context.Context, r Resolver, tree *SPFNode, f *findings) {
	d := tree.Domain
	switch tree.Status {
	case "none":
		f.add("spf.missing", SeverityFail, d, "%s publishes no SPF record: receivers get SPF none, and Microsoft and Google require SPF for bulk mail", d).with(tree.evidence...)
		return
	case "multiple":
		f.add("spf.multiple_records", SeverityFail, d, "%s publishes %s: receivers return permerror (RFC 7208 4.5)", d, tree.Problem).with(tree.evidence...)
		return
	case "temperror":
		f.add("spf.dns_error", SeverityWarn, d, "the SPF record of %s could not be read: %s", d, tree.Problem).with(tree.evidence...)
		return
	case "permerror":
		f.add("spf.syntax_error", SeverityFail, d, "the SPF record of %s is invalid: %s; every receiver returns permerror", d, tree.Problem).with(tree.Record)
		return
	}

	// The record itself.
	if n := len(tree.Record); n > 450 {
		f.add("spf.record_too_long", SeverityWarn, d, "the SPF record is %d octets; RFC 7208 3.4 advises staying under 450 so the answer fits a 512-octet UDP reply", n).with(tree.Record)
	}
	rec, _ := ParseSPF(tree.Record)
	var all *spfTerm
	for i := range rec.directives {
		if rec.directives[i].mech == "all" {
			all = &rec.directives[i]
			break
		}
	}
	switch {
	case all == nil && rec.redirect == nil:
		f.add("spf.no_all", SeverityWarn, d, "the SPF record has no \"all\" and no redirect: unlisted senders get neutral; end it with -all or ~all").with(tree.Record)
	case all != nil && all.qualifier == '+':
		f.add("spf.all_pass", SeverityFail, d, "%q authorizes every host on the Internet to send as %s", all.raw, d).with(tree.Record)
	case all != nil && all.qualifier == '?':
		f.add("spf.all_neutral", SeverityWarn, d, "%q gives unlisted hosts neutral, which protects nothing; use ~all or -all", all.raw).with(tree.Record)
	case all != nil && all.qualifier == '~':
		f.add("spf.all_softfail", SeverityOK, d, "the record ends in ~all (softfail for unlisted hosts)").with(tree.Record)
	case all != nil && all.qualifier == '-':
		f.add("spf.all_fail", SeverityOK, d, "the record ends in -all (fail for unlisted hosts)").with(tree.Record)
	}
	if all != nil && rec.redirect != nil {
		f.add("spf.redirect_ignored", SeverityInfo, d, "%q is ignored because the record has %q (RFC 7208 6.1)", rec.redirect.raw, all.raw).with(tree.Record)
	}

	// The whole tree.
	var ptrs, loops, macros, voids []string
	tree.walk(func(n *SPFNode, _ int) {
		label := n.Domain
		switch n.Status {
		case "none":
			f.add("spf.include_none", SeverityFail, n.Domain, "%s (reached by %s) has no SPF record: receivers return permerror", label, n.Via).with(n.evidence...)
		case "multiple":
			f.add("spf.include_multiple", SeverityFail, n.Domain, "%s (reached by %s) publishes %s: permerror", label, n.Via, n.Problem).with(n.evidence...)
		case "permerror":
			if n != tree {
				f.add("spf.include_invalid", SeverityFail, n.Domain, "%s (reached by %s) has an invalid SPF record: %s", label, n.Via, n.Problem).with(n.Record)
			}
		case "temperror":
			if n != tree {
				f.add("spf.include_dns_error", SeverityWarn, n.Domain, "%s (reached by %s) could not be read: %s", label, n.Via, n.Problem).with(n.evidence...)
			}
		case "loop":
			loops = append(loops, n.Via)
		case "macro":
			macros = append(macros, n.Via)
		}
		for _, t := range n.terms {
			if t.mech == "ptr" {
				ptrs = append(ptrs, n.Domain+": "+t.raw)
			}
		}
		for _, v := range n.voidHosts {
			voids = append(voids, n.Domain+": "+v)
		}
	})
	if len(loops) > 0 {
		f.add("spf.include_loop", SeverityFail, d, "the include/redirect tree loops (%s): evaluation ends in permerror", strings.Join(loops, ", ")).with(tree.Lines()...)
	}
	if len(macros) > 0 {
		f.add("spf.macro_target", SeverityInfo, d, "%d include/redirect target(s) use macros and were not followed; their lookups are not counted", len(macros)).with(macros...)
	}
	if len(ptrs) > 0 {
		f.add("spf.ptr", SeverityWarn, d, "the \"ptr\" mechanism is slow and unreliable, RFC 7208 5.5 says it SHOULD NOT be used; some receivers ignore it").with(ptrs...)
	}
	switch {
	case len(voids) > spfMaxVoidLookups:
		f.add("spf.void_lookups", SeverityFail, d, "%d mechanisms name hosts that do not resolve; more than %d void lookups is a permerror (RFC 7208 4.6.4)", len(voids), spfMaxVoidLookups).with(voids...)
	case len(voids) > 0:
		f.add("spf.void_lookups", SeverityWarn, d, "%d mechanism(s) name hosts that do not resolve; they cost lookups and count toward the limit of %d void lookups", len(voids), spfMaxVoidLookups).with(voids...)
	}
	switch total := tree.TotalLookups; {
	case total > spfMaxLookups:
		f.add("spf.too_many_lookups", SeverityFail, d, "the SPF tree needs %d DNS lookups; receivers stop at %d with permerror (RFC 7208 4.6.4)", total, spfMaxLookups).with(tree.Lines()...)
	case total >= spfMaxLookups-1:
		f.add("spf.lookups_near_limit", SeverityWarn, d, "the SPF tree needs %d of the %d allowed DNS lookups; one more include breaks it", total, spfMaxLookups).with(tree.Lines()...)
	default:
		f.add("spf.lookups", SeverityOK, d, "the SPF tree needs %d of the %d allowed DNS lookups", total, spfMaxLookups).with(tree.Lines()...)
	}

	// Type SPF (99) records were dropped by RFC 7208 (3.1, 14.1).
	if a, err := r.Lookup(ctx, d, TypeSPF); err == nil && len(a.Records) > 0 {
		f.add("spf.type99_present", SeverityWarn, d, "%s still publishes an SPF-type (99) record; RFC 7208 retired the type and receivers read only TXT: remove it so the two cannot drift apart", d).with(a.Evidence()...)
	}
}

// Package checks runs the DNS authentication checks (SPF, DKIM, DMARC, reverse
// DNS, DNSBL, MX/MTA-STS/TLS-RPT). Every finding has a stable ID, a severity and
// the DNS evidence. Only resolver.go imports github.com/miekg/dns.
//
// The pieces:
//   - lookup.go, resolver.go: the Resolver interface, our answer types and the
//     miekg-based client (UDP, TCP on truncation, retries, deadlines).
//   - spf_record.go, spf_macro.go, spf_eval.go: an RFC 7208 check_host() of our
//     own; spf_lint.go: the include tree and record lint.
//   - dkim_key.go, dkim.go: key records, selector probing, signature
//     verification (go-msgauth, fed by our resolver).
//   - dmarc.go: the RFC 9989 record, tree walk and alignment; dmarc_inspect.go:
//     findings and the bulk-sender verdicts.
//   - rdns.go, dnsbl.go, mx.go: per-IP and receiving-side checks.
//   - knowledge.go with knowledge/*.csv: selectors, block lists and MX suffixes,
//     each row with its source.
//   - finding.go, run.go: the Finding type and Run, which ties it together
//     under one deadline.
package checks

// Package checks runs the DNS authentication checks (SPF, DKIM, DMARC, reverse
// DNS, DNSBL, MX/MTA-STS/TLS-RPT). Every finding has a stable ID, a severity and
// the DNS evidence. Only resolver.go imports github.com/miekg/dns.
package checks

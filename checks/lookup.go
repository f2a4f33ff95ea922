package checks

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
)

// RRType is a DNS resource record type number. It is our own type so that no
// file besides resolver.go needs the DNS library.
type RRType uint16

// The record types the checks query.
const (
	TypeA     RRType = 1
	TypeNS    RRType = 2
	TypeCNAME RRType = 5
	TypeSOA   RRType = 6
	TypePTR   RRType = 12
	TypeMX    RRType = 15
	TypeTXT   RRType = 16
	TypeAAAA  RRType = 28
	TypeSPF   RRType = 99
)

var rrTypeNames = map[RRType]string{
	TypeA: "A", TypeNS: "NS", TypeCNAME: "CNAME", TypeSOA: "SOA", TypePTR: "PTR",
	TypeMX: "MX", TypeTXT: "TXT", TypeAAAA: "AAAA", TypeSPF: "SPF",
}

func (t RRType) String() string {
	if s, ok := rrTypeNames[t]; ok {
		return s
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// MarshalText makes record types read as "TXT" rather than 16 in JSON.
func (t RRType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// Status says how a DNS question ended. NXDOMAIN and NODATA are answers, not
// failures: SPF, DMARC and the DNSBLs give them meaning of their own.
type Status string

// The outcomes of one lookup.
const (
	StatusOK       Status = "ok"       // NOERROR with records of the asked type
	StatusNoData   Status = "nodata"   // NOERROR, name exists, no records of the type
	StatusNXDomain Status = "nxdomain" // RCODE 3, the name does not exist
	StatusServFail Status = "servfail" // RCODE 2
	StatusRefused  Status = "refused"  // RCODE 5
	StatusTimeout  Status = "timeout"  // no answer before the per-query timeout or the deadline
	StatusError    Status = "error"    // any other RCODE, a network error, a CNAME loop, a malformed reply
	StatusBadName  Status = "badname"  // the name cannot be put into a DNS query (label > 63 octets, empty label)
)

// Failed reports whether the status is a DNS failure, i.e. a temporary error
// for SPF/DKIM/DMARC rather than an answer.
func (s Status) Failed() bool {
	switch s {
	case StatusOK, StatusNoData, StatusNXDomain:
		return false
	}
	return true
}

// Void reports whether the lookup returned nothing (RFC 7208 4.6.4 "void lookup").
func (s Status) Void() bool { return s == StatusNoData || s == StatusNXDomain }

// Record is one resource record of an answer, with the fields its type uses.
type Record struct {
	Name       string     `json:"name"`
	Type       RRType     `json:"type"`
	TTL        uint32     `json:"ttl"`
	Addr       netip.Addr `json:"addr,omitzero"`        // A, AAAA
	Target     string     `json:"target,omitempty"`     // CNAME, PTR, NS, MX exchange
	Preference uint16     `json:"preference,omitempty"` // MX
	Text       []string   `json:"text,omitempty"`       // TXT, SPF: the character-strings, raw bytes
}

// Joined returns the character-strings of a TXT record glued together with no
// separator (RFC 7208 3.3, RFC 6376 3.6.2.2).
func (r Record) Joined() string { return strings.Join(r.Text, "") }

// String renders the record roughly as a zone file line; it is what findings
// show as evidence.
func (r Record) String() string {
	head := r.Name + " " + r.Type.String() + " "
	switch r.Type {
	case TypeA, TypeAAAA:
		return head + r.Addr.String()
	case TypeMX:
		return head + strconv.Itoa(int(r.Preference)) + " " + r.Target
	case TypeTXT, TypeSPF:
		parts := make([]string, len(r.Text))
		for i, s := range r.Text {
			parts[i] = strconv.Quote(s)
		}
		return head + strings.Join(parts, " ")
	default:
		return head + r.Target
	}
}

// Answer is the outcome of one question.
type Answer struct {
	Name    string   `json:"name"`
	Type    RRType   `json:"type"`
	Status  Status   `json:"status"`
	Records []Record `json:"records,omitempty"` // only records of the asked type, at the end of any CNAME chain
	CNAMEs  []string `json:"cnames,omitempty"`  // the chain followed, in order
	Detail  string   `json:"detail,omitempty"`  // why a failed lookup failed
}

// Evidence renders the answer for a finding: the records, or the status.
func (a Answer) Evidence() []string {
	if len(a.Records) > 0 {
		out := make([]string, 0, len(a.Records)+len(a.CNAMEs))
		prev := a.Name
		for _, c := range a.CNAMEs {
			out = append(out, prev+" CNAME "+c)
			prev = c
		}
		for _, r := range a.Records {
			out = append(out, r.String())
		}
		return out
	}
	s := a.Name + " " + a.Type.String() + ": " + string(a.Status)
	if a.Detail != "" {
		s += " (" + a.Detail + ")"
	}
	return []string{s}
}

// Texts returns the joined strings of every TXT/SPF record in the answer.
func (a Answer) Texts() []string {
	var out []string
	for _, r := range a.Records {
		if r.Type == TypeTXT || r.Type == TypeSPF {
			out = append(out, r.Joined())
		}
	}
	return out
}

// Addrs returns the addresses of the A/AAAA records in the answer.
func (a Answer) Addrs() []netip.Addr {
	var out []netip.Addr
	for _, r := range a.Records {
		if r.Addr.IsValid() {
			out = append(out, r.Addr)
		}
	}
	return out
}

// LookupError is returned with an Answer whose Status is a failure.
type LookupError struct {
	Name   string
	Type   RRType
	Status Status
	Detail string
}

func (e *LookupError) Error() string {
	s := "dns: " + e.Type.String() + " " + e.Name + ": " + string(e.Status)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Resolver answers DNS questions. It is shaped like miekg/dns's
// ExchangeContext so that swapping the DNS library touches one file: a
// question goes in, an answer of our own types comes out. The error is
// non-nil exactly when answer.Status.Failed(); NXDOMAIN and NODATA are
// answers. Names are raw (not presentation format): "a b.example.com" is a
// name with a space, as SPF macros can produce.
type Resolver interface {
	Lookup(ctx context.Context, name string, qtype RRType) (Answer, error)
}

// CachingResolver remembers answers for the life of one run, so that the SPF
// lint and the SPF evaluation, or several IPs, do not repeat queries. Failed
// lookups are not cached: a retry may succeed.
type CachingResolver struct {
	next  Resolver
	mu    sync.Mutex
	cache map[cacheKey]Answer
}

type cacheKey struct {
	name  string
	qtype RRType
}

// NewCachingResolver wraps r with a per-run cache.
func NewCachingResolver(r Resolver) *CachingResolver {
	return &CachingResolver{next: r, cache: make(map[cacheKey]Answer)}
}

// Lookup implements Resolver.
func (c *CachingResolver) Lookup(ctx context.Context, name string, qtype RRType) (Answer, error) {
	k := cacheKey{strings.ToLower(strings.TrimSuffix(name, ".")), qtype}
	c.mu.Lock()
	a, ok := c.cache[k]
	c.mu.Unlock()
	if ok {
		return a, nil
	}
	a, err := c.next.Lookup(ctx, name, qtype)
	if err == nil {
		c.mu.Lock()
		c.cache[k] = a
		c.mu.Unlock()
	}
	return a, err
}

// checkName says why a raw name cannot be queried, or "" when it can.
func checkName(name string) string {
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return "empty name"
	}
	if len(name) > 253 {
		return fmt.Sprintf("name is %d octets long, more than 253", len(name))
	}
	for _, l := range strings.Split(name, ".") {
		if l == "" {
			return "empty label"
		}
		if len(l) > 63 {
			return fmt.Sprintf("label of %d octets, more than 63", len(l))
		}
	}
	return ""
}

// badName builds the answer for a name that cannot be queried.
func badName(name string, qtype RRType, why string) (Answer, error) {
	a := Answer{Name: name, Type: qtype, Status: StatusBadName, Detail: why}
	return a, &LookupError{Name: name, Type: qtype, Status: StatusBadName, Detail: why}
}

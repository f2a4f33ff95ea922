package checks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// This is the only file that imports github.com/miekg/dns: everything else
// speaks Resolver, Answer and Record.

// ClientConfig configures the DNS client.
type ClientConfig struct {
	// Servers are "host:port" addresses, tried in order.
	Servers []string
	// QueryTimeout bounds one UDP or TCP exchange with one server.
	QueryTimeout time.Duration
	// Attempts is how many rounds over Servers are made before giving up on
	// timeouts and SERVFAIL.
	Attempts int
	// UDPSize is the EDNS0 buffer size advertised; 1232 avoids IP
	// fragmentation (DNS flag day 2020).
	UDPSize uint16
}

// Default client settings: 2 s a query and 2 rounds keep a dead server from
// eating more than a few seconds of the run's deadline.
const (
	DefaultQueryTimeout = 2 * time.Second
	DefaultAttempts     = 2
	defaultUDPSize      = 1232
	maxCNAMEHops        = 10
)

// SystemClientConfig reads the nameservers from a resolv.conf file
// (/etc/resolv.conf when path is "").
func SystemClientConfig(path string) (ClientConfig, error) {
	if path == "" {
		path = "/etc/resolv.conf"
	}
	cc, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return ClientConfig{}, fmt.Errorf("resolv.conf: %w", err)
	}
	cfg := ClientConfig{Attempts: cc.Attempts}
	if cc.Timeout > 0 {
		cfg.QueryTimeout = time.Duration(cc.Timeout) * time.Second
	}
	for _, s := range cc.Servers {
		cfg.Servers = append(cfg.Servers, net.JoinHostPort(s, cc.Port))
	}
	if len(cfg.Servers) == 0 {
		return ClientConfig{}, fmt.Errorf("resolv.conf: %s lists no nameserver", path)
	}
	return cfg, nil
}

// ParseServer accepts "HOST", "HOST:PORT", "[V6]:PORT" or a bare IPv6
// address, and returns "host:port" with port 53 by default.
func ParseServer(s string) (string, error) {
	if s == "" {
		return "", errors.New("resolver: empty address")
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return net.JoinHostPort(a.String(), "53"), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		if strings.Contains(err.Error(), "missing port") {
			return net.JoinHostPort(s, "53"), nil
		}
		return "", fmt.Errorf("resolver %q: %w", s, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("resolver %q: port must be 1-65535", s)
	}
	if host == "" {
		return "", fmt.Errorf("resolver %q: missing host", s)
	}
	return net.JoinHostPort(host, port), nil
}

// Client is a stub resolver over miekg/dns: UDP with EDNS0, TCP when the
// reply is truncated, retries over the configured servers, a per-query
// timeout and the caller's context deadline.
type Client struct {
	cfg ClientConfig
	udp *dns.Client
	tcp *dns.Client
}

// NewClient builds a client; zero fields of cfg take the defaults.
func NewClient(cfg ClientConfig) (*Client, error) {
	if len(cfg.Servers) == 0 {
		return nil, errors.New("resolver: no server configured")
	}
	for i, s := range cfg.Servers {
		addr, err := ParseServer(s)
		if err != nil {
			return nil, err
		}
		cfg.Servers[i] = addr
	}
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = DefaultQueryTimeout
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = DefaultAttempts
	}
	if cfg.UDPSize == 0 {
		cfg.UDPSize = defaultUDPSize
	}
	return &Client{
		cfg: cfg,
		udp: &dns.Client{Net: "udp", Timeout: cfg.QueryTimeout, UDPSize: cfg.UDPSize},
		tcp: &dns.Client{Net: "tcp", Timeout: cfg.QueryTimeout},
	}, nil
}

// Lookup implements Resolver. CNAME chains are followed (the recursive server
// normally does it; when it returns only part of a chain we ask for the rest)
// and a loop is reported as StatusError.
func (c *Client) Lookup(ctx context.Context, name string, qtype RRType) (Answer, error) {
	return lookupChain(ctx, name, qtype, func(current string) ([]dns.RR, Status, string) {
		msg, err := c.exchange(ctx, current, uint16(qtype))
		if err != nil {
			return nil, statusOf(ctx, err), err.Error()
		}
		switch msg.Rcode {
		case dns.RcodeSuccess:
			return msg.Answer, StatusOK, ""
		case dns.RcodeNameError:
			return nil, StatusNXDomain, ""
		case dns.RcodeServerFailure:
			return nil, StatusServFail, ""
		case dns.RcodeRefused:
			return nil, StatusRefused, ""
		}
		return nil, StatusError, "rcode " + dns.RcodeToString[msg.Rcode]
	})
}

// lookupChain asks fetch for name and follows CNAMEs through the answers
// until records of qtype, no data, a failure, a loop or too many hops. fetch
// returns the answer section, or the status that ends the lookup.
func lookupChain(ctx context.Context, name string, qtype RRType, fetch func(current string) ([]dns.RR, Status, string)) (Answer, error) {
	name = strings.TrimSuffix(name, ".")
	if why := checkName(name); why != "" {
		return badName(name, qtype, why)
	}
	ans := Answer{Name: name, Type: qtype}
	seen := map[string]bool{strings.ToLower(name): true}
	current := name
	for hop := 0; ; hop++ {
		rrs, st, detail := fetch(current)
		switch st {
		case StatusOK:
		case StatusNXDomain:
			ans.Status = StatusNXDomain
			return ans, nil
		default:
			return fail(ans, st, detail)
		}
		next, loop := followChain(rrs, current, qtype, &ans, seen)
		if len(ans.Records) > 0 {
			ans.Status = StatusOK
			return ans, nil
		}
		if loop {
			return fail(ans, StatusError, "CNAME loop at "+next)
		}
		if next == "" || strings.EqualFold(next, current) {
			ans.Status = StatusNoData
			return ans, nil
		}
		if hop >= maxCNAMEHops {
			return fail(ans, StatusError, "CNAME chain longer than "+strconv.Itoa(maxCNAMEHops))
		}
		current = next
	}
}

// followChain walks the answer section from name along CNAMEs, appending the
// chain and the final records to ans. It returns the name at the end of the
// chain when no records of qtype were found there, and whether it looped.
func followChain(rrs []dns.RR, name string, qtype RRType, ans *Answer, seen map[string]bool) (string, bool) {
	current := name
	for range maxCNAMEHops + 1 {
		var cname string
		for _, rr := range rrs {
			h := rr.Header()
			if !strings.EqualFold(unescapeName(h.Name), current) {
				continue
			}
			if RRType(h.Rrtype) == qtype {
				if rec, ok := toRecord(rr); ok {
					ans.Records = append(ans.Records, rec)
				}
			} else if cn, ok := rr.(*dns.CNAME); ok && qtype != TypeCNAME {
				cname = unescapeName(cn.Target)
			}
		}
		if len(ans.Records) > 0 || cname == "" {
			return current, false
		}
		ans.CNAMEs = append(ans.CNAMEs, cname)
		key := strings.ToLower(cname)
		if seen[key] {
			return cname, true
		}
		seen[key] = true
		current = cname
	}
	return current, false
}

// exchange sends one question, trying every server Attempts times, and
// retries over TCP when the UDP reply is truncated.
func (c *Client) exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(escapeName(name)+".", qtype)
	m.RecursionDesired = true
	m.SetEdns0(c.cfg.UDPSize, false)
	var lastErr error
	var lastReply *dns.Msg
	for range c.cfg.Attempts {
		for _, server := range c.cfg.Servers {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			r, _, err := c.udp.ExchangeContext(ctx, m, server)
			if err == nil && r.Truncated {
				r, _, err = c.tcp.ExchangeContext(ctx, m, server)
			}
			if err != nil {
				lastErr = err
				continue
			}
			if r.Rcode == dns.RcodeServerFailure || r.Rcode == dns.RcodeRefused {
				// another server, or a later attempt, may do better; the
				// reply is kept in case none does
				lastReply = r
				continue
			}
			return r, nil
		}
	}
	if lastReply != nil {
		return lastReply, nil
	}
	if lastErr == nil {
		lastErr = errors.New("no usable reply")
	}
	return nil, lastErr
}

// statusOf classifies a transport error.
func statusOf(ctx context.Context, err error) Status {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled), ctx.Err() != nil:
		return StatusTimeout
	case errors.As(err, &ne) && ne.Timeout():
		return StatusTimeout
	}
	return StatusError
}

func fail(a Answer, st Status, detail string) (Answer, error) {
	a.Status = st
	a.Detail = detail
	a.Records = nil
	return a, &LookupError{Name: a.Name, Type: a.Type, Status: st, Detail: detail}
}

// toRecord converts a miekg record to ours, unescaping names and strings to
// raw bytes.
func toRecord(rr dns.RR) (Record, bool) {
	h := rr.Header()
	rec := Record{Name: unescapeName(h.Name), Type: RRType(h.Rrtype), TTL: h.Ttl}
	switch v := rr.(type) {
	case *dns.A:
		a, ok := netip.AddrFromSlice(v.A.To4())
		if !ok {
			return Record{}, false
		}
		rec.Addr = a
	case *dns.AAAA:
		a, ok := netip.AddrFromSlice(v.AAAA.To16())
		if !ok {
			return Record{}, false
		}
		rec.Addr = a
	case *dns.MX:
		rec.Preference = v.Preference
		rec.Target = unescapeName(v.Mx)
	case *dns.PTR:
		rec.Target = unescapeName(v.Ptr)
	case *dns.CNAME:
		rec.Target = unescapeName(v.Target)
	case *dns.NS:
		rec.Target = unescapeName(v.Ns)
	case *dns.TXT:
		rec.Text = unescapeStrings(v.Txt)
	case *dns.SPF:
		rec.Text = unescapeStrings(v.Txt)
	default:
		return Record{}, false
	}
	return rec, true
}

// escapeName turns a raw name into miekg's presentation form, where only the
// backslash is special inside a label (labels never contain a dot here).
func escapeName(name string) string {
	return strings.ReplaceAll(name, `\`, `\\`)
}

// unescapeName turns a presentation-format name back into raw form, without
// the trailing dot. "\." inside a label stays escaped: it cannot be told
// apart from a label separator in a dotted string.
func unescapeName(s string) string {
	s = strings.TrimSuffix(s, ".")
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		if s[i+1] == '.' {
			b.WriteString(`\.`)
			i++
			continue
		}
		if i+3 < len(s) && isDigits(s[i+1:i+4]) {
			n, _ := strconv.Atoi(s[i+1 : i+4])
			if n == '.' {
				b.WriteString(`\.`)
			} else {
				b.WriteByte(byte(n))
			}
			i += 3
			continue
		}
		b.WriteByte(s[i+1])
		i++
	}
	return b.String()
}

func unescapeStrings(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = unescapeText(s)
	}
	return out
}

// unescapeText undoes miekg's escaping of TXT character-strings (\" \\ \DDD).
func unescapeText(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		if i+3 < len(s) && isDigits(s[i+1:i+4]) {
			n, _ := strconv.Atoi(s[i+1 : i+4])
			b.WriteByte(byte(n))
			i += 3
			continue
		}
		b.WriteByte(s[i+1])
		i++
	}
	return b.String()
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// compile-time check
var _ Resolver = (*Client)(nil)

// ZoneResolver answers from RFC 1035 zone text instead of the network: the
// bundled example's sender has a zone of its own, so its checks run offline
// and the same everywhere. Names it does not hold are NXDOMAIN.
type ZoneResolver struct {
	byName map[string][]dns.RR
}

// NewZoneResolver parses zone text (absolute names, or relative to $ORIGIN).
func NewZoneResolver(zone string) (*ZoneResolver, error) {
	z := &ZoneResolver{byName: map[string][]dns.RR{}}
	zp := dns.NewZoneParser(strings.NewReader(zone), ".", "zone")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		name := strings.ToLower(strings.TrimSuffix(unescapeName(rr.Header().Name), "."))
		z.byName[name] = append(z.byName[name], rr)
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("zone: %w", err)
	}
	return z, nil
}

// Lookup implements Resolver, following CNAMEs inside the zone.
func (z *ZoneResolver) Lookup(ctx context.Context, name string, qtype RRType) (Answer, error) {
	return lookupChain(ctx, name, qtype, func(current string) ([]dns.RR, Status, string) {
		if err := ctx.Err(); err != nil {
			return nil, StatusTimeout, err.Error()
		}
		rrs, ok := z.byName[strings.ToLower(current)]
		if !ok {
			return nil, StatusNXDomain, ""
		}
		return rrs, StatusOK, ""
	})
}

package checks

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// testDNS is a real DNS server on 127.0.0.1 (UDP and TCP on one port) that
// answers like a recursive resolver from zone data: it follows CNAMEs,
// expands wildcards, and can be told to time out, SERVFAIL, REFUSE or force
// truncation for chosen names.
type testDNS struct {
	Addr string

	mu      sync.Mutex
	rrs     map[string]map[uint16][]dns.RR // canonical name -> type -> records
	faults  map[faultKey]fault
	missing map[string]bool // names whose types without data time out (SPF suite TIMEOUT)
	queries []string        // "name TYPE proto", in arrival order
}

type fault string

const (
	faultTimeout  fault = "timeout"
	faultServFail fault = "servfail"
	faultRefused  fault = "refused"
	faultTruncate fault = "truncate" // TC on every UDP reply, full answer over TCP
)

type faultKey struct {
	name  string
	qtype uint16 // 0: every type
}

// newTestDNS starts a server; it is shut down when the test ends.
func newTestDNS(t testing.TB) *testDNS {
	t.Helper()
	s := &testDNS{
		rrs:     make(map[string]map[uint16][]dns.RR),
		faults:  make(map[faultKey]fault),
		missing: make(map[string]bool),
	}
	var udp net.PacketConn
	var tcp net.Listener
	var err error
	for range 20 {
		udp, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("listen udp: %v", err)
		}
		tcp, err = net.Listen("tcp", udp.LocalAddr().String())
		if err == nil {
			break
		}
		udp.Close()
	}
	if err != nil {
		t.Fatalf("listen tcp: %v", err)
	}
	s.Addr = udp.LocalAddr().String()
	udpSrv := &dns.Server{PacketConn: udp, Handler: dns.HandlerFunc(s.serve)}
	tcpSrv := &dns.Server{Listener: tcp, Handler: dns.HandlerFunc(s.serve)}
	started := make(chan struct{}, 2)
	udpSrv.NotifyStartedFunc = func() { started <- struct{}{} }
	tcpSrv.NotifyStartedFunc = func() { started <- struct{}{} }
	go func() { _ = udpSrv.ActivateAndServe() }()
	go func() { _ = tcpSrv.ActivateAndServe() }()
	<-started
	<-started
	t.Cleanup(func() {
		_ = udpSrv.Shutdown()
		_ = tcpSrv.Shutdown()
	})
	return s
}

// canon is the lookup key of a presentation-format name: the same bytes the
// server gets off the wire, lower-cased.
func canon(name string) string {
	name = dns.Fqdn(name)
	buf := make([]byte, 512)
	off, err := dns.PackDomainName(name, buf, 0, nil, false)
	if err != nil {
		return strings.ToLower(name)
	}
	n, _, err := dns.UnpackDomainName(buf[:off], 0)
	if err != nil {
		return strings.ToLower(name)
	}
	return strings.ToLower(n)
}

// add stores records.
func (s *testDNS) add(rrs ...dns.RR) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rr := range rrs {
		k := canon(rr.Header().Name)
		if s.rrs[k] == nil {
			s.rrs[k] = make(map[uint16][]dns.RR)
		}
		t := rr.Header().Rrtype
		s.rrs[k][t] = append(s.rrs[k][t], rr)
	}
}

// touch makes a name exist with no records (NODATA instead of NXDOMAIN).
func (s *testDNS) touch(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := canon(name)
	if s.rrs[k] == nil {
		s.rrs[k] = make(map[uint16][]dns.RR)
	}
}

// loadZone parses an RFC 1035 zone file with miekg's zone parser.
func (s *testDNS) loadZone(t testing.TB, path, origin string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("zone: %v", err)
	}
	defer f.Close()
	zp := dns.NewZoneParser(f, dns.Fqdn(origin), filepath.Base(path))
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		s.add(rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("zone %s: %v", path, err)
	}
}

// addZoneText parses zone-file text (for small fixtures written in a test).
func (s *testDNS) addZoneText(t testing.TB, text string) {
	t.Helper()
	zp := dns.NewZoneParser(strings.NewReader(text), "", "inline")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		s.add(rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("zone text: %v", err)
	}
}

func (s *testDNS) setFault(name string, qtype RRType, f fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[faultKey{canon(name), uint16(qtype)}] = f
}

// timeoutMissing makes questions for types with no data at name time out
// (the SPF test suite's TIMEOUT item).
func (s *testDNS) timeoutMissing(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := canon(name)
	s.missing[k] = true
	if s.rrs[k] == nil {
		s.rrs[k] = make(map[uint16][]dns.RR)
	}
}

func (s *testDNS) log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

func (s *testDNS) resetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries = nil
}

// client returns our resolver pointed at this server with short timeouts.
func (s *testDNS) client(t testing.TB) *Client {
	t.Helper()
	c, err := NewClient(ClientConfig{Servers: []string{s.Addr}, QueryTimeout: 150 * time.Millisecond, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (s *testDNS) serve(w dns.ResponseWriter, r *dns.Msg) {
	if len(r.Question) != 1 {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeFormatError)
		_ = w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	name := canon(q.Name)
	_, isUDP := w.RemoteAddr().(*net.UDPAddr)
	proto := "tcp"
	if isUDP {
		proto = "udp"
	}

	s.mu.Lock()
	s.queries = append(s.queries, name+" "+dns.TypeToString[q.Qtype]+" "+proto)
	f, ok := s.faults[faultKey{name, q.Qtype}]
	if !ok {
		f = s.faults[faultKey{name, 0}]
	}
	answer, rcode, drop := s.resolve(name, q.Qtype)
	s.mu.Unlock()

	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	m.RecursionAvailable = true
	switch {
	case f == faultTimeout || drop:
		return
	case f == faultServFail:
		m.Rcode = dns.RcodeServerFailure
	case f == faultRefused:
		m.Rcode = dns.RcodeRefused
	default:
		m.Rcode = rcode
		m.Answer = answer
	}
	if isUDP {
		size := dns.MinMsgSize
		if opt := r.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
			m.SetEdns0(opt.UDPSize(), false)
		}
		if f == faultTruncate {
			m.Answer = nil
			m.Truncated = true
		} else {
			m.Truncate(size)
		}
	}
	_ = w.WriteMsg(m)
}

// resolve answers from the data like a recursive resolver would, following
// CNAMEs (a loop ends the chain where it repeats) and expanding wildcards.
func (s *testDNS) resolve(name string, qtype uint16) (answer []dns.RR, rcode int, drop bool) {
	seen := map[string]bool{}
	current := name
	for range 12 {
		seen[current] = true
		byType, owner := s.lookupName(current)
		if byType == nil {
			if len(answer) > 0 {
				return answer, dns.RcodeSuccess, false
			}
			return nil, dns.RcodeNameError, false
		}
		if rrs := byType[qtype]; len(rrs) > 0 {
			return append(answer, rename(rrs, owner)...), dns.RcodeSuccess, false
		}
		cn := byType[dns.TypeCNAME]
		if qtype == dns.TypeCNAME || len(cn) == 0 {
			if s.missing[current] {
				return nil, 0, true
			}
			return answer, dns.RcodeSuccess, false
		}
		answer = append(answer, rename(cn[:1], owner)...)
		current = canon(cn[0].(*dns.CNAME).Target)
		if seen[current] {
			return answer, dns.RcodeSuccess, false
		}
	}
	return answer, dns.RcodeSuccess, false
}

// lookupName finds the records of a name, or of the wildcard that covers it
// (RFC 4592, simplified: the closest "*." ancestor when the name itself does
// not exist). owner is the name to put on synthesized records, "" to keep.
func (s *testDNS) lookupName(name string) (map[uint16][]dns.RR, string) {
	if rrs, ok := s.rrs[name]; ok {
		return rrs, ""
	}
	labels := dns.SplitDomainName(name)
	for i := 1; i < len(labels); i++ {
		parent := strings.Join(labels[i:], ".") + "."
		if rrs, ok := s.rrs["*."+parent]; ok {
			return rrs, name
		}
		if _, exists := s.rrs[parent]; exists {
			// the closest encloser has no wildcard
			return nil, ""
		}
	}
	return nil, ""
}

func rename(rrs []dns.RR, owner string) []dns.RR {
	if owner == "" {
		return rrs
	}
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		c := dns.Copy(rr)
		c.Header().Name = owner
		out[i] = c
	}
	return out
}

// lookupT is a test helper: one Lookup with a short deadline.
func lookupT(t testing.TB, r Resolver, name string, qtype RRType) (Answer, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return r.Lookup(ctx, name, qtype)
}

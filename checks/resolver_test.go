package checks

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func resolverFixture(t *testing.T) (*testDNS, *Client) {
	t.Helper()
	srv := newTestDNS(t)
	srv.loadZone(t, filepath.Join("testdata", "zones", "resolver.example.zone"), "resolver.example.")
	return srv, srv.client(t)
}

func TestLookupRecordTypes(t *testing.T) {
	_, c := resolverFixture(t)
	tests := []struct {
		name  string
		qtype RRType
		want  []string
	}{
		{"host.resolver.example", TypeA, []string{"host.resolver.example A 192.0.2.10"}},
		{"host.resolver.example", TypeAAAA, []string{"host.resolver.example AAAA 2001:db8::10"}},
		{"resolver.example", TypeMX, []string{"resolver.example MX 10 mx1.resolver.example", "resolver.example MX 20 mx2.resolver.example"}},
		{"multi.resolver.example", TypeTXT, []string{`multi.resolver.example TXT "v=spf1 " "ip4:192.0.2.0/24 " "-all"`}},
		{"10.2.0.192.in-addr.arpa", TypePTR, []string{"10.2.0.192.in-addr.arpa PTR host.resolver.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.qtype.String()+"/"+tt.name, func(t *testing.T) {
			a, err := lookupT(t, c, tt.name, tt.qtype)
			if err != nil {
				t.Fatalf("lookup: %v", err)
			}
			if a.Status != StatusOK {
				t.Fatalf("status %s, want ok", a.Status)
			}
			var got []string
			for _, r := range a.Records {
				got = append(got, r.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("records\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestLookupTXTIsRaw(t *testing.T) {
	_, c := resolverFixture(t)
	a, err := lookupT(t, c, "quoted.resolver.example", TypeTXT)
	if err != nil {
		t.Fatal(err)
	}
	want := "say \"hi\" \\ back\\slash \xc3\xa9"
	if got := a.Texts(); len(got) != 1 || got[0] != want {
		t.Errorf("text %q, want %q", got, want)
	}
	a, err = lookupT(t, c, "multi.resolver.example", TypeTXT)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Texts(); len(got) != 1 || got[0] != "v=spf1 ip4:192.0.2.0/24 -all" {
		t.Errorf("joined %q", got)
	}
}

func TestLookupNegativeAnswers(t *testing.T) {
	srv, c := resolverFixture(t)
	srv.setFault("broken.resolver.example", 0, faultServFail)
	srv.setFault("refused.resolver.example", 0, faultRefused)
	tests := []struct {
		name    string
		qtype   RRType
		want    Status
		wantErr bool
	}{
		{"nodata.resolver.example", TypeA, StatusNoData, false},
		{"missing.resolver.example", TypeA, StatusNXDomain, false},
		{"broken.resolver.example", TypeA, StatusServFail, true},
		{"refused.resolver.example", TypeTXT, StatusRefused, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.want), func(t *testing.T) {
			a, err := lookupT(t, c, tt.name, tt.qtype)
			if a.Status != tt.want {
				t.Errorf("status %s, want %s", a.Status, tt.want)
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("err %v, want error %v", err, tt.wantErr)
			}
			if a.Status.Failed() != tt.wantErr {
				t.Errorf("Failed() = %v", a.Status.Failed())
			}
			var le *LookupError
			if tt.wantErr && (!errors.As(err, &le) || le.Status != tt.want) {
				t.Errorf("error %#v is not a LookupError with status %s", err, tt.want)
			}
		})
	}
}

func TestLookupTimeoutIsBounded(t *testing.T) {
	srv := newTestDNS(t)
	srv.addZoneText(t, "slow.example. 300 IN A 192.0.2.1\n")
	srv.setFault("slow.example", 0, faultTimeout)
	c, err := NewClient(ClientConfig{Servers: []string{srv.Addr}, QueryTimeout: 100 * time.Millisecond, Attempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	a, err := lookupT(t, c, "slow.example", TypeA)
	elapsed := time.Since(start)
	if a.Status != StatusTimeout || err == nil {
		t.Fatalf("status %s err %v, want timeout", a.Status, err)
	}
	if n := len(srv.log()); n != 3 {
		t.Errorf("server saw %d queries, want 3 attempts", n)
	}
	if elapsed > 2*time.Second {
		t.Errorf("three 100ms attempts took %v", elapsed)
	}

	// the caller's deadline wins over a long per-query timeout
	c, err = NewClient(ClientConfig{Servers: []string{srv.Addr}, QueryTimeout: 10 * time.Second, Attempts: 5})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	a, _ = c.Lookup(ctx, "slow.example", TypeA)
	if a.Status != StatusTimeout {
		t.Errorf("status %s, want timeout", a.Status)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("deadline of 200ms ignored: took %v", elapsed)
	}
}

func TestLookupTruncationFallsBackToTCP(t *testing.T) {
	srv, c := resolverFixture(t)
	srv.setFault("trunc.resolver.example", TypeTXT, faultTruncate)
	a, err := lookupT(t, c, "trunc.resolver.example", TypeTXT)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Texts(); len(got) != 1 || !strings.HasPrefix(got[0], "truncated over UDP") {
		t.Errorf("texts %q", got)
	}
	want := []string{"trunc.resolver.example. TXT udp", "trunc.resolver.example. TXT tcp"}
	if got := srv.log(); !slices.Equal(got, want) {
		t.Errorf("queries %q, want %q", got, want)
	}

	// an answer larger than the advertised EDNS0 buffer is truncated by the
	// server on its own
	srv.resetLog()
	a, err = lookupT(t, c, "big.resolver.example", TypeTXT)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Records) != 12 {
		t.Errorf("got %d records of 12", len(a.Records))
	}
	if got := srv.log(); len(got) != 2 || !strings.HasSuffix(got[1], "tcp") {
		t.Errorf("queries %q, want udp then tcp", got)
	}
}

func TestLookupCNAME(t *testing.T) {
	_, c := resolverFixture(t)
	a, err := lookupT(t, c, "alias.resolver.example", TypeA)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.CNAMEs, []string{"alias2.resolver.example", "host.resolver.example"}) {
		t.Errorf("chain %q", a.CNAMEs)
	}
	if got := a.Addrs(); len(got) != 1 || got[0] != netip.MustParseAddr("192.0.2.10") {
		t.Errorf("addrs %v", got)
	}

	a, err = lookupT(t, c, "loop1.resolver.example", TypeA)
	if a.Status != StatusError || err == nil || !strings.Contains(a.Detail, "CNAME loop") {
		t.Errorf("loop: status %s detail %q err %v", a.Status, a.Detail, err)
	}
}

func TestLookupUnusualNames(t *testing.T) {
	srv, c := resolverFixture(t)
	tests := []struct{ name, want string }{
		{"space name.resolver.example", "192.0.2.77"},
		{"pct%{d}.resolver.example", "192.0.2.78"},
		{`back\slash.resolver.example`, "192.0.2.79"},
	}
	for _, tt := range tests {
		a, err := lookupT(t, c, tt.name, TypeA)
		if err != nil {
			t.Fatalf("%q: %v", tt.name, err)
		}
		if got := a.Addrs(); len(got) != 1 || got[0].String() != tt.want {
			t.Errorf("%q: addrs %v, want %s", tt.name, got, tt.want)
		}
	}

	srv.resetLog()
	long := strings.Repeat("a", 64) + ".resolver.example"
	a, err := lookupT(t, c, long, TypeA)
	if a.Status != StatusBadName || err == nil {
		t.Errorf("64-octet label: status %s err %v", a.Status, err)
	}
	if _, err := lookupT(t, c, "a..resolver.example", TypeA); err == nil {
		t.Error("empty label accepted")
	}
	if n := len(srv.log()); n != 0 {
		t.Errorf("invalid names reached the server: %d queries", n)
	}
}

func TestCachingResolver(t *testing.T) {
	srv, c := resolverFixture(t)
	cr := NewCachingResolver(c)
	for range 3 {
		if _, err := lookupT(t, cr, "Host.Resolver.Example.", TypeA); err != nil {
			t.Fatal(err)
		}
	}
	srv.setFault("broken.resolver.example", 0, faultServFail)
	for range 2 {
		_, _ = lookupT(t, cr, "broken.resolver.example", TypeA)
	}
	if got := srv.log(); len(got) != 3 {
		t.Errorf("queries %q: want 1 cached answer + 2 uncached failures", got)
	}
}

func TestSystemClientConfigAndParseServer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(path, []byte("nameserver 192.0.2.1\nnameserver 2001:db8::53\noptions timeout:3 attempts:4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := SystemClientConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Servers, []string{"192.0.2.1:53", "[2001:db8::53]:53"}) || cfg.QueryTimeout != 3*time.Second || cfg.Attempts != 4 {
		t.Errorf("config %+v", cfg)
	}
	if _, err := SystemClientConfig(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Error("missing file accepted")
	}

	for in, want := range map[string]string{
		"192.0.2.1": "192.0.2.1:53", "192.0.2.1:5353": "192.0.2.1:5353", "2001:db8::1": "[2001:db8::1]:53",
		"[2001:db8::1]:54": "[2001:db8::1]:54", "dns.example": "dns.example:53",
	} {
		if got, err := ParseServer(in); err != nil || got != want {
			t.Errorf("ParseServer(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "1.2.3.4:0", "1.2.3.4:x", ":53"} {
		if _, err := ParseServer(bad); err == nil {
			t.Errorf("ParseServer(%q) accepted", bad)
		}
	}
}

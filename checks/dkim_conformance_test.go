package checks

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/miekg/dns"
)

// txtRR builds a TXT record from raw text, split into 255-octet strings.
func txtRR(name, text string) dns.RR {
	var strs []string
	for len(text) > 255 {
		strs = append(strs, escapeTXT(text[:255]))
		text = text[255:]
	}
	strs = append(strs, escapeTXT(text))
	return &dns.TXT{Hdr: dns.RR_Header{Name: dns.Fqdn(name), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 300}, Txt: strs}
}

// TestDKIMVectorsConformance runs dkim-test-vectors: every key record through
// the key parser, every signed message through verification (keys served by
// a real DNS server), and the unsigned messages signed here with fresh keys
// and verified back, plus a tampered copy that must fail. Expected outcomes
// follow dkimpy's tests (test_dkim.py, test_dkim_ed25519.py).
func TestDKIMVectorsConformance(t *testing.T) {
	dir := conformanceDir(t, "dkim-test-vectors")
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimRight(string(b), "\r\n")
	}
	srv := newTestDNS(t)
	srv.loadZone(t, filepath.Join("testdata", "zones", "dkim-vectors.zone"), ".")
	srv.add(
		txtRR("test._domainkey.example.com", read("test.txt")),
		txtRR("test._domainkey.football.example.com", read("test.txt")), // RFC 8463 reused dkimpy's RSA test key
		txtRR("sed._domainkey.test.ex", read("eximtest.dns")),
	)
	c := srv.client(t)
	ctx := context.Background()
	passed, total := 0, 0
	check := func(ok bool, format string, args ...any) {
		t.Helper()
		total++
		if ok {
			passed++
		} else {
			t.Errorf(format, args...)
		}
	}

	// Key records.
	keys := []struct {
		file    string
		valid   bool
		keyType string
		bits    int
		email   bool
	}{
		{"test.txt", true, "rsa", 1024, true},
		{"test2.txt", true, "rsa", 1024, true}, // no k=: rsa is the default
		{"badversion.txt", false, "", 0, false},
		{"badk.txt", false, "", 0, false},     // k=ed25519-sha256 is no key type
		{"test_bad.txt", false, "", 0, false}, // truncated key data
		{"ed25519test.dns", true, "ed25519", 256, true},
		{"eximtest.dns", true, "ed25519", 256, true},
		{"test_tlsrpt.txt", true, "rsa", 1024, false}, // s=tlsrpt: not for email
	}
	for _, k := range keys {
		rec, err := ParseDKIMKey(read(k.file))
		if !k.valid {
			check(err != nil, "%s: parsed, want an error", k.file)
			continue
		}
		check(err == nil && rec.KeyType == k.keyType && rec.Bits == k.bits && rec.ForEmail() == k.email,
			"%s: %+v, %v", k.file, rec, err)
	}

	// Signed messages.
	signed := []struct {
		file    string
		want    []string // result per signature, in header order
		aligned []bool
	}{
		{"rfc6376.signed.msg", []string{"pass", "pass"}, []bool{true, true}},
		{"ed25519test2.msg", []string{"pass"}, []bool{false}},
		{"test2.message", []string{"pass"}, []bool{false}},
		{"message.mbox", []string{"permerror"}, []bool{true}}, // kitterman.com 2007-00: no key published here
	}
	for _, s := range signed {
		msg, err := ParseMessage([]byte(read(s.file) + "\n"))
		if err != nil {
			t.Fatalf("%s: %v", s.file, err)
		}
		rep := InspectDKIM(ctx, c, DKIMOptions{Domain: msg.FromDomain, Message: msg})
		if len(msg.Signatures) != len(s.want) {
			t.Errorf("%s: %d signatures, want %d", s.file, len(msg.Signatures), len(s.want))
			continue
		}
		for i, sig := range msg.Signatures {
			check(sig.Result == s.want[i] && sig.Aligned == s.aligned[i], "%s signature %d (d=%s s=%s): %s aligned=%v (%s), want %s aligned=%v",
				s.file, i, sig.Domain, sig.Selector, sig.Result, sig.Aligned, sig.Problem, s.want[i], s.aligned[i])
		}
		if s.file == "rfc6376.signed.msg" {
			check(findByID(rep.Findings, "dkim.canonicalization_simple") != nil, "rfc6376.signed.msg: c=simple/simple not flagged")
		}
	}

	// Unsigned messages: flagged as unsigned, then signed with fresh keys.
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	edPub, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	published := map[string]bool{}
	for _, file := range []string{"test.message", "rfc6376.msg", "ed25519test.msg", "test_extra.message"} {
		raw := []byte(read(file) + "\n")
		msg, err := ParseMessage(raw)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		rep := InspectDKIM(ctx, c, DKIMOptions{Domain: msg.FromDomain, Message: msg})
		check(findByID(rep.Findings, "dkim.unsigned") != nil, "%s: unsigned message not flagged", file)

		if !published[msg.FromDomain] {
			published[msg.FromDomain] = true
			srv.add(txtRR("gen-rsa._domainkey."+msg.FromDomain, "v=DKIM1; k=rsa; p="+base64.StdEncoding.EncodeToString(der)))
			srv.add(txtRR("gen-ed._domainkey."+msg.FromDomain, "v=DKIM1; k=ed25519; p="+base64.StdEncoding.EncodeToString(edPub)))
		}
		for _, variant := range []struct {
			selector string
			signer   crypto.Signer
			canon    dkim.Canonicalization
		}{
			{"gen-rsa", rsaKey, dkim.CanonicalizationRelaxed},
			{"gen-rsa", rsaKey, dkim.CanonicalizationSimple},
			{"gen-ed", edKey, dkim.CanonicalizationRelaxed},
		} {
			var out bytes.Buffer
			opts := &dkim.SignOptions{Domain: msg.FromDomain, Selector: variant.selector, Signer: variant.signer,
				HeaderCanonicalization: variant.canon, BodyCanonicalization: variant.canon}
			if err := dkim.Sign(&out, bytes.NewReader(toCRLF(raw)), opts); err != nil {
				t.Fatalf("%s: sign: %v", file, err)
			}
			got := verifyOne(t, ctx, c, out.Bytes())
			check(got == "pass", "%s signed by %s/%s: %s, want pass", file, variant.selector, variant.canon, got)
			tampered := append(bytes.Clone(out.Bytes()), []byte("tampered\r\n")...)
			got = verifyOne(t, ctx, c, tampered)
			check(got == "fail", "%s signed by %s/%s then changed: %s, want fail", file, variant.selector, variant.canon, got)
		}
	}

	// No From: DMARC has no author domain.
	msg, err := ParseMessage([]byte(read("test_nofrom.message") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	rep := InspectDKIM(ctx, c, DKIMOptions{Domain: "example.com", Message: msg})
	check(msg.FromCount == 0 && findByID(rep.Findings, "dkim.from_invalid") != nil, "test_nofrom.message: From count %d", msg.FromCount)

	t.Logf("DKIM test vectors: %d/%d expected outcomes", passed, total)
}

func verifyOne(t *testing.T, ctx context.Context, r Resolver, raw []byte) string {
	t.Helper()
	msg, err := ParseMessage(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyMessage(ctx, r, msg); err != nil {
		t.Fatal(err)
	}
	if len(msg.Signatures) != 1 {
		return fmt.Sprintf("%d signatures", len(msg.Signatures))
	}
	return msg.Signatures[0].Result
}

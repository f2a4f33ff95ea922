package checks

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
)

func dkimFixture(t *testing.T) (*testDNS, *Client) {
	t.Helper()
	srv := newTestDNS(t)
	srv.loadZone(t, filepath.Join("testdata", "zones", "dkim.example.zone"), "dkim.example.")
	return srv, srv.client(t)
}

func TestParseDKIMKey(t *testing.T) {
	bad := []string{
		"", "v=DKIM2; p=AAAA", "k=rsa", "k=dsa; p=AAAA", "p=***", "p=AAAA; p=AAAA", "k=rsa; v=DKIM1; p=AAAA",
		"k=ed25519; p=AAAA", "=x; p=", "v=DKIM1: g=*; p=AAAA",
	}
	for _, r := range bad {
		if _, err := ParseDKIMKey(r); err == nil {
			t.Errorf("%q accepted", r)
		}
	}
	k, err := ParseDKIMKey("v=DKIM1; p=")
	if err != nil || !k.Revoked {
		t.Errorf("revoked key: %+v %v", k, err)
	}
	k, err = ParseDKIMKey("v=DKIM1; k=ed25519; h=sha256:sha1; s=email:tlsrpt; t=y:s; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
	if err != nil || k.KeyType != "ed25519" || !k.Testing || !k.StrictSubdom || k.SHA1Only() || !k.ForEmail() {
		t.Errorf("ed25519 key: %+v %v", k, err)
	}
}

func TestInspectDKIMKeys(t *testing.T) {
	srv, c := dkimFixture(t)
	srv.setFault("slow._domainkey.dkim.example", 0, faultTimeout)
	rep := InspectDKIM(context.Background(), c, DKIMOptions{
		Domain:    "dkim.example",
		Selectors: []string{"s1024", "s512", "testing", "revoked", "sha1", "tlsrpt", "garbage", "twice", "absent", "slow"},
		Probe:     true,
	})
	ids := findingIDs(rep.Findings)
	for _, want := range []string{
		"dkim.key_ok=ok", "dkim.key_1024=warn", "dkim.key_too_short=fail", "dkim.key_testing=warn",
		"dkim.key_revoked=fail", "dkim.key_sha1_only=fail", "dkim.key_not_for_email=fail", "dkim.key_invalid=fail",
		"dkim.multiple_records=fail", "dkim.selector_missing=fail", "dkim.dns_error=warn",
	} {
		if !slices.Contains(ids, want) {
			t.Errorf("missing %s in %q", want, ids)
		}
	}
	// the probe found Microsoft's selector1 through its CNAME; the other
	// probes found nothing and are not reported
	var probed []DKIMKey
	for _, k := range rep.Keys {
		if k.Source != "given" {
			probed = append(probed, k)
		}
	}
	if len(probed) != 1 || probed[0].Selector != "selector1" || probed[0].Source != "Microsoft 365" || probed[0].Key.Bits != 2048 || len(probed[0].CNAMEs) != 1 {
		t.Errorf("probed keys %+v", probed)
	}
	defaults, _ := DefaultSelectors()
	if rep.Probed != 10+len(defaults) {
		t.Errorf("probed %d names, want %d", rep.Probed, 10+len(defaults))
	}
	ok := findByID(rep.Findings, "dkim.key_ok")
	if !strings.Contains(ok.Message, "Microsoft 365") || !strings.Contains(strings.Join(ok.Evidence, "\n"), "CNAME selector1-dkim-example") {
		t.Errorf("key_ok finding %+v", ok)
	}

	// nothing given, nothing found
	rep = InspectDKIM(context.Background(), c, DKIMOptions{Domain: "nokeys.example", Probe: true})
	if f := findByID(rep.Findings, "dkim.no_key_found"); f == nil || f.Severity != SeverityWarn {
		t.Errorf("no keys: %q", findingIDs(rep.Findings))
	}
}

const dkimTestMessage = `From: Sender <news@dkim.example>
To: someone@example.net
Subject: Hello
Date: Mon, 02 Jun 2025 10:00:00 +0000
Message-ID: <1@dkim.example>
List-Unsubscribe: <https://dkim.example/u/1>
List-Unsubscribe-Post: List-Unsubscribe=One-Click

Body text.
`

func signTestMessage(t *testing.T, raw, domain, selector string, key ed25519.PrivateKey, canon dkim.Canonicalization, headers []string) []byte {
	t.Helper()
	var out bytes.Buffer
	err := dkim.Sign(&out, bytes.NewReader(toCRLF([]byte(raw))), &dkim.SignOptions{
		Domain: domain, Selector: selector, Signer: key, HeaderCanonicalization: canon, BodyCanonicalization: canon, HeaderKeys: headers,
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestInspectDKIMMessage(t *testing.T) {
	srv, c := dkimFixture(t)
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rec := "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
	srv.add(txtRR("ed._domainkey.dkim.example", rec), txtRR("esp._domainkey.esp.example", rec))

	// aligned, relaxed, everything signed
	raw := signTestMessage(t, dkimTestMessage, "dkim.example", "ed", key, dkim.CanonicalizationRelaxed, nil)
	msg, err := ParseMessage(raw)
	if err != nil {
		t.Fatal(err)
	}
	if msg.FromDomain != "dkim.example" || msg.FromCount != 1 || !msg.ListUnsubscribe || !msg.ListUnsubscribePost {
		t.Errorf("message %+v", msg)
	}
	rep := InspectDKIM(context.Background(), c, DKIMOptions{Domain: "dkim.example", Message: msg})
	ids := findingIDs(rep.Findings)
	if !slices.Contains(ids, "dkim.signature.pass=ok") || slices.Contains(ids, "dkim.no_aligned_pass=fail") || slices.Contains(ids, "dkim.canonicalization_simple=warn") {
		t.Errorf("aligned relaxed: %q", ids)
	}
	if s := msg.Signatures[0]; !s.Aligned || s.Canonicalization != "relaxed/relaxed" || s.Selector != "ed" {
		t.Errorf("signature %+v", s)
	}

	// third party, simple, few headers: verifies but does not align
	raw = signTestMessage(t, dkimTestMessage, "esp.example", "esp", key, dkim.CanonicalizationSimple, []string{"From"})
	msg, _ = ParseMessage(raw)
	rep = InspectDKIM(context.Background(), c, DKIMOptions{Domain: "dkim.example", Message: msg})
	ids = findingIDs(rep.Findings)
	for _, want := range []string{"dkim.signature.pass=ok", "dkim.canonicalization_simple=warn", "dkim.headers_unsigned=warn", "dkim.no_aligned_pass=fail"} {
		if !slices.Contains(ids, want) {
			t.Errorf("third party: missing %s in %q", want, ids)
		}
	}
	if f := findByID(rep.Findings, "dkim.headers_unsigned"); !strings.Contains(f.Message, "subject") || !strings.Contains(f.Message, "list-unsubscribe") {
		t.Errorf("unsigned headers %q", f.Message)
	}

	// a changed body fails; a key server that does not answer is a temperror
	tampered := bytes.Replace(signTestMessage(t, dkimTestMessage, "dkim.example", "ed", key, dkim.CanonicalizationRelaxed, nil), []byte("Body text."), []byte("Body text!"), 1)
	msg, _ = ParseMessage(tampered)
	rep = InspectDKIM(context.Background(), c, DKIMOptions{Domain: "dkim.example", Message: msg})
	if f := findByID(rep.Findings, "dkim.signature.fail"); f == nil || !strings.Contains(f.Message, "body hash") {
		t.Errorf("tampered: %q", findingIDs(rep.Findings))
	}
	srv.setFault("ed._domainkey.dkim.example", 0, faultServFail)
	msg, _ = ParseMessage(signTestMessage(t, dkimTestMessage, "dkim.example", "ed", key, dkim.CanonicalizationRelaxed, nil))
	rep = InspectDKIM(context.Background(), c, DKIMOptions{Domain: "dkim.example", Message: msg})
	if f := findByID(rep.Findings, "dkim.signature.temperror"); f == nil || f.Severity != SeverityWarn {
		t.Errorf("servfail: %q", findingIDs(rep.Findings))
	}

	// unsigned, two From addresses
	msg, _ = ParseMessage([]byte("From: a@dkim.example, b@other.example\nSubject: x\n\nbody\n"))
	rep = InspectDKIM(context.Background(), c, DKIMOptions{Domain: "dkim.example", Message: msg})
	ids = findingIDs(rep.Findings)
	if !slices.Contains(ids, "dkim.unsigned=fail") || !slices.Contains(ids, "dkim.from_invalid=fail") || msg.FromCount != 2 {
		t.Errorf("unsigned: %q (from count %d)", ids, msg.FromCount)
	}
}

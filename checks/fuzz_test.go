package checks

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// The fuzz targets run their seeds as ordinary tests; `go test -fuzz
// FuzzParseSPF ./checks/` explores further.

func FuzzParseSPF(f *testing.F) {
	for _, s := range []string{
		"v=spf1", "v=spf1 -all", "v=spf1 a mx ptr -all", "v=spf1 a:%{d}/24//64 mx:x.example//0 ~all",
		"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.example.com ?all", "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all",
		"v=spf1 redirect=_spf.example.com", "v=spf1 exp=%{d}.exp.example.com -all", "v=spf1 foo=bar%%%_%-",
		"v=spf1 a:foo:bar/baz.example.com", "v=spf1 ip4:1.2.3.4//32", "v=spf1 -all.", "V=SPF1 A/33", "v=spf1 ip6::CAFE::BABE",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rec, err := ParseSPF(s)
		if err != nil {
			if _, ok := err.(*SPFSyntaxError); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if !isSPFRecord(s) {
			t.Fatalf("accepted %q without v=spf1", s)
		}
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] > 0x7e {
				t.Fatalf("accepted non-printable byte in %q", s)
			}
		}
		// the record is a sequence of terms: rebuilding it with single
		// spaces must parse to the same terms
		var raws []string
		for _, d := range rec.directives {
			if !slices.Contains([]string{"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"}, d.mech) {
				t.Fatalf("unknown mechanism %q accepted", d.mech)
			}
			raws = append(raws, d.raw)
		}
		for _, m := range rec.modifiers {
			raws = append(raws, m.raw)
		}
		again, err := ParseSPF("v=spf1 " + strings.Join(raws, " "))
		if err != nil || len(again.directives) != len(rec.directives) || len(again.modifiers) != len(rec.modifiers) {
			t.Fatalf("reparse of %q: %v", s, err)
		}
	})
}

func FuzzExpandSPFMacros(f *testing.F) {
	for _, s := range []string{
		"%{s}", "%{l}.%{o}", "%{d2r}", "%{ir}.%{v}._spf.%{d2}", "%{lr-}.lp._spf.%{d2}", "%{L}", "%{S}%%%_%-",
		"%{d0}", "%{x}", "%", "%{", "%{l2r+-=,/_.}", "%{c} %{r} %{t}", "%{p}", "plain.example.com", "%{i99999999999999}",
	} {
		f.Add(s, "strong-bad@email.example.com", "192.0.2.3")
		f.Add(s, "", "2001:db8::cb01")
	}
	f.Fuzz(func(t *testing.T, s, sender, ipText string) {
		ip, err := netip.ParseAddr(ipText)
		if err != nil {
			ip = netip.MustParseAddr("192.0.2.1")
		}
		out, err := ExpandSPFMacros(s, false, ip, sender, "helo.example", "example.com")
		if err != nil {
			return
		}
		if !strings.Contains(s, "%") && out != s {
			t.Fatalf("literal %q expanded to %q", s, out)
		}
		// anything valid in a domain-spec is valid in explanation text
		exp, err := ExpandSPFMacros(s, true, ip, sender, "helo.example", "example.com")
		if err != nil || exp != out {
			t.Fatalf("explain expansion of %q: %q, %v; domain expansion %q", s, exp, err, out)
		}
		again, _ := ExpandSPFMacros(s, false, ip, sender, "helo.example", "example.com")
		if again != out {
			t.Fatal("expansion is not deterministic")
		}
		// Over 253 octets only when no label is left to drop: a single
		// label that long is refused by the query layer (labels max 63).
		if tn := targetName(out); len(tn) > 253 && strings.Contains(tn, ".") {
			t.Fatalf("target name of %d octets", len(tn))
		}
	})
}

func FuzzParseDMARC(f *testing.F) {
	for _, s := range []string{
		"v=DMARC1; p=none", "v=DMARC1; p=reject; sp=quarantine; np=reject; adkim=s; aspf=r; psd=y; t=y",
		"v=DMARC1; p=quarantine; rua=mailto:a@example.com!10m,mailto:b@example.net; ruf=mailto:c@example.org; fo=1:d",
		"v=DMARC1; rua=mailto:x@example.com", "v=DMARC1; p=none; pct=50; rf=afrf; ri=86400", "v = DMARC1 ; p = none ;",
		"v=DMARC1;;;p=none", "p=none; v=DMARC1", "v=DMARC1; p=bogus",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rec, err := ParseDMARC(s)
		if err != nil {
			return
		}
		if !isDMARCRecord(s) {
			t.Fatalf("accepted %q", s)
		}
		if rec.Policy != "" && !isPolicy(rec.Policy) {
			t.Fatalf("policy %q", rec.Policy)
		}
		if rec.Policy == "" && len(rec.RUA) == 0 {
			t.Fatal("record without p= and rua= accepted")
		}
		if !isPolicy(rec.EffectivePolicy()) || (rec.ADKIM != "r" && rec.ADKIM != "s") || (rec.ASPF != "r" && rec.ASPF != "s") ||
			!slices.Contains([]string{"y", "n", "u"}, rec.PSD) {
			t.Fatalf("field out of range: %+v", rec)
		}
	})
}

func FuzzParseDKIMKey(f *testing.F) {
	for _, s := range []string{
		"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB",
		"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", "v=DKIM1; p=", "k=rsa; t=y:s; h=sha1:sha256; s=email; p=AAAA",
		"v=DKIM1: g=*; p=AAAA", "k=ed25519-sha256; p=AAAA", "p=  AA AA  ", "v=DKIM1;;; p=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseDKIMKey(s)
		if err != nil {
			return
		}
		switch {
		case k.KeyType != "rsa" && k.KeyType != "ed25519":
			t.Fatalf("key type %q", k.KeyType)
		case k.Revoked && k.Bits != 0, !k.Revoked && k.Bits <= 0:
			t.Fatalf("revoked %v bits %d", k.Revoked, k.Bits)
		case k.KeyType == "ed25519" && !k.Revoked && k.Bits != 256:
			t.Fatalf("ed25519 of %d bits", k.Bits)
		}
	})
}

// mapResolver answers from a map; the fuzzer uses it to run check_host on
// arbitrary records without a network.
type mapResolver map[string][]string

func (m mapResolver) Lookup(_ context.Context, name string, qtype RRType) (Answer, error) {
	a := Answer{Name: name, Type: qtype, Status: StatusNXDomain}
	if why := checkName(name); why != "" {
		return badName(name, qtype, why)
	}
	key := strings.ToLower(strings.TrimSuffix(name, ".")) + " " + qtype.String()
	vals, ok := m[key]
	if !ok {
		return a, nil
	}
	a.Status = StatusOK
	for _, v := range vals {
		r := Record{Name: name, Type: qtype}
		switch qtype {
		case TypeA, TypeAAAA:
			r.Addr = netip.MustParseAddr(v)
		case TypeMX, TypePTR, TypeCNAME:
			r.Target = v
		default:
			r.Text = []string{v}
		}
		a.Records = append(a.Records, r)
	}
	return a, nil
}

func FuzzEvaluateSPF(f *testing.F) {
	for _, s := range []string{
		"v=spf1 include:inc.example -all", "v=spf1 a mx ptr exists:%{i}.x.example ~all", "v=spf1 redirect=example.com",
		"v=spf1 a:nx1.example a:nx2.example a:nx3.example -all", "v=spf1 include:example.com", "v=spf1 -all exp=exp.example",
	} {
		f.Add(s, "v=spf1 ip4:192.0.2.0/24 include:example.com ?all")
	}
	f.Fuzz(func(t *testing.T, top, inc string) {
		if !utf8.ValidString(top) {
			return
		}
		r := mapResolver{
			"example.com TXT":            {top},
			"inc.example TXT":            {inc},
			"example.com A":              {"192.0.2.1"},
			"example.com MX":             {"mx.example.com"},
			"mx.example.com A":           {"192.0.2.2"},
			"exp.example TXT":            {"%{i} is not allowed"},
			"1.2.0.192.in-addr.arpa PTR": {"example.com"},
		}
		out := EvaluateSPF(context.Background(), r, SPFRequest{IP: netip.MustParseAddr("192.0.2.1"), MailFrom: "a@example.com", HELO: "h.example"})
		if !slices.Contains([]SPFResult{SPFPass, SPFFail, SPFSoftFail, SPFNeutral, SPFNone, SPFPermError, SPFTempError}, out.Result) {
			t.Fatalf("result %q", out.Result)
		}
		if out.Lookups > spfMaxLookups+1 || out.VoidLookups > spfMaxVoidLookups+1 {
			t.Fatalf("limits overrun: %d lookups, %d void", out.Lookups, out.VoidLookups)
		}
		if out.Explanation != "" && out.Result != SPFFail {
			t.Fatalf("explanation %q on %s", out.Explanation, out.Result)
		}
	})
}

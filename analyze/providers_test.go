package analyze

import (
	"regexp"
	"testing"
)

func TestForDomainIsExact(t *testing.T) {
	p := DefaultProviders()
	cases := []struct {
		domain string
		want   Provider
	}{
		{"hotmail.com", ProviderMicrosoft},
		{"HOTMAIL.COM.", ProviderMicrosoft},
		{"outlook.com", ProviderMicrosoft},
		{"live.com", ProviderMicrosoft},
		{"msn.com", ProviderMicrosoft},
		{"hotmail.co.uk", ProviderMicrosoft},
		{"live.nl", ProviderMicrosoft},
		{"outlook.de", ProviderMicrosoft},
		{"windowslive.com", ProviderMicrosoft},
		// The operator's regex hotmail|live|msn|outlook matches all of these.
		{"olive.com", ProviderOther},
		{"delivery.com", ProviderOther},
		{"livejournal.com", ProviderOther},
		{"outlook.example.com", ProviderOther},
		{"mail.hotmail.com", ProviderOther},
		{"gmail.com", ProviderGmail},
		{"googlemail.com", ProviderGmail},
		{"yahoo.co.uk", ProviderYahoo},
		{"aol.com", ProviderYahoo},
		{"icloud.com", ProviderApple},
		{"example.org", ProviderOther},
	}
	naive := regexp.MustCompile(`hotmail|live|msn|outlook`)
	fooled := 0
	for _, c := range cases {
		if got := p.ForDomain(c.domain); got != c.want {
			t.Errorf("ForDomain(%q) = %q, want %q", c.domain, got, c.want)
		}
		if naive.MatchString(c.domain) && c.want != ProviderMicrosoft {
			fooled++
		}
	}
	if fooled < 4 {
		t.Fatalf("the table should hold the regex's false matches; only %d do", fooled)
	}
}

func TestMicrosoftDomainListIsTheSourcedOne(t *testing.T) {
	ms := DefaultProviders().Domains(ProviderMicrosoft)
	if len(ms) != 120 {
		t.Fatalf("got %d Microsoft consumer domains, want the 120 of the sourced list", len(ms))
	}
	for _, d := range DefaultProviders().Domains("") {
		if d.Source == "" {
			t.Errorf("%s has no source", d.Domain)
		}
	}
}

package analyze

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Provider names a mailbox provider whose receiving behaviour we know.
type Provider string

const (
	ProviderMicrosoft Provider = "microsoft"
	ProviderGmail     Provider = "gmail"
	ProviderYahoo     Provider = "yahoo" // Yahoo and AOL share receiving infrastructure
	ProviderApple     Provider = "apple"
	ProviderOther     Provider = "other"
)

// KnownProviders is every provider value in display order.
var KnownProviders = []Provider{ProviderMicrosoft, ProviderGmail, ProviderYahoo, ProviderApple, ProviderOther}

// ParseProvider validates a --provider value; "all" is returned as "".
func ParseProvider(s string) (Provider, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "all" || s == "" {
		return "", nil
	}
	if s == "google" {
		s = "gmail"
	}
	if s == "aol" {
		s = "yahoo"
	}
	if s == "outlook" || s == "hotmail" {
		s = "microsoft"
	}
	for _, p := range KnownProviders {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("unknown provider %q (known: microsoft, gmail, yahoo, apple, other, all)", s)
}

//go:embed data/providers.tsv
var providersTSV []byte

// DomainRow is one known consumer domain with the source that lists it.
type DomainRow struct {
	Domain   string   `json:"domain"`
	Provider Provider `json:"provider"`
	Source   string   `json:"source"`
}

// Providers answers which provider receives mail for a domain, by exact
// domain match. (Which receiving system an MX host belongs to is the DNS
// checks' knowledge: checks/knowledge/mx_receivers.csv.)
type Providers struct {
	byDomain map[string]Provider
	domains  []DomainRow
}

// DefaultProviders is the embedded knowledge, parsed once. It is never
// modified after parsing.
var DefaultProviders = sync.OnceValue(func() *Providers {
	p, err := parseProviders(providersTSV)
	if err != nil {
		panic("embedded provider data: " + err.Error())
	}
	return p
})

func parseProviders(domainData []byte) (*Providers, error) {
	p := &Providers{byDomain: map[string]Provider{}}
	err := readTSV(domainData, 3, func(line int, f []string) error {
		d := strings.ToLower(f[0])
		if _, dup := p.byDomain[d]; dup {
			return fmt.Errorf("line %d: %s listed twice", line, d)
		}
		if f[2] == "" {
			return fmt.Errorf("line %d: %s has no source", line, d)
		}
		row := DomainRow{Domain: d, Provider: Provider(f[1]), Source: f[2]}
		p.byDomain[d] = row.Provider
		p.domains = append(p.domains, row)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("providers.tsv: %w", err)
	}
	return p, nil
}

// readTSV calls fn for each data row (after the header), skipping comments.
func readTSV(data []byte, cols int, fn func(line int, fields []string) error) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	header := true
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if header {
			header = false
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != cols {
			return fmt.Errorf("line %d: %d columns, want %d", n, len(f), cols)
		}
		if err := fn(n, f); err != nil {
			return err
		}
	}
	return sc.Err()
}

// ForDomain returns the provider receiving mail for domain, matching the
// whole domain exactly (case-insensitive, trailing dot ignored). A domain not
// listed is ProviderOther: vanity domains hosted by a provider show up only
// through their MX (see ForMX).
func (p *Providers) ForDomain(domain string) Provider {
	if v, ok := p.byDomain[domain]; ok {
		return v
	}
	d := strings.TrimSuffix(strings.ToLower(domain), ".")
	if v, ok := p.byDomain[d]; ok {
		return v
	}
	return ProviderOther
}

// Domains lists the known domains of a provider (all when provider is ""), sorted.
func (p *Providers) Domains(provider Provider) []DomainRow {
	var out []DomainRow
	for _, d := range p.domains {
		if provider == "" || d.Provider == provider {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Domain < out[j].Domain })
	return out
}

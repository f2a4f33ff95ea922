package checks

import (
	"embed"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
)

// The provider knowledge the checks use is data with a source per row, not
// literals in code: DKIM selectors to probe, default DNS block lists, and MX
// suffixes that tell receiving systems apart.
//
//go:embed knowledge/*.csv
var knowledgeFS embed.FS

// readKnowledge reads one embedded CSV file (a header row, "#" comments) and
// checks that every row has want fields.
func readKnowledge(name string, want int) ([][]string, error) {
	f, err := knowledgeFS.Open("knowledge/" + name)
	if err != nil {
		return nil, fmt.Errorf("knowledge %s: %w", name, err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comment = '#'
	r.FieldsPerRecord = want
	var rows [][]string
	for first := true; ; first = false {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("knowledge %s: %w", name, err)
		}
		if first {
			continue
		}
		for i, v := range rec {
			if strings.TrimSpace(v) == "" {
				line, _ := r.FieldPos(i)
				return nil, fmt.Errorf("knowledge %s:%d: empty field %d", name, line, i+1)
			}
		}
		rows = append(rows, rec)
	}
}

// SelectorSource is a DKIM selector worth probing and who uses it.
type SelectorSource struct {
	Selector string `json:"selector"`
	Provider string `json:"provider"`
	Source   string `json:"source"`
}

// DefaultSelectors returns the selectors probed when none is given.
func DefaultSelectors() ([]SelectorSource, error) {
	rows, err := readKnowledge("dkim_selectors.csv", 3)
	if err != nil {
		return nil, err
	}
	out := make([]SelectorSource, len(rows))
	for i, r := range rows {
		out[i] = SelectorSource{Selector: r[0], Provider: r[1], Source: r[2]}
	}
	return out, nil
}

// DNSBLZone is one DNS block list.
type DNSBLZone struct {
	Zone   string            `json:"zone"`
	Name   string            `json:"name"`
	IPv6   bool              `json:"ipv6"`
	Codes  map[string]string `json:"codes,omitempty"` // "127.0.0.2" -> meaning
	Source string            `json:"source,omitempty"`
}

// DefaultDNSBLZones returns the block lists queried when none is given.
func DefaultDNSBLZones() ([]DNSBLZone, error) {
	rows, err := readKnowledge("dnsbl_zones.csv", 5)
	if err != nil {
		return nil, err
	}
	out := make([]DNSBLZone, len(rows))
	for i, r := range rows {
		z := DNSBLZone{Zone: r[0], Name: r[1], IPv6: r[2] == "yes", Codes: map[string]string{}, Source: r[4]}
		for _, pair := range strings.Split(r[3], "|") {
			code, meaning, ok := strings.Cut(pair, "=")
			if !ok {
				return nil, fmt.Errorf("knowledge dnsbl_zones.csv: zone %s: code %q has no meaning", z.Zone, pair)
			}
			z.Codes[code] = meaning
		}
		out[i] = z
	}
	return out, nil
}

// ReceiverSystem is the mail system behind a recipient domain; it decides
// where a delivery ticket goes.
type ReceiverSystem string

// Receiving systems told apart by MX.
const (
	ReceiverOutlookConsumer ReceiverSystem = "outlook_consumer" // Outlook.com, Hotmail, Live, MSN
	ReceiverMicrosoft365    ReceiverSystem = "microsoft_365"    // Exchange Online Protection tenants
	ReceiverGoogle          ReceiverSystem = "google"
	ReceiverYahoo           ReceiverSystem = "yahoo"
	ReceiverOther           ReceiverSystem = "other"
)

type mxRule struct {
	suffix  string
	system  ReceiverSystem
	source  string
	example string
}

func receiverRules() ([]mxRule, error) {
	rows, err := readKnowledge("mx_receivers.csv", 4)
	if err != nil {
		return nil, err
	}
	out := make([]mxRule, len(rows))
	for i, r := range rows {
		out[i] = mxRule{suffix: strings.ToLower(r[0]), system: ReceiverSystem(r[1]), source: r[2], example: r[3]}
	}
	return out, nil
}

// classifyMXHost maps an MX host to its receiving system by the longest
// matching rule.
func classifyMXHost(rules []mxRule, host string) (ReceiverSystem, string) {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	best, bestLen, src := ReceiverOther, -1, ""
	for _, r := range rules {
		match := false
		if strings.HasPrefix(r.suffix, ".") {
			match = strings.HasSuffix(host, r.suffix)
		} else {
			match = host == r.suffix
		}
		if match && len(r.suffix) > bestLen {
			best, bestLen, src = r.system, len(r.suffix), r.source
		}
	}
	return best, src
}

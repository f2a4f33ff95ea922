package analyze

import (
	_ "embed"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed data/shaping.tsv
var shapingTSV []byte

// ThrottleRule is a reply text that means "slow down", as a regular
// expression, with a reply it matches and where it comes from.
type ThrottleRule struct {
	Regex   string `json:"regex"`
	Example string `json:"example"`
	Source  string `json:"source"`
}

// ShapeKnowledge is what the embedded data says about shaping mail to one
// provider. Sources maps each key of data/shaping.tsv to its source.
type ShapeKnowledge struct {
	Provider                   Provider          `json:"provider"`
	System                     string            `json:"system"`
	MXSuffixes                 []string          `json:"mx_suffixes"`
	MaxConnections             int               `json:"max_connections"`
	MaxDeliveriesPerConnection int               `json:"max_deliveries_per_connection"`
	Throttle                   []ThrottleRule    `json:"throttle"`
	Backoff                    *Limit            `json:"-"` // nil: suspend sending
	BackoffFor                 time.Duration     `json:"-"`
	IncreaseAfter              time.Duration     `json:"-"`
	IncreaseStepPercent        int               `json:"increase_step_percent"`
	Sources                    map[string]string `json:"sources"`
}

// shapingKnowledge is data/shaping.tsv, parsed once and never modified.
var shapingKnowledge = sync.OnceValue(func() map[Provider]*ShapeKnowledge {
	k, err := parseShaping(shapingTSV)
	if err != nil {
		panic("embedded shaping data: " + err.Error())
	}
	return k
})

func parseShaping(data []byte) (map[Provider]*ShapeKnowledge, error) {
	out := map[Provider]*ShapeKnowledge{}
	err := readTSV(data, 5, func(line int, f []string) error {
		p, key, value, example, source := Provider(f[0]), f[1], f[2], f[3], f[4]
		if source == "" {
			return fmt.Errorf("line %d: %s %s has no source", line, p, key)
		}
		k := out[p]
		if k == nil {
			k = &ShapeKnowledge{Provider: p, Sources: map[string]string{}}
			out[p] = k
		}
		if prev, ok := k.Sources[key]; ok && key != "throttle_regex" && key != "mx_suffix" {
			return fmt.Errorf("line %d: %s %s given twice (first: %s)", line, p, key, prev)
		}
		k.Sources[key] = source
		bad := func(err error) error { return fmt.Errorf("line %d: %s %s %q: %w", line, p, key, value, err) }
		var err error
		switch key {
		case "system":
			k.System = value
		case "mx_suffix":
			if !strings.HasPrefix(value, ".") || strings.ContainsAny(value, " '\"") {
				return bad(fmt.Errorf("an MX suffix starts with a dot"))
			}
			k.MXSuffixes = append(k.MXSuffixes, value)
		case "max_connections":
			k.MaxConnections, err = positive(value)
		case "max_deliveries_per_connection":
			k.MaxDeliveriesPerConnection, err = positive(value)
		case "throttle_regex":
			if _, err := regexp.Compile(value); err != nil {
				return bad(err)
			}
			if example == "" {
				return bad(fmt.Errorf("no example reply"))
			}
			k.Throttle = append(k.Throttle, ThrottleRule{Regex: value, Example: example, Source: source})
		case "backoff_rate":
			if value != "suspend" {
				var l Limit
				l, err = ParseLimit(value)
				k.Backoff = &l
			}
		case "backoff_for":
			k.BackoffFor, err = time.ParseDuration(value)
		case "increase_after":
			k.IncreaseAfter, err = time.ParseDuration(value)
		case "increase_step":
			k.IncreaseStepPercent, err = positive(value)
		default:
			return fmt.Errorf("line %d: unknown key %q", line, key)
		}
		if err != nil {
			return bad(err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("shaping.tsv: %w", err)
	}
	for p, k := range out {
		if k.System == "" || len(k.MXSuffixes) == 0 || k.MaxConnections == 0 || k.MaxDeliveriesPerConnection == 0 || len(k.Throttle) == 0 ||
			k.BackoffFor == 0 || k.IncreaseAfter == 0 || k.IncreaseStepPercent == 0 {
			return nil, fmt.Errorf("shaping.tsv: %s lacks a key (system, mx_suffix, max_connections, max_deliveries_per_connection, throttle_regex, backoff_for, increase_after, increase_step)", p)
		}
	}
	return out, nil
}

func positive(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("not a positive whole number")
	}
	return n, nil
}

// ShapingFor returns the embedded shaping knowledge of a provider.
func ShapingFor(p Provider) (*ShapeKnowledge, bool) {
	k, ok := shapingKnowledge()[p]
	return k, ok
}

// ShapeOptions choose the limit to turn into configuration.
type ShapeOptions struct {
	Provider Provider
	Limit    Limit // per sending IP
	// PostfixNexthop, when set, routes every domain of the provider to this
	// one next hop, so Postfix queues them together and the rate delay
	// holds for all of them at once instead of per domain.
	PostfixNexthop string
}

// ShapePlan is a per-IP send limit worked out into the numbers MTAs take,
// each with the reason for it. Renderers in report turn it into Postfix,
// KumoMTA or generic configuration.
type ShapePlan struct {
	Provider Provider `json:"provider"`
	Limit    string   `json:"limit"` // per sending IP, as asked
	N        int      `json:"limit_n"`
	Per      string   `json:"limit_period"` // "1m", "1h"
	// PerHour and PerMinute are the limit per sending IP, rounded down.
	PerHour   int64    `json:"rate_per_ip_per_hour"`
	PerMinute float64  `json:"rate_per_ip_per_minute"`
	Domains   []string `json:"domains"`
	// System and MXSuffixes identify the receiving infrastructure, for
	// MTAs that shape by MX rather than by domain (".olc.protection.outlook.com").
	System                  string   `json:"system"`
	MXSuffixes              []string `json:"mx_suffixes"`
	Connections             int      `json:"max_connections_per_ip"`
	DeliveriesPerConnection int      `json:"max_deliveries_per_connection"`
	// Throttle are the replies that trigger the back-off.
	Throttle []ThrottleRule `json:"throttle_replies"`
	// Backoff is the reduced limit per IP after a throttle reply ("suspend"
	// to stop sending), for BackoffFor; deferred mail is retried no sooner
	// than RetryAfter.
	Backoff        string `json:"backoff_limit"`
	BackoffPerHour int64  `json:"backoff_per_ip_per_hour"`
	BackoffFor     string `json:"backoff_for"`
	RetryAfter     string `json:"retry_after"`
	// After IncreaseAfterHours without a throttle reply, the rate rises by
	// IncreaseStepPercent of the limit, back to the limit in RecoverySteps.
	IncreaseAfterHours  int `json:"increase_after_clean_hours"`
	IncreaseStepPercent int `json:"increase_step_percent"`
	RecoverySteps       int `json:"recovery_steps"`

	Postfix PostfixPlan       `json:"postfix"`
	KumoMTA KumoPlan          `json:"kumomta"`
	Sources map[string]string `json:"sources"` // knowledge key -> source
}

// PostfixPlan holds the numbers of the Postfix transport.
type PostfixPlan struct {
	Transport string `json:"transport"`
	Nexthop   string `json:"nexthop,omitempty"`
	// RateDelaySeconds is the pause between deliveries on one destination
	// queue; Postfix takes whole seconds.
	RateDelaySeconds int `json:"rate_delay_seconds"`
	// EffectivePerHour is what the whole-second delay allows, at most the limit.
	EffectivePerHour int64 `json:"effective_per_hour"`
	// Concurrency is 1: Postfix delivers one at a time when a rate delay is set.
	Concurrency int `json:"destination_concurrency_limit"`
	// RecipientLimit stays above 1 so that a destination is a domain, not a
	// recipient (with 1 the delay would apply per recipient).
	RecipientLimit          int `json:"destination_recipient_limit"`
	BackoffRateDelaySeconds int `json:"backoff_rate_delay_seconds,omitempty"` // 0 when the back-off suspends
}

// KumoPlan holds the values of the KumoMTA shaping entry.
type KumoPlan struct {
	ProviderName   string `json:"provider_name"`
	MaxMessageRate string `json:"provider_max_message_rate"`
	BackoffRate    string `json:"backoff_max_message_rate,omitempty"` // "" when the back-off suspends
	BackoffFor     string `json:"backoff_duration"`                   // whole minutes or hours: "90m", "2h"
}

// connectionPerMinute is what one connection is assumed to carry at most:
// a message a second. Below that a single connection is enough.
const connectionPerMinute = 60

// Shape works a per-IP limit out into MTA settings for one provider.
func Shape(opts ShapeOptions) (*ShapePlan, error) {
	k, ok := ShapingFor(opts.Provider)
	if !ok {
		return nil, fmt.Errorf("shape: no shaping knowledge for provider %q (known: microsoft, gmail, yahoo, apple)", providerLabel(opts.Provider))
	}
	lim := opts.Limit
	if lim.N < 1 || lim.Per <= 0 {
		return nil, fmt.Errorf("shape: limit %s is not a rate", lim)
	}
	perMs := lim.Per.Milliseconds()
	if perMs < 1000 {
		return nil, fmt.Errorf("shape: limit %s: use a period of a second or more", lim)
	}
	p := &ShapePlan{
		Provider:            opts.Provider,
		Limit:               lim.String(),
		N:                   lim.N,
		Per:                 formatPeriod(lim.Per),
		PerHour:             int64(lim.N) * 3_600_000 / perMs,
		PerMinute:           float64(lim.N) * 60_000 / float64(perMs),
		System:              k.System,
		Throttle:            k.Throttle,
		BackoffFor:          FormatLag(k.BackoffFor),
		RetryAfter:          FormatLag(k.BackoffFor),
		IncreaseAfterHours:  int(k.IncreaseAfter / time.Hour),
		IncreaseStepPercent: k.IncreaseStepPercent,
		Sources:             k.Sources,
	}
	// In the order of the sourced list, so the big domains come first.
	for _, d := range DefaultProviders().domains {
		if d.Provider == opts.Provider {
			p.Domains = append(p.Domains, d.Domain)
		}
	}
	p.MXSuffixes = k.MXSuffixes
	p.Connections = min(k.MaxConnections, max(1, ceilDiv(int64(p.PerMinute*1000), connectionPerMinute*1000)))
	p.DeliveriesPerConnection = min(k.MaxDeliveriesPerConnection, lim.N)

	// Postfix: one delivery per rate delay, rounded up to whole seconds so
	// the limit is never exceeded.
	delay := max(1, ceilDiv(perMs, int64(lim.N)*1000))
	p.Postfix = PostfixPlan{Transport: string(opts.Provider), Nexthop: opts.PostfixNexthop, RateDelaySeconds: delay,
		EffectivePerHour: int64(3600 / delay), Concurrency: 1, RecipientLimit: 2}
	p.KumoMTA = KumoPlan{ProviderName: "senderscope-" + string(opts.Provider), MaxMessageRate: kumoRate(lim) + ",max_burst=1",
		BackoffFor: kumoDuration(k.BackoffFor)}

	// Recovery: back from the back-off rate to the limit in steps of
	// IncreaseStepPercent of the limit.
	from := int64(0)
	p.Backoff = "suspend"
	if b := k.Backoff; b != nil {
		p.Backoff = b.String()
		p.BackoffPerHour = int64(b.N) * 3_600_000 / b.Per.Milliseconds()
		from = min(p.BackoffPerHour, p.PerHour)
		p.Postfix.BackoffRateDelaySeconds = max(delay, ceilDiv(b.Per.Milliseconds(), int64(b.N)*1000))
		p.KumoMTA.BackoffRate = kumoRate(*b)
	}
	if gap := p.PerHour - from; gap > 0 {
		step := max(1, p.PerHour*int64(k.IncreaseStepPercent)/100)
		p.RecoverySteps = ceilDiv(gap, step)
	}
	return p, nil
}

func ceilDiv(a, b int64) int {
	return int((a + b - 1) / b)
}

// kumoRate writes a limit the way KumoMTA's throttle specs read it
// (quantity/period with s, min, h or day); other periods become the
// per-hour rate, rounded down.
func kumoRate(l Limit) string {
	switch l.Per {
	case time.Second:
		return fmt.Sprintf("%d/s", l.N)
	case time.Minute:
		return fmt.Sprintf("%d/min", l.N)
	case time.Hour:
		return fmt.Sprintf("%d/h", l.N)
	case 24 * time.Hour:
		return fmt.Sprintf("%d/day", l.N)
	}
	return fmt.Sprintf("%d/h", max(1, int64(l.N)*3_600_000/l.Per.Milliseconds()))
}

// kumoDuration writes a duration in whole hours or minutes, forms KumoMTA's
// duration parser reads.
func kumoDuration(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return fmt.Sprintf("%dm", (d+time.Minute-1)/time.Minute)
}

// ShapeFormat is a configuration dialect shape writes.
type ShapeFormat string

const (
	ShapePostfix ShapeFormat = "postfix"
	ShapeKumoMTA ShapeFormat = "kumomta"
	ShapeYAML    ShapeFormat = "yaml"
)

// ParseShapeFormat validates --emit.
func ParseShapeFormat(s string) (ShapeFormat, error) {
	switch f := ShapeFormat(strings.ToLower(strings.TrimSpace(s))); f {
	case ShapePostfix, ShapeKumoMTA, ShapeYAML:
		return f, nil
	}
	return "", fmt.Errorf("--emit %q: use postfix, kumomta or yaml", s)
}

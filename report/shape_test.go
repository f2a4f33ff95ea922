package report

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/senderscope/senderscope/analyze"
)

// The YAML reads back, with every regex and example byte for byte.
func TestShapeYAMLParses(t *testing.T) {
	for _, prov := range []analyze.Provider{analyze.ProviderMicrosoft, analyze.ProviderGmail, analyze.ProviderYahoo, analyze.ProviderApple} {
		plan, err := analyze.Shape(analyze.ShapeOptions{Provider: prov, Limit: analyze.Limit{N: 7, Per: 5 * time.Minute}})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if err := WriteShape(&b, plan, analyze.ShapeYAML); err != nil {
			t.Fatal(err)
		}
		var got struct {
			Provider string   `yaml:"provider"`
			Limit    string   `yaml:"limit"`
			Domains  []string `yaml:"domains"`
			PerIP    struct {
				Connections int     `yaml:"max_connections"`
				PerConn     int     `yaml:"max_messages_per_connection"`
				PerHour     int64   `yaml:"rate_per_hour"`
				Interval    float64 `yaml:"min_interval_seconds"`
			} `yaml:"per_ip"`
			Backoff struct {
				On []struct {
					Regex   string `yaml:"regex"`
					Example string `yaml:"example"`
				} `yaml:"on"`
				PerHour    int64  `yaml:"rate_per_hour"`
				For        string `yaml:"for"`
				RetryAfter string `yaml:"retry_after"`
			} `yaml:"backoff"`
			Recovery struct {
				Steps int `yaml:"steps_to_limit"`
			} `yaml:"recovery"`
		}
		if err := yaml.Unmarshal([]byte(b.String()), &got); err != nil {
			t.Fatalf("%s: %v\n%s", prov, err, b.String())
		}
		if got.Provider != string(prov) || got.Limit != "7/5m" || len(got.Domains) != len(plan.Domains) || got.PerIP.PerHour != plan.PerHour ||
			got.PerIP.Connections != plan.Connections || got.PerIP.PerConn != plan.DeliveriesPerConnection || got.Recovery.Steps != plan.RecoverySteps {
			t.Errorf("%s: read back %+v", prov, got)
		}
		if got.PerIP.Interval*float64(plan.N) != 300 {
			t.Errorf("%s: interval %v s for 7 per 5 minutes", prov, got.PerIP.Interval)
		}
		if len(got.Backoff.On) != len(plan.Throttle) {
			t.Fatalf("%s: %d throttle rules read back, want %d", prov, len(got.Backoff.On), len(plan.Throttle))
		}
		for i, r := range plan.Throttle {
			if got.Backoff.On[i].Regex != r.Regex || got.Backoff.On[i].Example != r.Example {
				t.Errorf("%s: rule %d read back as %+v", prov, i, got.Backoff.On[i])
			}
		}
		if got.Backoff.PerHour != plan.BackoffPerHour || got.Backoff.For != plan.BackoffFor || got.Backoff.RetryAfter != plan.RetryAfter {
			t.Errorf("%s: backoff %+v", prov, got.Backoff)
		}
	}
}

func TestShapeQuoting(t *testing.T) {
	for in, want := range map[string]string{
		`4\.7\.650`:   `'4\.7\.650'`,
		`it's`:        `"it's"`,
		`a"b\c` + "'": `"a\"b\\c'"`,
		"tab\there":   `"tab\u0009here"`,
	} {
		if got := tomlString(in); got != want {
			t.Errorf("tomlString(%q) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{`it's`: `'it''s'`, `\[TS04\]`: `'\[TS04\]'`} {
		if got := yamlString(in); got != want {
			t.Errorf("yamlString(%q) = %s, want %s", in, got, want)
		}
	}
	var m map[string]string
	if err := yaml.Unmarshal([]byte("k: "+yamlString("bell\a'x")), &m); err != nil || m["k"] != "bell\a'x" {
		t.Errorf("a control character reads back as %q, %v", m["k"], err)
	}
}

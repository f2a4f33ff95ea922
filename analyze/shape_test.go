package analyze

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// Each throttle row's regex must match its example reply, and every row has
// a source (parseShaping enforces that).
func TestThrottleRulesMatchTheirExamples(t *testing.T) {
	n := 0
	for _, p := range []Provider{ProviderMicrosoft, ProviderGmail, ProviderYahoo, ProviderApple} {
		k, ok := ShapingFor(p)
		if !ok {
			t.Fatalf("no shaping knowledge for %s", p)
		}
		for _, r := range k.Throttle {
			n++
			if !regexp.MustCompile(r.Regex).MatchString(r.Example) {
				t.Errorf("%s: %q does not match its example %q", p, r.Regex, r.Example)
			}
		}
		for key, src := range k.Sources {
			if strings.TrimSpace(src) == "" {
				t.Errorf("%s %s: no source", p, key)
			}
		}
	}
	if n < 4 {
		t.Fatalf("only %d throttle rules", n)
	}
	// The 4.7.650 rule must not fire on other Microsoft deferrals.
	ms, _ := ShapingFor(ProviderMicrosoft)
	for _, r := range ms.Throttle {
		if regexp.MustCompile(r.Regex).MatchString("451 4.7.652 The mail server [203.0.113.7] has exceeded the maximum number of connections. (S3115)") {
			t.Errorf("%q matches the 4.7.652 connection-limit reply", r.Regex)
		}
	}
}

func TestParseShapingRejects(t *testing.T) {
	head := "provider\tkey\tvalue\texample\tsource\n"
	for name, body := range map[string]string{
		"no source":     "microsoft\tmax_connections\t5\t\t\n",
		"bad number":    "microsoft\tmax_connections\tfive\t\tsomewhere\n",
		"bad regex":     "microsoft\tthrottle_regex\t(\tx\tsomewhere\n",
		"no example":    "microsoft\tthrottle_regex\tx\t\tsomewhere\n",
		"unknown key":   "microsoft\tcolour\tblue\t\tsomewhere\n",
		"missing keys":  "microsoft\tsystem\toutlook.com\t\tsomewhere\n",
		"bad suffix":    "microsoft\tmx_suffix\tolc.protection.outlook.com\t\tsomewhere\n",
		"given twice":   "microsoft\tsystem\toutlook.com\t\tsomewhere\nmicrosoft\tsystem\tx\t\tsomewhere\n",
		"bad backoff":   "microsoft\tbackoff_rate\tslowly\t\tsomewhere\n",
		"short columns": "microsoft\tsystem\toutlook.com\n",
	} {
		if _, err := parseShaping([]byte(head + body)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestShapeTenPerMinute(t *testing.T) {
	p, err := Shape(ShapeOptions{Provider: ProviderMicrosoft, Limit: Limit{10, time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	if p.PerHour != 600 || p.PerMinute != 10 || p.Connections != 1 || p.DeliveriesPerConnection != 10 {
		t.Errorf("per hour %d, per minute %v, connections %d, per connection %d; want 600, 10, 1, 10", p.PerHour, p.PerMinute, p.Connections, p.DeliveriesPerConnection)
	}
	if len(p.Domains) != len(DefaultProviders().Domains(ProviderMicrosoft)) || p.Domains[0] == "" {
		t.Errorf("%d domains", len(p.Domains))
	}
	if len(p.MXSuffixes) != 1 || p.MXSuffixes[0] != ".olc.protection.outlook.com" {
		t.Errorf("MX suffixes %v, want the Outlook.com consumer one only", p.MXSuffixes)
	}
	// 60 s / 10 = 6 s between deliveries: 600 an hour, exactly the limit.
	if p.Postfix.RateDelaySeconds != 6 || p.Postfix.EffectivePerHour != 600 || p.Postfix.Concurrency != 1 || p.Postfix.RecipientLimit != 2 {
		t.Errorf("postfix %+v", p.Postfix)
	}
	// Back-off to 1 a minute (60 s between deliveries), 9 steps of 60/h back to 600/h.
	if p.Backoff != "1/1m" || p.BackoffPerHour != 60 || p.Postfix.BackoffRateDelaySeconds != 60 || p.RecoverySteps != 9 || p.BackoffFor != "1h30m" {
		t.Errorf("backoff %s (%d/h, delay %d s) for %s, %d steps", p.Backoff, p.BackoffPerHour, p.Postfix.BackoffRateDelaySeconds, p.BackoffFor, p.RecoverySteps)
	}
	if p.KumoMTA.MaxMessageRate != "10/min,max_burst=1" || p.KumoMTA.BackoffRate != "1/min" {
		t.Errorf("kumo %+v", p.KumoMTA)
	}
}

func TestShapeOddLimits(t *testing.T) {
	// 100 a minute is more than one delivery a second: Postfix's whole-second
	// delay caps it at 3600/h, and two connections are needed.
	p, err := Shape(ShapeOptions{Provider: ProviderMicrosoft, Limit: Limit{100, time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Postfix.RateDelaySeconds != 1 || p.Postfix.EffectivePerHour != 3600 || p.PerHour != 6000 || p.Connections != 2 || p.DeliveriesPerConnection != 50 {
		t.Errorf("100/1m: %+v", p)
	}
	// 7 per 5 minutes: 84 an hour; a 43 s delay (rounded up) allows 83.
	p, err = Shape(ShapeOptions{Provider: ProviderGmail, Limit: Limit{7, 5 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	if p.PerHour != 84 || p.KumoMTA.MaxMessageRate != "84/h,max_burst=1" || p.Postfix.RateDelaySeconds != 43 || p.Postfix.EffectivePerHour != 83 {
		t.Errorf("7/5m: per hour %d, kumo %s, delay %d, effective %d", p.PerHour, p.KumoMTA.MaxMessageRate, p.Postfix.RateDelaySeconds, p.Postfix.EffectivePerHour)
	}
	// Yahoo's back-off suspends: no back-off rate, recovery from zero.
	p, err = Shape(ShapeOptions{Provider: ProviderYahoo, Limit: Limit{600, time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Backoff != "suspend" || p.KumoMTA.BackoffRate != "" || p.Postfix.BackoffRateDelaySeconds != 0 || p.RecoverySteps != 10 {
		t.Errorf("yahoo: backoff %s kumo %q postfix %d steps %d", p.Backoff, p.KumoMTA.BackoffRate, p.Postfix.BackoffRateDelaySeconds, p.RecoverySteps)
	}
	for _, bad := range []Provider{"", ProviderOther} {
		if _, err := Shape(ShapeOptions{Provider: bad, Limit: Limit{10, time.Minute}}); err == nil {
			t.Errorf("provider %q: no error", bad)
		}
	}
	if _, err := Shape(ShapeOptions{Provider: ProviderMicrosoft, Limit: Limit{10, 100 * time.Millisecond}}); err == nil {
		t.Error("sub-second period: no error")
	}
}

package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/senderscope/senderscope/analyze"
)

// WriteShape writes a shaping plan as configuration in one dialect. Every
// number carries a comment saying where it comes from.
func WriteShape(w io.Writer, p *analyze.ShapePlan, f analyze.ShapeFormat) error {
	var b strings.Builder
	switch f {
	case analyze.ShapePostfix:
		shapePostfix(&b, p)
	case analyze.ShapeKumoMTA:
		shapeKumo(&b, p)
	case analyze.ShapeYAML:
		shapeYAML(&b, p)
	default:
		return fmt.Errorf("shape: unknown format %q", f)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func shapeHead(b *strings.Builder, p *analyze.ShapePlan, f analyze.ShapeFormat) {
	fmt.Fprintf(b, "# senderscope shape --emit %s --provider %s --limit %s\n", f, p.Provider, p.Limit)
	fmt.Fprintf(b, "# At most %s per sending IP to %s (%s): %d an hour.\n", perText(p.Limit), p.Provider, p.System, p.PerHour)
}

// perText reads "10/1m" as "10 per 1m".
func perText(limit string) string { return strings.Replace(limit, "/", " per ", 1) }

func shapePostfix(b *strings.Builder, p *analyze.ShapePlan) {
	t := p.Postfix.Transport
	shapeHead(b, p, analyze.ShapePostfix)
	b.WriteString("# Three pieces: the transport map, main.cf settings and the master.cf transport.\n\n")

	b.WriteString("# ---- /etc/postfix/transport (then run: postmap /etc/postfix/transport) ----\n")
	fmt.Fprintf(b, "# The %d %s domains senderscope knows, matched whole: olive.com is not live.com.\n", len(p.Domains), p.Provider)
	b.WriteString("# Vanity domains hosted by the same provider are not listed; they reach it through their own MX.\n")
	next := t + ":"
	if p.Postfix.Nexthop != "" {
		fmt.Fprintf(b, "# Every domain goes to the one next hop %s, so they share one queue and one rate delay.\n", p.Postfix.Nexthop)
		next += p.Postfix.Nexthop
	}
	for _, d := range p.Domains {
		fmt.Fprintf(b, "%-24s %s\n", d, next)
	}

	b.WriteString("\n# ---- main.cf ----\n")
	b.WriteString("transport_maps = hash:/etc/postfix/transport\n")
	b.WriteString("# The queue manager reads the next three, so they belong here, not as -o options in master.cf.\n")
	fmt.Fprintf(b, "# One delivery every %d s: %s / %d", p.Postfix.RateDelaySeconds, p.Per, p.N)
	if int64(p.Postfix.EffectivePerHour) < p.PerHour {
		fmt.Fprintf(b, ", rounded up to whole seconds (Postfix's unit): at most %d an hour, not %d.\n", p.Postfix.EffectivePerHour, p.PerHour)
		b.WriteString("# To reach the full limit, spread the mail over more sending IPs.\n")
	} else {
		fmt.Fprintf(b, " = %d s, so no window of %s holds more than %d.\n", p.Postfix.RateDelaySeconds, p.Per, p.N)
	}
	fmt.Fprintf(b, "%s_destination_rate_delay = %ds\n", t, p.Postfix.RateDelaySeconds)
	b.WriteString("# With a rate delay Postfix delivers one message at a time per destination; this says so.\n")
	fmt.Fprintf(b, "%s_destination_concurrency_limit = %d\n", t, p.Postfix.Concurrency)
	b.WriteString("# Above 1, a destination is a domain; at 1 it would be a recipient and the delay would apply per\n")
	fmt.Fprintf(b, "# recipient. A message to %d recipients at one domain is one delivery: keep it low.\n", p.Postfix.RecipientLimit)
	fmt.Fprintf(b, "%s_destination_recipient_limit = %d\n", t, p.Postfix.RecipientLimit)
	if p.Postfix.Nexthop == "" {
		b.WriteString("# The delay holds per destination, i.e. per recipient domain: hotmail.com and outlook.com each get\n")
		b.WriteString("# the full rate. To hold it across every domain together, route them all to one next hop\n")
		b.WriteString("# (senderscope shape --postfix-nexthop HOST) once you know that host accepts them all.\n")
	}
	b.WriteString("#\n")
	fmt.Fprintf(b, "# When %s replies with a throttle (%s),\n", p.Provider, regexList(p.Throttle))
	b.WriteString("# Postfix keeps its rate: back off by hand.\n")
	if p.Postfix.BackoffRateDelaySeconds > 0 {
		fmt.Fprintf(b, "# For %s set %s_destination_rate_delay = %ds (%s per IP;\n", p.BackoffFor, t, p.Postfix.BackoffRateDelaySeconds, p.Backoff)
		fmt.Fprintf(b, "# %s),\n", p.Sources["backoff_rate"])
	} else {
		fmt.Fprintf(b, "# For %s add %s to defer_transports and run postfix reload\n", p.BackoffFor, t)
		fmt.Fprintf(b, "# (%s),\n", p.Sources["backoff_rate"])
	}
	fmt.Fprintf(b, "# then return to %ds in %d steps of %d%% of the limit, one step per %d hours without a throttle reply\n",
		p.Postfix.RateDelaySeconds, p.RecoverySteps, p.IncreaseStepPercent, p.IncreaseAfterHours)
	fmt.Fprintf(b, "# (%s).\n", p.Sources["increase_step"])

	b.WriteString("\n# ---- master.cf ----\n")
	b.WriteString("# Postfix's SMTP client under its own name, so its limits and log lines are its own. A transport\n")
	b.WriteString("# sends from one address: on a host with several sending IPs give each its own transport with\n")
	b.WriteString("# -o smtp_bind_address=IP, and the limit above holds per transport, i.e. per IP.\n")
	b.WriteString("# service type  private unpriv  chroot  wakeup  maxproc command\n")
	fmt.Fprintf(b, "%-9s unix  -       -       -       -       -       smtp\n", t)
	fmt.Fprintf(b, "  -o syslog_name=postfix/%s\n", t)
}

func shapeKumo(b *strings.Builder, p *analyze.ShapePlan) {
	name := tomlString(p.KumoMTA.ProviderName)
	shapeHead(b, p, analyze.ShapeKumoMTA)
	b.WriteString("# A custom shaping file: list it after KumoMTA's own shaping.toml (extra_files of\n")
	b.WriteString("# shaping:setup_with_automation), so it adds to the bundled provider entries.\n\n")
	fmt.Fprintf(b, "[provider.%s]\n", name)
	fmt.Fprintf(b, "# Every destination whose MX hosts end in this: %s, which receives the %d %s\n", p.System, len(p.Domains), p.Provider)
	fmt.Fprintf(b, "# domains (%s) and any vanity domain hosted there.\n", domainSample(p.Domains, 4))
	var match []string
	for _, s := range p.MXSuffixes {
		match = append(match, "{MXSuffix = "+tomlString(s)+"}")
	}
	fmt.Fprintf(b, "match = [%s]\n", strings.Join(match, ", "))
	b.WriteString("# The limit, per egress source (sending IP) over every matching site together: KumoMTA keys\n")
	b.WriteString("# provider limits by provider and source. max_burst=1 spaces the messages evenly, so no window\n")
	fmt.Fprintf(b, "# of %s holds more than %d (a full burst would let nearly twice that through the first window).\n", p.Per, p.N)
	fmt.Fprintf(b, "provider_max_message_rate = %s\n", tomlString(p.KumoMTA.MaxMessageRate))
	conns := "one connection"
	if p.Connections > 1 {
		conns = fmt.Sprintf("%d connections", p.Connections)
	}
	fmt.Fprintf(b, "# %g a minute needs %s, assuming one connection carries a message a second;\n", p.PerMinute, conns)
	fmt.Fprintf(b, "# never more than %s.\n", p.Sources["max_connections"])
	fmt.Fprintf(b, "provider_connection_limit = %d\n", p.Connections)
	b.WriteString("# At most one period's allowance on one connection;\n")
	fmt.Fprintf(b, "# never more than %s.\n", p.Sources["max_deliveries_per_connection"])
	fmt.Fprintf(b, "max_deliveries_per_connection = %d\n\n", p.DeliveriesPerConnection)

	fmt.Fprintf(b, "# On a throttle reply (%s), for %s:\n", regexList(p.Throttle), p.BackoffFor)
	fmt.Fprintf(b, "# %s.\n", p.Sources["backoff_rate"])
	b.WriteString("# Automation rules need the TSA daemon (kumo-tsa-daemon) and shaping:setup_with_automation.\n")
	fmt.Fprintf(b, "[[provider.%s.automation]]\n", name)
	var res []string
	for _, r := range p.Throttle {
		res = append(res, tomlString(r.Regex))
	}
	fmt.Fprintf(b, "regex = [%s]\n", strings.Join(res, ", "))
	if p.KumoMTA.BackoffRate != "" {
		b.WriteString("action = [\n")
		fmt.Fprintf(b, "  {SetConfig = {name = \"max_message_rate\", value = %s}},\n", tomlString(p.KumoMTA.BackoffRate))
		b.WriteString("  {SetConfig = {name = \"connection_limit\", value = 1}},\n")
		b.WriteString("]\n")
	} else {
		b.WriteString("action = \"Suspend\"\n")
	}
	fmt.Fprintf(b, "duration = %s\n", tomlString(p.KumoMTA.BackoffFor))
	fmt.Fprintf(b, "# KumoMTA returns to the limit when the duration ends; to climb back in steps instead, raise\n")
	fmt.Fprintf(b, "# provider_max_message_rate by %d%% of the limit after each %d hours without a throttle reply.\n", p.IncreaseStepPercent, p.IncreaseAfterHours)
}

func shapeYAML(b *strings.Builder, p *analyze.ShapePlan) {
	shapeHead(b, p, analyze.ShapeYAML)
	b.WriteString("# Generic per-provider queue settings, for an MTA or ESP queue that takes its own config.\n")
	fmt.Fprintf(b, "provider: %s\n", yamlString(string(p.Provider)))
	fmt.Fprintf(b, "limit: %s  # per sending IP, as asked\n", yamlString(p.Limit))
	fmt.Fprintf(b, "domains:  # matched whole, never by substring (olive.com is not live.com)\n")
	for _, d := range p.Domains {
		fmt.Fprintf(b, "  - %s\n", yamlString(d))
	}
	fmt.Fprintf(b, "mx_suffixes:  # %s's MX hosts; vanity domains hosted there are found by MX\n", p.System)
	for _, s := range p.MXSuffixes {
		fmt.Fprintf(b, "  - %s\n", yamlString(s))
	}
	b.WriteString("per_ip:\n")
	fmt.Fprintf(b, "  max_connections: %d  # one connection carries a message a second; ceiling: %s\n", p.Connections, p.Sources["max_connections"])
	fmt.Fprintf(b, "  max_messages_per_connection: %d  # one period's allowance; ceiling: %s\n", p.DeliveriesPerConnection, p.Sources["max_deliveries_per_connection"])
	fmt.Fprintf(b, "  rate_per_hour: %d\n", p.PerHour)
	fmt.Fprintf(b, "  rate_per_minute: %g\n", p.PerMinute)
	fmt.Fprintf(b, "  min_interval_seconds: %g  # spacing that keeps every window under the limit\n", 60/p.PerMinute)
	b.WriteString("backoff:\n")
	b.WriteString("  on:  # replies that mean \"slow down\"\n")
	for _, r := range p.Throttle {
		fmt.Fprintf(b, "    - regex: %s\n", yamlString(r.Regex))
		fmt.Fprintf(b, "      example: %s\n", yamlString(r.Example))
		fmt.Fprintf(b, "      source: %s\n", yamlString(r.Source))
	}
	if p.Backoff == "suspend" {
		fmt.Fprintf(b, "  rate_per_hour: 0  # suspend: %s\n", p.Sources["backoff_rate"])
	} else {
		fmt.Fprintf(b, "  rate_per_hour: %d  # %s: %s\n", p.BackoffPerHour, p.Backoff, p.Sources["backoff_rate"])
	}
	fmt.Fprintf(b, "  for: %s  # %s\n", yamlString(p.BackoffFor), p.Sources["backoff_for"])
	fmt.Fprintf(b, "  retry_after: %s  # retrying deferred mail into an active throttle only prolongs it\n", yamlString(p.RetryAfter))
	b.WriteString("recovery:\n")
	fmt.Fprintf(b, "  increase_after_clean_hours: %d  # hours without a throttle reply before each step\n", p.IncreaseAfterHours)
	fmt.Fprintf(b, "  increase_step_per_hour: %d  # %d%% of the limit: %s\n", max(1, p.PerHour*int64(p.IncreaseStepPercent)/100), p.IncreaseStepPercent, p.Sources["increase_step"])
	fmt.Fprintf(b, "  steps_to_limit: %d\n", p.RecoverySteps)
}

func regexList(rs []analyze.ThrottleRule) string {
	var out []string
	for _, r := range rs {
		out = append(out, "/"+r.Regex+"/")
	}
	return strings.Join(out, " or ")
}

func domainSample(ds []string, n int) string {
	if len(ds) <= n {
		return strings.Join(ds, ", ")
	}
	return strings.Join(ds[:n], ", ") + ", ..."
}

// tomlString quotes s as a TOML literal string when it can (regexes keep
// their backslashes), else as a basic string with escapes.
func tomlString(s string) string {
	if !strings.ContainsAny(s, "'\n\r") && isPrintable(s) {
		return "'" + s + "'"
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func isPrintable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// yamlString quotes s as a single-quoted YAML scalar: nothing is an escape
// inside except a doubled quote, so regexes stay as written.
func yamlString(s string) string {
	if !isPrintable(s) {
		return fmt.Sprintf("%q", s) // YAML double quotes take Go's escapes for control characters
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/senderscope/senderscope/analyze"
	"github.com/senderscope/senderscope/ingest"
)

// rangeFlags are --provider, --since and --until, shared by the analyses.
type rangeFlags struct {
	provider string
	since    string
	until    string
}

func (r *rangeFlags) add(f *pflag.FlagSet, defProvider string) {
	f.StringVar(&r.provider, "provider", defProvider, "mailbox provider: microsoft, gmail, yahoo, apple, other or all")
	f.StringVar(&r.since, "since", "", "start of the range (UTC): 2026-02-24, 2026-02-24 19:00 or RFC 3339")
	f.StringVar(&r.until, "until", "", "end of the range, exclusive (same forms as --since)")
}

func (r *rangeFlags) parse() (analyze.Provider, time.Time, time.Time, error) {
	p, err := analyze.ParseProvider(r.provider)
	if err != nil {
		return "", time.Time{}, time.Time{}, usagef("--provider: %v", err)
	}
	since, err := parseWhen("--since", r.since)
	if err != nil {
		return "", time.Time{}, time.Time{}, err
	}
	until, err := parseWhen("--until", r.until)
	if err != nil {
		return "", time.Time{}, time.Time{}, err
	}
	if !since.IsZero() && !until.IsZero() && !until.After(since) {
		return "", time.Time{}, time.Time{}, usagef("--until %s is not after --since %s", r.until, r.since)
	}
	return p, since, until, nil
}

// parseWhen reads a date, a date and time, or RFC 3339; zone-less times are UTC.
func parseWhen(flag, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if len(s) == 10 {
		s += " 00:00"
	}
	t, _, err := ingest.ParseTime(s, time.UTC)
	if err != nil {
		return time.Time{}, usagef("%s %q: not a date (e.g. 2026-02-24 or 2026-02-24 19:00)", flag, s)
	}
	return t, nil
}

func parseDuration(flag, s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "d") {
		var n int
		if _, err := fmt.Sscanf(s, "%dd", &n); err == nil && n > 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, usagef("%s %q: not a duration (e.g. 30m, 24h, 3d)", flag, s)
	}
	return d, nil
}

// byFlag reads --by ip|total|auto.
func byFlag(s string) (byIP, auto bool, err error) {
	switch s {
	case "ip":
		return true, false, nil
	case "total":
		return false, false, nil
	case "", "auto":
		return false, true, nil
	}
	return false, false, usagef("--by %q: use ip, total or auto", s)
}

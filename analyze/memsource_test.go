package analyze

import (
	"context"
	"sort"
	"time"

	"github.com/senderscope/senderscope/ingest"
)

// memSource is an in-memory stand-in for the store: a list of sends plus
// whatever problems, outcomes and delayed messages a test sets. Its minute
// counts are computed from the sends plus counts, so tests state sends once.
type memSource struct {
	provider string
	sends    []ingest.SendEvent // ascending by Ms
	counts   []ingest.MinuteSends
	problems []ingest.Problem
	outcomes []ingest.MinuteOutcomes
	delayed  []ingest.MessageDelay
}

func (m *memSource) matches(provider string) bool { return provider == "" || provider == m.provider }

func (m *memSource) SendMinutes(_ context.Context, provider string, from, to time.Time) ([]ingest.MinuteSends, error) {
	if !m.matches(provider) {
		return nil, nil
	}
	type k struct {
		m  int64
		ip string
	}
	acc := map[k]int64{}
	for _, s := range m.sends {
		if inRange(s.Ms, from, to) {
			acc[k{s.Ms / 60000, s.IP}]++
		}
	}
	for _, c := range m.counts {
		if inRange(c.Minute*60000, from, to) {
			acc[k{c.Minute, c.IP}] += c.Sends
		}
	}
	var out []ingest.MinuteSends
	for key, n := range acc {
		out = append(out, ingest.MinuteSends{Minute: key.m, IP: key.ip, Sends: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Minute != out[j].Minute {
			return out[i].Minute < out[j].Minute
		}
		return out[i].IP < out[j].IP
	})
	return out, nil
}

func inRange(ms int64, from, to time.Time) bool {
	return (from.IsZero() || ms >= from.UnixMilli()) && (to.IsZero() || ms < to.UnixMilli())
}

func (m *memSource) SendTimes(_ context.Context, provider, ip string, fromMs, toMs int64) ([]int64, error) {
	if !m.matches(provider) {
		return nil, nil
	}
	var out []int64
	for _, s := range m.sends {
		if s.Ms < fromMs || s.Ms >= toMs {
			continue
		}
		if ip == "" || ip == s.IP || (ip == ingest.UnknownIP && s.IP == "") {
			out = append(out, s.Ms)
		}
	}
	return out, nil
}

func (m *memSource) Sends(_ context.Context, provider string, from, to time.Time) ([]ingest.SendEvent, error) {
	if !m.matches(provider) {
		return nil, nil
	}
	var out []ingest.SendEvent
	for _, s := range m.sends {
		if inRange(s.Ms, from, to) {
			out = append(out, s)
		}
	}
	return out, nil
}

func (m *memSource) FirstProblems(_ context.Context, provider string, from, to time.Time) ([]ingest.Problem, error) {
	var out []ingest.Problem
	for _, p := range m.problems {
		if (provider == "" || p.Provider == provider) && inRange(p.Time.UnixMilli(), from, to) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (m *memSource) Outcomes(_ context.Context, provider string, from, to time.Time) ([]ingest.MinuteOutcomes, error) {
	var out []ingest.MinuteOutcomes
	for _, o := range m.outcomes {
		if (provider == "" || o.Provider == provider) && inRange(o.Minute*60000, from, to) {
			out = append(out, o)
		}
	}
	return out, nil
}

func (m *memSource) DeferredMessages(_ context.Context, provider string, from, to time.Time) ([]ingest.MessageDelay, error) {
	var out []ingest.MessageDelay
	for _, d := range m.delayed {
		if (provider == "" || d.Provider == provider) && inRange(d.First.UnixMilli(), from, to) {
			out = append(out, d)
		}
	}
	return out, nil
}

// at is a UTC time for test tables.
func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05.000", s)
	if err != nil {
		t, err = time.Parse("2006-01-02 15:04:05", s)
	}
	if err != nil {
		panic(err)
	}
	return t
}

// burst returns n sends spread evenly over [from, from+span), alternating
// between ips.
func burst(from time.Time, span time.Duration, n int, ips ...string) []ingest.SendEvent {
	out := make([]ingest.SendEvent, n)
	for i := range out {
		out[i] = ingest.SendEvent{Ms: from.Add(span * time.Duration(i) / time.Duration(n)).UnixMilli(), IP: ips[i%len(ips)]}
	}
	return out
}

func sortSends(s []ingest.SendEvent) []ingest.SendEvent {
	sort.SliceStable(s, func(i, j int) bool { return s[i].Ms < s[j].Ms })
	return s
}

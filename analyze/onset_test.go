package analyze

import (
	"context"
	"testing"
	"time"

	"github.com/senderscope/senderscope/ingest"
)

const (
	ipA = "203.0.113.7"
	ipB = "203.0.113.10"
)

// incidentLike is a small version of the bundled incident: 66 sends in one
// minute in November; on the evening of 2026-02-24, 4 ordinary sends a
// minute, a quiet spell around a 53-send minute at 19:40 (27 of them from
// B), the first 4.7.650 on B at 21:53:20, then 60 more sends on A alone at
// 21:58 and A's first 4.7.650 at 22:01:47.
func incidentLike() *memSource {
	var s []ingest.SendEvent
	s = append(s, burst(at("2025-11-26 19:27:00"), 59*time.Second, 66, ipB, ipA)...)
	for m := at("2026-02-24 18:00:00"); m.Before(at("2026-02-24 23:00:00")); m = m.Add(time.Minute) {
		if m.Hour() == 19 && m.Minute() >= 35 && m.Minute() <= 45 {
			continue
		}
		for i, ip := range []string{ipA, ipB, ipA, ipB} {
			s = append(s, ingest.SendEvent{Ms: m.Add(time.Duration(10+10*i) * time.Second).UnixMilli(), IP: ip})
		}
	}
	s = append(s, burst(at("2026-02-24 19:40:00"), 59*time.Second, 53, ipB, ipA)...)
	s = append(s, burst(at("2026-02-24 21:58:00"), 5*time.Second, 60, ipA)...)
	defer451 := func(ip, when string) ingest.Problem {
		return ingest.Problem{Provider: "microsoft", IP: ip, Time: at(when), Type: ingest.TypeDeferred, SMTPCode: 451, EnhancedCode: "4.7.650",
			Reply: "451 4.7.650 The mail server [" + ip + "] has been temporarily rate limited due to IP reputation. (S775)", Count: 100}
	}
	block := ingest.Problem{Provider: "microsoft", IP: ipA, Time: at("2026-02-25 03:00:00"), Type: ingest.TypeBounced, SMTPCode: 550, EnhancedCode: "5.7.1", Count: 1}
	return &memSource{provider: "microsoft", sends: sortSends(s),
		problems: []ingest.Problem{defer451(ipB, "2026-02-24 21:53:20"), defer451(ipA, "2026-02-24 22:01:47"), block}}
}

func TestOnsetLinksTheBurst(t *testing.T) {
	os, err := Onsets(context.Background(), incidentLike(), OnsetOptions{Provider: ProviderMicrosoft})
	if err != nil {
		t.Fatal(err)
	}
	if len(os) != 2 || os[0].IP != ipB || os[1].IP != ipA {
		t.Fatalf("onsets %+v, want B then A", os)
	}
	b := os[0]
	if b.Burst == nil || !b.Burst.Start.Equal(at("2026-02-24 19:40:00")) || b.Burst.Sends != 53 || b.Burst.Peak60s != 53 {
		t.Fatalf("B's burst %+v, want 53 at 19:40", b.Burst)
	}
	if b.IPBurst == nil || b.IPBurst.Sends != 27 || !b.IPBurst.Start.Equal(b.Burst.Start) {
		t.Errorf("B's own burst %+v, want 27 at 19:40", b.IPBurst)
	}
	if b.LagSeconds != 2*3600+13*60+20 || b.Lag != "2h13m" {
		t.Errorf("lag %d s %q, want 2h13m20s printed 2h13m", b.LagSeconds, b.Lag)
	}
	if hs := b.Burst.HighestSince; hs == nil || !hs.Equal(at("2025-11-26 19:27:00")) || b.Burst.HighestSinceSends != 66 {
		t.Errorf("highest since %v (%d), want 2025-11-26 19:27 (66)", hs, b.Burst.HighestSinceSends)
	}
	want := "The first 4.7.650 deferral on 203.0.113.10 from Microsoft came at 2026-02-24 21:53:20 UTC, 2h13m after a burst of 53 sends to Microsoft in one minute (2026-02-24 19:40 UTC), 27 of them from 203.0.113.10, the highest since 2025-11-26 (66)."
	if b.Sentence != want {
		t.Errorf("sentence\n got %s\nwant %s", b.Sentence, want)
	}
	// A's look-back runs to A's own first deferral, past B's: the 21:58
	// burst (60 on A plus 4 ordinary) is the busiest minute before it.
	a := os[1]
	if a.Burst == nil || !a.Burst.Start.Equal(at("2026-02-24 21:58:00")) || a.Burst.Sends != 64 || a.Lag != "4m" {
		t.Fatalf("A's burst %+v lag %q, want 64 at 21:58, lag 4m", a.Burst, a.Lag)
	}
	if a.FirstFailure == nil || a.FirstFailure.EnhancedCode != "5.7.1" || a.FirstDeferral.EnhancedCode != "4.7.650" {
		t.Errorf("A's first failure %+v, first deferral %+v", a.FirstFailure, a.FirstDeferral)
	}
}

func TestOnsetWithoutSendsBefore(t *testing.T) {
	src := incidentLike()
	src.sends = nil
	os, err := Onsets(context.Background(), src, OnsetOptions{Provider: ProviderMicrosoft, Lookback: 6 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	want := "The first 4.7.650 deferral on 203.0.113.10 from Microsoft came at 2026-02-24 21:53:20 UTC, with no sends to Microsoft in the 6h before it."
	if os[0].Burst != nil || os[0].Sentence != want {
		t.Errorf("got %q, burst %+v", os[0].Sentence, os[0].Burst)
	}
}

func TestFormatLag(t *testing.T) {
	for d, want := range map[time.Duration]string{
		2*time.Hour + 13*time.Minute + 20*time.Second: "2h13m",
		2*time.Hour + 5*time.Minute:                   "2h05m",
		45 * time.Minute:                              "45m",
		29 * time.Second:                              "0m",
		3 * time.Hour:                                 "3h",
		76 * time.Hour:                                "3d4h",
		48 * time.Hour:                                "2d",
		-90 * time.Minute:                             "-1h30m",
	} {
		if got := FormatLag(d); got != want {
			t.Errorf("FormatLag(%v) = %q, want %q", d, got, want)
		}
	}
}

package ingest

import (
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in       string
		loc      *time.Location
		want     string // RFC 3339 nano, UTC
		zoneless bool
	}{
		{"2024-03-05 14:00:02.1+00", time.UTC, "2024-03-05T14:00:02.1Z", false},
		{"2024-03-05 14:00:02+00", time.UTC, "2024-03-05T14:00:02Z", false},
		{"2024-03-05 14:00:01.005231+00", time.UTC, "2024-03-05T14:00:01.005231Z", false},
		{"2024-03-05 19:30:02+05:30", time.UTC, "2024-03-05T14:00:02Z", false},
		{"2024-03-05 09:00:02-05", time.UTC, "2024-03-05T14:00:02Z", false},
		{"2024-03-05 15:00:02+0100", time.UTC, "2024-03-05T14:00:02Z", false},
		{"1883-11-18 12:00:00-07:52:58", time.UTC, "1883-11-18T19:52:58Z", false},
		{"2024-03-05T14:00:02Z", time.UTC, "2024-03-05T14:00:02Z", false},
		{"2024-03-05T14:00:02.123456789Z", time.UTC, "2024-03-05T14:00:02.123456789Z", false},
		{"2024-03-05T15:00:02+01:00", time.UTC, "2024-03-05T14:00:02Z", false},
		{"2024-03-05 14:00:02 UTC", time.UTC, "2024-03-05T14:00:02Z", false},
		{"2024-03-05 14:00", time.UTC, "2024-03-05T14:00:00Z", true},
		{"2024-03-05 14:00:02", time.UTC, "2024-03-05T14:00:02Z", true},
		{"2024-03-05 15:00:02", berlin, "2024-03-05T14:00:02Z", true},
		{"2024-07-05 16:00:02", berlin, "2024-07-05T14:00:02Z", true},
		{"1709647202", time.UTC, "2024-03-05T14:00:02Z", false},
		{"1709647202.5", time.UTC, "2024-03-05T14:00:02.5Z", false},
		{"1709647202500", time.UTC, "2024-03-05T14:00:02.5Z", false},
		{"1709647202500123", time.UTC, "2024-03-05T14:00:02.500123Z", false},
		{"2024-02-29 00:00:00+00", time.UTC, "2024-02-29T00:00:00Z", false},
		{" 2024-03-05 14:00:02+00 ", time.UTC, "2024-03-05T14:00:02Z", false},
	}
	for _, c := range cases {
		got, zl, err := ParseTime(c.in, c.loc)
		if err != nil {
			t.Errorf("ParseTime(%q): %v", c.in, err)
			continue
		}
		if g := got.UTC().Format(time.RFC3339Nano); g != c.want || zl != c.zoneless {
			t.Errorf("ParseTime(%q) = %s zoneless=%v, want %s zoneless=%v", c.in, g, zl, c.want, c.zoneless)
		}
	}
}

func TestParseTimeRejects(t *testing.T) {
	for _, in := range []string{"", "2024-13-05 14:00:02+00", "2023-02-29 00:00:00", "2024-03-05 24:00:00",
		"2024-03-05 14:00:02+25", "yesterday", "2024/03/05 14:00", "2024-03-05 14:00:02 CET", "12a", "-1709647202",
		"99999999999999999999", "2024-03-05T14:00:02.Z"} {
		if _, _, err := ParseTime(in, time.UTC); err == nil {
			t.Errorf("ParseTime(%q) succeeded, want an error", in)
		} else if in != "" && in != "99999999999999999999" && !strings.Contains(err.Error(), "expected") {
			t.Errorf("ParseTime(%q) error %q does not say what was expected", in, err)
		}
	}
}

func TestEpochSecondsAgreesWithParseTime(t *testing.T) {
	for _, s := range []string{"1709647200", `"1709647200"`, "0", "01709647200", "99999999999", "100000000000", "1709647200123",
		"1709647200.5", `"1709647200`, `" 1709647200"`, "-1", "", `""`, "17096472e2"} {
		got, ok := epochSeconds([]byte(s))
		want, _, err := ParseTime(strings.Trim(s, `"`), time.UTC)
		if ok && (err != nil || !got.Equal(want) || got.Location() != time.UTC) {
			t.Errorf("epochSeconds(%s) = %v, ParseTime says %v %v", s, got, want, err)
		}
		if !ok && s == "1709647200" {
			t.Errorf("epochSeconds(%s) declined plain seconds", s)
		}
	}
}

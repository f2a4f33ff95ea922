package ingest

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// TimeExample is shown in errors so a person knows what a timestamp should look like.
const TimeExample = "e.g. 2024-03-05 14:00:02+00, 2024-03-05T14:00:02Z or epoch seconds 1709647202"

// ParseTime reads the timestamp forms found in exports and logs: RFC 3339,
// PostgreSQL text output (2024-03-05 14:00:02.1+00, +05:30, no offset), a
// trailing " UTC", and epoch seconds, milliseconds or microseconds (with an
// optional fraction). Times without a zone are read in loc; zoneless reports
// that so the caller can say which zone it assumed.
func ParseTime(s string, loc *time.Location) (t time.Time, zoneless bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false, fmt.Errorf("empty timestamp (expected %s)", TimeExample)
	}
	if isEpoch(s) {
		t, err := parseEpoch(s)
		return t, false, err
	}
	t, zoneless, ok := parseISOish(s, loc)
	if !ok {
		return time.Time{}, false, fmt.Errorf("%q is not a date (expected %s)", clip(s, 60), TimeExample)
	}
	return t, zoneless, nil
}

// epochSeconds reads a JSON number or numeric string of whole epoch seconds
// (no fraction, before year 5138) without allocating: the form webhooks use on
// every record. Anything else is left to ParseTime.
func epochSeconds(b []byte) (time.Time, bool) {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	if len(b) == 0 || len(b) > 11 {
		return time.Time{}, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
		n = n*10 + int64(c-'0')
	}
	if n >= 1e11 {
		return time.Time{}, false
	}
	return time.Unix(n, 0).UTC(), true
}

func isEpoch(s string) bool {
	dot := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
		case c == '.' && !dot && i > 0:
			dot = true
		default:
			return false
		}
	}
	return true
}

// parseEpoch decides the unit by magnitude: seconds until year 5138, then
// milliseconds, then microseconds.
func parseEpoch(s string) (time.Time, error) {
	intPart, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an epoch time (expected %s)", clip(s, 40), TimeExample)
	}
	var nanosPerUnit int64
	switch {
	case n < 1e11:
		nanosPerUnit = 1e9
	case n < 1e14:
		nanosPerUnit = 1e6
	case n < 1e17:
		nanosPerUnit = 1e3
	default:
		return time.Time{}, fmt.Errorf("%q is too large for an epoch time in seconds, ms or µs", clip(s, 40))
	}
	// Seconds and nanoseconds apart: n * 1e9 overflows int64 past year 2262.
	unitsPerSec := int64(1e9) / nanosPerUnit
	ns := n % unitsPerSec * nanosPerUnit
	if frac != "" {
		f, err := strconv.ParseFloat("0."+frac, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not an epoch time (expected %s)", clip(s, 40), TimeExample)
		}
		ns += int64(math.Round(f * float64(nanosPerUnit)))
	}
	return time.Unix(n/unitsPerSec, ns).UTC(), nil
}

// parseISOish handles YYYY-MM-DD[T ]HH:MM[:SS[.frac]][zone] without time.Parse's
// layout search, because it runs once per record on the hot path.
func parseISOish(s string, loc *time.Location) (time.Time, bool, bool) {
	if len(s) < 16 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ' && s[10] != 't') || s[13] != ':' {
		return time.Time{}, false, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	if !(ok1 && ok2 && ok3 && ok4 && ok5) {
		return time.Time{}, false, false
	}
	rest := s[16:]
	sec, nsec := 0, 0
	if len(rest) >= 3 && rest[0] == ':' {
		v, ok := digits(rest[1:3])
		if !ok {
			return time.Time{}, false, false
		}
		sec = v
		rest = rest[3:]
		if len(rest) > 1 && (rest[0] == '.' || rest[0] == ',') {
			i := 1
			for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
				i++
			}
			if i == 1 {
				return time.Time{}, false, false
			}
			frac := rest[1:i]
			if len(frac) > 9 {
				frac = frac[:9]
			}
			v, _ := strconv.Atoi(frac)
			for k := len(frac); k < 9; k++ {
				v *= 10
			}
			nsec = v
			rest = rest[i:]
		}
	}
	if year < 1 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, false, false
	}
	if sec == 60 { // a leap second is read as the next second's start
		sec = 59
		nsec = 999999999
	}
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc).UTC(), true, true
	}
	off, ok := parseOffset(rest)
	if !ok {
		return time.Time{}, false, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC).Add(-time.Duration(off) * time.Second), false, true
}

// parseOffset reads Z, UTC, GMT, +HH, +HHMM, +HH:MM and +HH:MM:SS.
func parseOffset(z string) (int, bool) {
	switch strings.ToUpper(z) {
	case "Z", "UTC", "GMT", "+00", "-00":
		return 0, true
	}
	if len(z) < 3 || (z[0] != '+' && z[0] != '-') {
		return 0, false
	}
	sign := 1
	if z[0] == '-' {
		sign = -1
	}
	body := strings.ReplaceAll(z[1:], ":", "")
	var h, m, sec int
	var ok bool
	switch len(body) {
	case 2:
		h, ok = digits(body)
	case 4:
		var ok2 bool
		h, ok = digits(body[:2])
		m, ok2 = digits(body[2:])
		ok = ok && ok2
	case 6:
		var ok2, ok3 bool
		h, ok = digits(body[:2])
		m, ok2 = digits(body[2:4])
		sec, ok3 = digits(body[4:])
		ok = ok && ok2 && ok3
	default:
		return 0, false
	}
	if !ok || h > 15 || m > 59 || sec > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60 + sec), true
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(s) > 0
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// clip shortens untrusted text for error messages.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

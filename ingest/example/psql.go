package example

import (
	"bytes"
	"strconv"
)

// Times inside the generator are int64 microseconds since the Unix epoch in
// UTC: the resolution of a PostgreSQL timestamptz, and integer arithmetic only.
const (
	usSecond = int64(1_000_000)
	usMinute = 60 * usSecond
	usHour   = 60 * usMinute
	usDay    = 24 * usHour
)

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's civil_from_days).
func civil(days int64) (y, m, d int64) {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func append2(b []byte, v int64) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

func appendDate(b []byte, days int64, sep byte) []byte {
	y, m, d := civil(days)
	b = strconv.AppendInt(b, y, 10)
	b = append(b, '-')
	b = append2(b, m)
	b = append(b, '-')
	b = append2(b, d)
	return append(b, sep)
}

func appendClock(b []byte, us int64) []byte {
	s := us / usSecond
	b = append2(b, s/3600)
	b = append(b, ':')
	b = append2(b, s/60%60)
	b = append(b, ':')
	return append2(b, s%60)
}

// appendPgTimestamptz appends t the way psql prints a timestamptz in a UTC
// session: "2026-02-24 19:41:07.183+00", trailing zeros of the fraction
// dropped and no fraction at all on a whole second.
func appendPgTimestamptz(b []byte, t int64) []byte {
	return appendPgTime(appendDate(b, t/usDay, ' '), t%usDay)
}

// appendPgTime appends the time-of-day part of appendPgTimestamptz.
func appendPgTime(b []byte, us int64) []byte {
	b = appendClock(b, us)
	if frac := us % usSecond; frac != 0 {
		n := 6
		for frac%10 == 0 {
			frac /= 10
			n--
		}
		b = append(b, '.')
		var buf [6]byte
		for i := n - 1; i >= 0; i-- {
			buf[i] = byte('0' + frac%10)
			frac /= 10
		}
		b = append(b, buf[:n]...)
	}
	return append(b, '+', '0', '0')
}

// appendISOMillis appends t as Microsoft's reply trailers print it:
// "2026-02-24T21:54:07.512Z".
func appendISOMillis(b []byte, t int64) []byte {
	days, us := t/usDay, t%usDay
	b = appendDate(b, days, 'T')
	b = appendClock(b, us)
	ms := us % usSecond / 1000
	b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
	return b
}

// quoteCSV quotes b[from:], a non-NULL text value, the way PostgreSQL's
// COPY ... CSV does: only when it holds the delimiter, a quote, CR or LF (an
// empty string is quoted too, to tell it from NULL; the generator writes
// none), in double quotes with quotes inside doubled.
func quoteCSV(b []byte, from int) []byte {
	v := b[from:]
	hasQuote := bytes.IndexByte(v, '"') >= 0
	if !hasQuote && bytes.IndexByte(v, ',') < 0 && bytes.IndexByte(v, '\n') < 0 && bytes.IndexByte(v, '\r') < 0 {
		return b
	}
	n := len(b)
	if !hasQuote {
		b = append(b, '"', '"')
		copy(b[from+1:], b[from:n])
		b[from] = '"'
		return b
	}
	tail := append([]byte(nil), v...)
	b = append(b[:from], '"')
	for _, c := range tail {
		if c == '"' {
			b = append(b, '"')
		}
		b = append(b, c)
	}
	return append(b, '"')
}

package example

import "time"

// The scenario's shape, in one place. Facts (facts.go) publishes the same
// values for tests and for the CLI; the generator reads them from plan() so
// that nothing a caller does to Facts can change the data.

// usAt returns a UTC wall-clock time as generator microseconds.
func usAt(y int, mo time.Month, d, h, mi, s, us int) int64 {
	return time.Date(y, mo, d, h, mi, s, us*1000, time.UTC).UnixMicro()
}

// Sending IPs, in the order the ESP's pool lists them.
const (
	ip7  = 0 // 203.0.113.7
	ip10 = 1 // 203.0.113.10
)

var ipText = [2]string{"203.0.113.7", "203.0.113.10"}

type spikePlan struct {
	minute  int64 // start of the clock minute, µs
	count   int   // Microsoft first attempts in that minute, both IPs
	firstIP int   // the IP of the minute's first send; the split alternates
	burst   bool  // the straddling burst: sends crowd the end of the minute and the start of the next
}

type plan struct {
	start, end int64 // history [start, end)

	spikes []spikePlan // chronological

	// onset[ip] is the first Microsoft attempt on that IP that is refused;
	// every Microsoft attempt on it from then until blockEnd is refused.
	onset [2]int64
	// From blockEnd Microsoft accepts a growing number of messages per hour
	// and IP (the "conditionally mitigated" ramp), unlimited from recoveryEnd.
	blockEnd, recoveryEnd int64
	rampStart             int64 // accepted per hour and IP in the first ramp step
	rampStep              int64 // the hourly allowance doubles after each step

	horizon int64 // the ESP gives up on a message this long after its first attempt

	ordinaryCap int // most Microsoft first attempts in any other minute
	naiveCap    int // most rows the operator's regex matches in a batch minute
}

func thePlan() plan {
	return plan{
		start: usAt(2025, time.November, 17, 0, 0, 0, 0),
		end:   usAt(2026, time.March, 2, 0, 0, 0, 0),
		spikes: []spikePlan{
			{minute: usAt(2025, time.November, 19, 19, 52, 0, 0), count: 54, firstIP: ip7},
			{minute: usAt(2025, time.November, 26, 19, 27, 0, 0), count: 66, firstIP: ip7},
			{minute: usAt(2026, time.January, 14, 20, 6, 0, 0), count: 52, firstIP: ip7},
			{minute: usAt(2026, time.February, 24, 19, 40, 0, 0), count: 53, firstIP: ip10, burst: true},
		},
		onset: [2]int64{
			ip7:  usAt(2026, time.February, 24, 22, 1, 47, 80316),
			ip10: usAt(2026, time.February, 24, 21, 53, 20, 412107),
		},
		blockEnd:    usAt(2026, time.February, 27, 10, 0, 0, 0),
		recoveryEnd: usAt(2026, time.February, 28, 6, 0, 0, 0),
		rampStart:   30,
		rampStep:    4 * usHour,
		horizon:     72 * usHour,
		ordinaryCap: 45,
		naiveCap:    50,
	}
}

// retryOffset is when the ESP retries a message after its failedAttempt-th
// attempt, counted from the first: 5m, 10m, 20m, 40m and 1h apart, then every
// 2h until the retry horizon.
func retryOffset(failedAttempt int) int64 {
	switch failedAttempt {
	case 1:
		return 5 * usMinute
	case 2:
		return 15 * usMinute
	case 3:
		return 35 * usMinute
	case 4:
		return 75 * usMinute
	}
	return 135*usMinute + int64(failedAttempt-5)*2*usHour
}

// The straddling burst's layout: in its minute all but burstEarly sends come
// after burstSplit; in the next minute burstSpill sends come before it. A 60 s
// window from just before burstSplit holds more than the minute does.
const (
	burstSplit = 14 * usSecond
	burstEarly = 5
	burstSpill = 10
)

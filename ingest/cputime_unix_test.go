//go:build unix

package ingest

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used, user and system, all
// threads. Benchmarks report it beside wall time because on a shared machine
// wall time measures the neighbours as much as the code.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

//go:build unix

package analyze

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time this process has used, user and system.
// Benchmarks report it beside wall time because the machine they run on is
// shared: wall time there measures the neighbours as much as the code.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

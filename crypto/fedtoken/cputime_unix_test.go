//go:build unix

package fedtoken

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time this process has used (user + system, all
// threads). Benchmarks report it beside wall time because the build machines
// are shared: other jobs stretch wall time but barely touch our CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

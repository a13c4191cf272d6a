//go:build !unix

package fedtoken

import "time"

// processCPU is unavailable here; returning zero makes benchmarks skip the
// CPU-time metrics.
func processCPU() time.Duration { return 0 }

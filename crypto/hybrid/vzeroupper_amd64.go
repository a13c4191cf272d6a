package hybrid

import "golang.org/x/sys/cpu"

// clearUpperVectorState executes VZEROUPPER. circl's AVX2 ML-DSA code
// (v1.6.5) returns with the upper halves of the YMM registers dirty, and
// until something clears them every legacy-SSE instruction pays for it:
// SHA-256, which runs on the SHA-NI (SSE) instructions, was measured 25
// times slower after one hybrid verification, which put batch verification
// at 30 µs per record instead of 1.5. The Go runtime's AVX memmove and
// memclr clear the state as a side effect, which hides the cost in code
// that allocates, and exposes it in code that does not. Clearing it after
// every ML-DSA call here protects every caller of this package. Reported
// upstream as a missing VZEROUPPER in circl's AVX2 assembly.
func clearUpperVectorState() {
	if cpu.X86.HasAVX {
		vzeroupper()
	}
}

// vzeroupper is in vzeroupper_amd64.s.
func vzeroupper()

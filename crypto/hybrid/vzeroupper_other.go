//go:build !amd64

package hybrid

// clearUpperVectorState has nothing to clear off amd64 (see the amd64 file).
func clearUpperVectorState() {}

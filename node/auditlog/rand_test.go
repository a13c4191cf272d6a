package auditlog

import (
	"crypto/rand"
	mrand "math/rand/v2"
)

func cryptoRead(p []byte) (int, error) { return rand.Read(p) }

func newTestChaCha() *mrand.ChaCha8 { return mrand.NewChaCha8([32]byte{1}) }

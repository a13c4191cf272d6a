package checkpoint

import (
	"crypto/ed25519"
	"crypto/sha256"
	"testing"
)

func FuzzOpen(f *testing.F) {
	seed := sha256.Sum256([]byte("fuzz"))
	s, _ := NewEd25519Signer("k.example", ed25519.NewKeyFromSeed(seed[:]))
	v, _ := SignerVerifier(s)
	body, _ := sampleCheckpoint().Marshal()
	signed, _ := Sign(body, s)
	f.Add(signed)
	f.Add([]byte("a\n\n— k.example AAAAAAA=\n"))
	f.Add([]byte("example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := Open(b, v)
		if err == nil {
			if len(n.Verified) != 1 {
				t.Fatal("verified without exactly one signature")
			}
			if !ed25519.Verify(ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey), n.Text, n.Verified[0].Sig) {
				t.Fatal("accepted a bad signature")
			}
		}
		if p, err := ParseNote(b); err == nil {
			for _, s := range p.Unknown {
				if _, err := ParseSignatureLine([]byte(s.Line())); err != nil {
					t.Fatalf("re-rendered line does not parse: %v", err)
				}
			}
		}
		if c, err := ParseCheckpoint(b); err == nil {
			out, err := c.Marshal()
			if err != nil || string(out) != string(b) {
				t.Fatalf("checkpoint does not round-trip: %q vs %q (%v)", out, b, err)
			}
		}
		_, _ = NewVerifier(string(b))
		_, _ = NewSigner(string(b), nil)
	})
}

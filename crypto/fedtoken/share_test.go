package fedtoken

import (
	"bytes"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/math/polynomial"
)

func TestShareMarshalRoundTrip(t *testing.T) {
	_, shares, err := Deal(seeded(20), 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range shares {
		b, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != 35 || b[0] != 1 || b[1] != 0 || b[2] != byte(s.Index) || !bytes.Equal(b[3:], s.Key) {
			t.Fatalf("encoding %x of share %d", b, s.Index)
		}
		var got Share
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if got.Index != s.Index || !bytes.Equal(got.Key, s.Key) {
			t.Fatalf("round trip: %+v != %+v", got, s)
		}
	}
}

func TestShareUnmarshalRejects(t *testing.T) {
	_, shares, err := Deal(seeded(21), 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	good, err := shares[1].MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// l, the ristretto255 group order, little endian: the smallest
	// non-canonical scalar.
	order, _ := hex.DecodeString("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	cases := map[string][]byte{
		"empty":        nil,
		"short":        good[:34],
		"long":         append(bytes.Clone(good), 0),
		"version 0":    mutate(func(b []byte) []byte { b[0] = 0; return b }),
		"version 2":    mutate(func(b []byte) []byte { b[0] = 2; return b }),
		"index 0":      mutate(func(b []byte) []byte { b[1], b[2] = 0, 0; return b }),
		"index 256":    mutate(func(b []byte) []byte { b[1], b[2] = 1, 0; return b }),
		"zero key":     append(bytes.Clone(good[:3]), make([]byte, 32)...),
		"key = order":  append(bytes.Clone(good[:3]), order...),
		"key all ones": append(bytes.Clone(good[:3]), bytes.Repeat([]byte{0xff}, 32)...),
	}
	for name, b := range cases {
		s := Share{Index: 7, Key: []byte{1}}
		if err := s.UnmarshalBinary(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
		if s.Index != 7 || !bytes.Equal(s.Key, []byte{1}) {
			t.Errorf("%s: share modified on error", name)
		}
	}
	if _, err := (Share{Index: 1, Key: order}).MarshalBinary(); !errors.Is(err, ErrMalformed) {
		t.Errorf("marshal of a non-canonical key: %v", err)
	}
	if _, err := NewIssuer(Share{Index: 0, Key: shares[0].Key}); !errors.Is(err, ErrMalformed) {
		t.Errorf("NewIssuer with index 0: %v", err)
	}
}

func TestDealIsReproducibleAndRandom(t *testing.T) {
	g1, s1, err := Deal(seeded(22), 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	g2, s2, _ := Deal(seeded(22), 3, 5)
	g3, _, _ := Deal(seeded(23), 3, 5)
	if !bytes.Equal(g1.Public, g2.Public) || !bytes.Equal(s1[4].Key, s2[4].Key) {
		t.Fatal("same seed dealt different keys")
	}
	if bytes.Equal(g1.Public, g3.Public) {
		t.Fatal("different seeds dealt the same key")
	}
	if g1.Threshold != 3 || g1.Total != 5 || len(g1.Shares) != 5 || len(s1) != 5 {
		t.Fatalf("shape %+v", g1)
	}
	for i, s := range s1 {
		is, err := NewIssuer(s)
		if err != nil {
			t.Fatal(err)
		}
		if s.Index != ShareIndex(i+1) || !bytes.Equal(is.PublicKey(), g1.Shares[i].Public) {
			t.Fatalf("share %d does not match its share key", i+1)
		}
	}
}

func TestDealParams(t *testing.T) {
	for _, c := range [][2]int{{0, 1}, {2, 1}, {1, 0}, {-1, 3}, {3, 256}, {256, 256}} {
		if _, _, err := Deal(seeded(1), c[0], c[1]); !errors.Is(err, ErrInvalidParams) {
			t.Errorf("t=%d n=%d: err = %v", c[0], c[1], err)
		}
	}
	for _, c := range [][2]int{{1, 1}, {1, 4}, {4, 4}, {2, 255}} {
		g, _, err := Deal(seeded(1), c[0], c[1])
		if err != nil {
			t.Fatalf("t=%d n=%d: %v", c[0], c[1], err)
		}
		if err := g.Validate(); err != nil {
			t.Fatalf("t=%d n=%d: dealt group key does not validate: %v", c[0], c[1], err)
		}
	}
}

func TestGroupKeyValidate(t *testing.T) {
	g, _, err := Deal(seeded(24), 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	other, _, _ := Deal(seeded(25), 3, 5)
	clone := func() GroupKey {
		c := g
		c.Shares = slices.Clone(g.Shares)
		return c
	}
	cases := map[string]func(*GroupKey){
		"tampered share key": func(c *GroupKey) { c.Shares[3].Public = other.Shares[3].Public },
		"swapped share keys": func(c *GroupKey) {
			c.Shares[0].Public, c.Shares[4].Public = c.Shares[4].Public, c.Shares[0].Public
		},
		"tampered public":       func(c *GroupKey) { c.Public = other.Public },
		"public is a share key": func(c *GroupKey) { c.Public = c.Shares[0].Public },
		"identity share key":    func(c *GroupKey) { c.Shares[2].Public = make([]byte, 32) },
		"undecodable public":    func(c *GroupKey) { c.Public = bytes.Repeat([]byte{0xff}, 32) },
		"threshold too low":     func(c *GroupKey) { c.Threshold = 2 },
		"threshold zero":        func(c *GroupKey) { c.Threshold = 0 },
		"threshold above total": func(c *GroupKey) { c.Threshold = 6 },
		"missing share key":     func(c *GroupKey) { c.Shares = c.Shares[:4] },
		"total mismatch":        func(c *GroupKey) { c.Total = 4 },
		"index out of order": func(c *GroupKey) {
			c.Shares[1], c.Shares[2] = c.Shares[2], c.Shares[1]
		},
		"index renumbered": func(c *GroupKey) { c.Shares[1].Index = 9 },
	}
	for name, mutate := range cases {
		c := clone()
		mutate(&c)
		if err := c.Validate(); !errors.Is(err, ErrInvalidGroupKey) {
			t.Errorf("%s: Validate = %v, want ErrInvalidGroupKey", name, err)
		}
		if _, err := NewClient(testFederation, c); !errors.Is(err, ErrInvalidGroupKey) {
			t.Errorf("%s: NewClient = %v", name, err)
		}
	}
	// Raising the claimed threshold is still consistent: a degree-2
	// polynomial is also of degree at most 3. Clients then just wait for more
	// issuers, which is safe.
	c := clone()
	c.Threshold = 4
	if err := c.Validate(); err != nil {
		t.Errorf("threshold 4 for a degree-2 sharing: %v", err)
	}
}

// A dishonest dealer who uses a polynomial of higher degree than announced
// (so that fewer or other share subsets disagree on the key) is caught.
func TestGroupKeyValidateCatchesDishonestDealer(t *testing.T) {
	coeffs := make([]group.Scalar, 4) // degree 3, announced as 3-of-5 (degree 2)
	for i := range coeffs {
		coeffs[i], _ = randomScalar(seeded(uint64(30+i)), dealDST)
	}
	g, _, ok := dealFrom(polynomial.New(coeffs), 3, 5)
	if !ok {
		t.Fatal("deal failed")
	}
	if err := g.Validate(); !errors.Is(err, ErrInvalidGroupKey) {
		t.Fatalf("degree-3 sharing announced as 3-of-5 validated: %v", err)
	}
	g.Threshold = 4
	if err := g.Validate(); err != nil {
		t.Fatalf("the same sharing as 4-of-5: %v", err)
	}
}

func TestGroupKeyValidateNamesTamperedShare(t *testing.T) {
	g, _, err := Deal(seeded(26), 3, 6)
	if err != nil {
		t.Fatal(err)
	}
	other, _, _ := Deal(seeded(27), 3, 6)
	g.Shares = slices.Clone(g.Shares)
	g.Shares[4].Public = other.Shares[4].Public
	if err := g.Validate(); !errors.Is(err, ErrInvalidGroupKey) || !strings.Contains(err.Error(), "share key 5 ") {
		t.Fatalf("Validate = %v, want share key 5 named", err)
	}
}

// The barycentric evaluator must agree with circl's LagrangeBase, including
// at points of the set itself.
func TestLagrangeMatchesCircl(t *testing.T) {
	idxs := []ShareIndex{2, 3, 7, 11, 200}
	xs := indexScalars(idxs)
	l := newLagrange(xs)
	points := []group.Scalar{grp.NewScalar(), ShareIndex(1).scalar(), ShareIndex(7).scalar(), ShareIndex(255).scalar()}
	r, _ := randomScalar(seeded(3), dealDST)
	points = append(points, r)
	for pi, x := range points {
		got := l.at(x)
		for j := range xs {
			if want := polynomial.LagrangeBase(uint(j), xs, x); !got[j].IsEqual(want) {
				t.Fatalf("point %d: L_%d differs from circl", pi, j)
			}
		}
	}
}

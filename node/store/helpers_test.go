package store

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
	"github.com/sirupsen/logrus"
)

var (
	recordPrefix    = cid.NewPrefixV1(cid.DagCBOR, mh.SHA2_256)
	indicatorPrefix = cid.NewPrefixV1(cid.Raw, mh.SHA2_256)
)

func sum(p cid.Prefix, b []byte) cid.Cid {
	c, err := p.Sum(b)
	if err != nil {
		panic(err)
	}
	return c
}

// indicator returns the indicator CID of a made-up token.
func indicator(token string) cid.Cid { return sum(indicatorPrefix, []byte("token:"+token)) }

// record builds an entry whose bytes are unique to its facts; the store
// never decodes them, so they need not be real DAG-CBOR.
func record(kind Kind, origin string, seq uint64, ind, target cid.Cid, expires int64) Entry {
	b := []byte(fmt.Sprintf("%s|%s|%d|%s|%s|%d", kind, origin, seq, ind, target, expires))
	return Entry{CID: sum(recordPrefix, b), Bytes: b, Kind: kind, Indicator: ind, Origin: origin, Seq: seq, Expires: expires, Target: target}
}

func assertion(origin string, seq uint64, ind cid.Cid, expires int64) Entry {
	return record(KindAssertion, origin, seq, ind, cid.Undef, expires)
}

func retraction(origin string, seq uint64, target cid.Cid) Entry {
	return record(KindRetraction, origin, seq, cid.Undef, target, 0)
}

func sighting(origin string, seq uint64, ind, target cid.Cid) Entry {
	return record(KindSighting, origin, seq, ind, target, 0)
}

func quietLogger() Option {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return WithLogger(logrus.NewEntry(l))
}

func openT(t testing.TB, dir string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, append([]Option{quietLogger()}, opts...)...)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

func newStore(t testing.TB) *Store {
	t.Helper()
	s := openT(t, t.TempDir())
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func putT(t testing.TB, s *Store, entries ...Entry) []bool {
	t.Helper()
	added, err := s.Put(context.Background(), entries)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	return added
}

func checkT(t testing.TB, s *Store) {
	t.Helper()
	if err := s.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

func sameCIDs(got, want []cid.Cid) bool {
	if len(got) != len(want) {
		return false
	}
	seen := map[cid.Cid]int{}
	for _, c := range got {
		seen[c]++
	}
	for _, c := range want {
		if seen[c] == 0 {
			return false
		}
		seen[c]--
	}
	return true
}

package syncnet

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node/syncengine"
)

func wireRecord(t testing.TB, kind syncengine.Kind, body string, proof []byte) syncengine.Record {
	b := []byte(body)
	return syncengine.Record{Ref: syncengine.RecordRef{CID: cidOf(b), Kind: kind, Origin: "FR/svc", Seq: 7, LogIndex: 42}, Bytes: b, Proof: proof}
}

func sampleBundles(t testing.TB) []syncengine.Bundle {
	man := wireRecord(t, syncengine.KindManifest, "manifest", nil)
	return []syncengine.Bundle{
		{Manifest: &man, Records: []syncengine.Record{
			wireRecord(t, syncengine.KindAssertion, "a1", []byte{1, 2, 3}),
			wireRecord(t, syncengine.KindRetraction, "r1", nil),
		}},
		{Records: []syncengine.Record{wireRecord(t, syncengine.KindRoster, "roster", nil)}},
	}
}

func sampleMsgs(t testing.TB) []syncengine.Msg {
	ep := syncengine.Epoch{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	return []syncengine.Msg{
		&syncengine.Hello{Epoch: ep, Next: 1 << 40},
		&syncengine.Hello{},
		&syncengine.Direct{Origins: []string{"DE/bka", "FR/svc"}},
		&syncengine.Direct{},
		&syncengine.Push{Epoch: ep, Through: 12, Bundles: sampleBundles(t)},
		&syncengine.FeedRequest{Epoch: ep, After: 3, Limit: 1000, Skip: []string{"US/fbi"}},
		&syncengine.FeedRequest{},
		&syncengine.FeedBatch{Epoch: ep, After: 3, Next: 9, Done: true, Bundles: sampleBundles(t)},
		&syncengine.FeedBatch{Epoch: ep, After: 3, Next: 3},
		&syncengine.EpochReset{Epoch: ep, Next: 77},
	}
}

func TestWireRoundTrip(t *testing.T) {
	for _, m := range sampleMsgs(t) {
		b, err := Encode(nil, m)
		if err != nil {
			t.Fatalf("%T: %v", m, err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("%T: %v", m, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("%T: round trip\n got %#v\nwant %#v", m, got, m)
		}
		again, err := Encode(nil, got)
		if err != nil || !bytes.Equal(again, b) {
			t.Errorf("%T: re-encoding differs (%v)", m, err)
		}
	}
}

// Facts never travel; LogIndex does (the sender's, for tracing).
func TestWireDropsFacts(t *testing.T) {
	bs := sampleBundles(t)
	bs[0].Records[0].Ref.Facts = "secret"
	b, err := Encode(nil, &syncengine.Push{Bundles: bs})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("secret")) {
		t.Error("Facts went on the wire")
	}
	m, _ := Decode(b)
	if r := m.(*syncengine.Push).Bundles[0].Records[0].Ref; r.Facts != nil || r.LogIndex != 42 {
		t.Errorf("decoded ref %+v", r)
	}
}

func TestWireRejects(t *testing.T) {
	hello, _ := Encode(nil, &syncengine.Hello{Next: 5})
	push, _ := Encode(nil, &syncengine.Push{Bundles: sampleBundles(t)[1:]})
	// push = type, epoch(16), through, count, hasManifest, count, record
	// (cid length, cid, kind...).
	rec := 1 + 16 + 1 + 1 + 1 + 1
	kind := rec + 1 + int(push[rec])
	withMan, _ := Encode(nil, &syncengine.Push{Bundles: sampleBundles(t)[:1]})
	manKind := rec + int(withMan[rec-1]) // the manifest starts one byte earlier
	cases := map[string][]byte{
		"empty":            nil,
		"unknown type":     {9},
		"type zero":        {0},
		"trailing":         append(bytes.Clone(hello), 0),
		"truncated":        hello[:len(hello)-1],
		"non-minimal":      append(append([]byte{typeHello}, make([]byte, 16)...), 0x85, 0x00),
		"bool two":         append(append([]byte{typeFeedBatch}, make([]byte, 16)...), 0, 0, 2, 0),
		"huge count":       append(append([]byte{typePush}, make([]byte, 16)...), 0, 0xff, 0xff, 0x03),
		"too many origins": append([]byte{typeDirect}, 0x81, 0x08),
		"long origin":      append([]byte{typeDirect, 1, 0x81, 0x02}, bytes.Repeat([]byte{'a'}, 257)...),
		"bad utf8":         {typeDirect, 1, 1, 0xff},
		"empty bundle":     append(append([]byte{typePush}, make([]byte, 16)...), 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0),
		"bad kind":         mutate(push, kind, 9),
		"kind zero":        mutate(push, kind, 0),
		"bad cid version":  mutate(push, rec+1, 0),
		"raw codec cid":    mutate(push, rec+2, byte(cid.Raw)),
		"manifest kind":    mutate(withMan, manKind, byte(syncengine.KindAssertion)),
	}
	for name, b := range cases {
		m, err := Decode(b)
		t.Logf("%s: %v", name, err)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %T, %v; want ErrMalformed", name, m, err)
		}
	}
	if _, err := Decode(make([]byte, MaxMessageBytes+1)); !errors.Is(err, ErrMalformed) {
		t.Errorf("oversized: %v", err)
	}
}

func mutate(b []byte, i int, v byte) []byte {
	out := bytes.Clone(b)
	out[i] = v
	return out
}

func TestEncodeRefuses(t *testing.T) {
	bad := sampleBundles(t)
	bad[1].Records[0].Ref.Kind = 0
	long := strings.Repeat("x", MaxStringBytes+1)
	cases := map[string]syncengine.Msg{
		"undefined cid":  &syncengine.Push{Bundles: []syncengine.Bundle{{Records: []syncengine.Record{{Ref: syncengine.RecordRef{Kind: 1}}}}}},
		"bad kind":       &syncengine.Push{Bundles: bad},
		"empty bundle":   &syncengine.Push{Bundles: []syncengine.Bundle{{}}},
		"long origin":    &syncengine.Direct{Origins: []string{long}},
		"negative limit": &syncengine.FeedRequest{Limit: -1},
		"huge index":     &syncengine.Hello{Next: 1 << 63},
		"nil":            nil,
	}
	for name, m := range cases {
		if _, err := Encode(nil, m); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
}

// FuzzDecode: Decode never panics, and whatever it accepts re-encodes to
// the same bytes.
func FuzzDecode(f *testing.F) {
	for _, m := range sampleMsgs(f) {
		b, err := Encode(nil, m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{typeDirect, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error without ErrMalformed: %v", err)
			}
			return
		}
		again, err := Encode(nil, m)
		if err != nil {
			t.Fatalf("decoded %#v does not encode: %v", m, err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, again)
		}
	})
}

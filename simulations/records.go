package simulations

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node/syncengine"
	"github.com/vigie-project/vigie/protocol/record"
)

// Simulated records are short self-describing text, so that the simulated
// node, the policy and the oracle can each read them without trusting one
// another (the oracle has its own parser, in oracle.go):
//
//	rec|kind|origin|seq|tlp|onward|indicator|target|targetOrigin|padding
//	man|origin|cid,cid,...|tag|signature-padding
//
// (With Options.Cedar, an assertion's padding starts with its Cedar
// facts: see cedar.go.)
//
// A manifest's tag is an HMAC-SHA256, keyed by its origin's simulated
// signing key, over "man|origin|cids": only that origin can produce it, as
// only it can sign with its hybrid key in production. The paddings give
// records and manifests their production sizes (a DAG-CBOR assertion of
// a few hundred bytes; an Ed25519 + ML-DSA-65 signature of 3 373 bytes) so
// that bandwidth and bytes on the wire are realistic.

// TLP 2.0 labels, as records carry them.
const (
	tlpClear       = "clear"
	tlpGreen       = "green"
	tlpAmber       = "amber"
	tlpAmberStrict = "amber+strict"
	tlpRed         = "red"
)

// Onward-transfer consent values.
const (
	onwardGranted = "granted"
	onwardDenied  = "denied"
)

const (
	recordPadding    = 300  // bytes of assertion body
	signatureBytes   = 3373 // Ed25519 (64) + ML-DSA-65 (3309)
	retractionTarget = "-"  // target fields of a record that targets nothing
)

var (
	recordPad = bytes.Repeat([]byte{'r'}, recordPadding)
	sigPad    = bytes.Repeat([]byte{'s'}, signatureBytes)
)

// facts is what the simulated node extracts from a record it verified and
// stored, and what the simulated policy decides on (RecordRef.Facts), like
// node.RecordFacts.
type facts struct {
	kind         syncengine.Kind
	origin       string
	seq          uint64
	tlp          string
	onward       string
	indicator    string
	target       string      // a retraction's assertion CID
	targetOrigin string      // the origin a retraction names for its assertion
	cedar        *cedarFacts // an assertion's facts for Cedar, if it carries them (see cedar.go)
}

// recordSpec is a record to create.
type recordSpec struct {
	kind         syncengine.Kind
	tlp          string
	onward       string
	indicator    string
	target       string
	targetOrigin string
	cedar        *cedarFacts
}

// cidOf is a record's CID, as every Vigie record's: CIDv1 dag-cbor over
// the SHA-256 of its bytes.
func cidOf(b []byte) cid.Cid { return record.CIDOf(b) }

func encodeRecord(origin string, seq uint64, s recordSpec) []byte {
	t, to := s.target, s.targetOrigin
	if t == "" {
		t, to = retractionTarget, retractionTarget
	}
	b := fmt.Appendf(nil, "rec|%d|%s|%d|%s|%s|%s|%s|%s|", s.kind, origin, seq, s.tlp, s.onward, s.indicator, t, to)
	if s.cedar != nil {
		b = append(b, s.cedar.encode()...)
	}
	return append(b, recordPad...)
}

var errMalformed = errors.New("malformed record")

// parseFacts is the simulated node's decoder.
func parseFacts(b []byte) (*facts, error) {
	f := strings.SplitN(string(b), "|", 11)
	if len(f) != 10 || f[0] != "rec" {
		return nil, errMalformed
	}
	k, err1 := strconv.ParseUint(f[1], 10, 8)
	seq, err2 := strconv.ParseUint(f[3], 10, 64)
	if err1 != nil || err2 != nil || f[2] == "" {
		return nil, errMalformed
	}
	out := &facts{kind: syncengine.Kind(k), origin: f[2], seq: seq, tlp: f[4], onward: f[5], indicator: f[6]}
	switch out.kind {
	case syncengine.KindAssertion:
		switch out.tlp {
		case tlpClear, tlpGreen, tlpAmber, tlpAmberStrict, tlpRed:
		default:
			return nil, errMalformed
		}
	case syncengine.KindRetraction:
		if f[7] == retractionTarget || f[8] == retractionTarget {
			return nil, errMalformed
		}
		out.target, out.targetOrigin = f[7], f[8]
	default:
		return nil, errMalformed
	}
	if out.cedar, err1 = parseCedarFacts(f[9]); err1 != nil {
		return nil, err1
	}
	return out, nil
}

// keyOf derives an origin's simulated signing key from the run's seed.
func keyOf(seed uint64, origin string) []byte {
	h := sha256.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seed)
	h.Write([]byte("vigie-sim-key|"))
	h.Write(b[:])
	h.Write([]byte(origin))
	return h.Sum(nil)
}

func manifestTag(key []byte, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// encodeManifest signs a manifest over recs with key.
func encodeManifest(key []byte, origin string, recs []syncengine.Record) []byte {
	cids := make([]string, len(recs))
	for i, r := range recs {
		cids[i] = r.Ref.CID.String()
	}
	body := fmt.Appendf(nil, "man|%s|%s", origin, strings.Join(cids, ","))
	tag := manifestTag(key, body)
	b := fmt.Appendf(body, "|%s|", tag)
	return append(b, sigPad...)
}

// parseManifest returns a manifest's origin, covered CIDs, signed body
// and tag.
func parseManifest(b []byte) (origin string, covers []string, body []byte, tag string, err error) {
	f := strings.SplitN(string(b), "|", 5)
	if len(f) != 5 || f[0] != "man" || f[1] == "" {
		return "", nil, nil, "", errMalformed
	}
	body = []byte(strings.Join(f[:3], "|"))
	return f[1], strings.Split(f[2], ","), body, f[3], nil
}

// newBundle builds and signs a batch of origin's records from seq on.
func newBundle(key []byte, origin string, seq uint64, specs []recordSpec) syncengine.Bundle {
	recs := make([]syncengine.Record, len(specs))
	for i, s := range specs {
		b := encodeRecord(origin, seq+uint64(i), s)
		f, err := parseFacts(b)
		if err != nil {
			panic(fmt.Sprintf("simulations: bad record spec %+v: %v", s, err))
		}
		recs[i] = syncengine.Record{Ref: syncengine.RecordRef{CID: cidOf(b), Kind: s.kind, Origin: origin, Seq: seq + uint64(i), Facts: f}, Bytes: b}
	}
	mb := encodeManifest(key, origin, recs)
	m := &syncengine.Record{Ref: syncengine.RecordRef{CID: cidOf(mb), Kind: syncengine.KindManifest, Origin: origin}, Bytes: mb}
	return syncengine.Bundle{Manifest: m, Records: recs}
}

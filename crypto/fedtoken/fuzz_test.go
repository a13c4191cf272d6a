package fedtoken

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/cloudflare/circl/zk/dleq"
)

func FuzzShareUnmarshal(f *testing.F) {
	_, shares, err := Deal(seeded(40), 2, 3)
	if err != nil {
		f.Fatal(err)
	}
	good, _ := shares[2].MarshalBinary()
	f.Add(good)
	f.Add(good[:34])
	f.Add(append(bytes.Clone(good), 0))
	f.Add([]byte{})
	f.Add(append([]byte{1, 0, 1}, bytes.Repeat([]byte{0xff}, 32)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Share
		if err := s.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// Accepted bytes are the canonical encoding and load as an issuer.
		again, err := s.MarshalBinary()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-encoding %x gives %x (%v)", b, again, err)
		}
		if _, err := NewIssuer(s); err != nil {
			t.Fatalf("accepted share does not load: %v", err)
		}
	})
}

// splitElements cuts data into 32-byte chunks, the last one possibly short.
func splitElements(data []byte) [][]byte {
	var out [][]byte
	for len(data) > 0 {
		n := min(len(data), elementLen)
		out = append(out, data[:n])
		data = data[n:]
	}
	return out
}

func FuzzIssuerEvaluate(f *testing.F) {
	fed := newFederation(f, 41, 2, 3)
	_, base, err := fed.client.Blind(seeded(42), sampleInputs(5))
	if err != nil {
		f.Fatal(err)
	}
	is := fed.issuers[0]
	verifier := dleq.Verifier{Params: dleqParams}
	f.Add(base[0], uint8(0), uint8(BatchSize))
	f.Add(make([]byte, 32), uint8(3), uint8(BatchSize))
	f.Add(bytes.Repeat([]byte{0xff}, 40), uint8(31), uint8(BatchSize))
	f.Add(slices.Concat(base...), uint8(0), uint8(BatchSize))
	f.Add(base[1], uint8(0), uint8(31))
	f.Add([]byte{}, uint8(0), uint8(33))
	f.Fuzz(func(t *testing.T, data []byte, pos, size uint8) {
		// Most requests keep BatchSize elements so that element parsing,
		// not the size check, is what gets explored.
		req := slices.Clone(base)
		for j, e := range splitElements(data) {
			req[(int(pos)+j)%BatchSize] = e
		}
		if n := int(size) % (BatchSize + 8); n != BatchSize && size&0x80 != 0 {
			req = req[:min(n, len(req))]
		}
		evals, proof, err := is.EvaluateWithRand(seeded(uint64(len(data))), req)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrBatchSize) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		// Accepted: every element decodes, and the answer verifies.
		elems, err := decodeElements(req)
		if err != nil || len(req) != BatchSize {
			t.Fatalf("accepted a bad request (%d elements): %v", len(req), err)
		}
		ev, err := decodeElements(evals)
		if err != nil {
			t.Fatalf("issuer produced a bad element: %v", err)
		}
		p := new(dleq.Proof)
		if err := p.UnmarshalBinary(grp, proof); err != nil {
			t.Fatal(err)
		}
		if !verifier.VerifyBatchRFC9497(is.pub, elems, ev, p) {
			t.Fatal("issuer's proof does not verify")
		}
	})
}

func FuzzFinalize(f *testing.F) {
	fed := newFederation(f, 43, 2, 3)
	inputs := sampleInputs(6)
	pending, blinded, err := fed.client.Blind(seeded(44), inputs)
	if err != nil {
		f.Fatal(err)
	}
	honest := fed.respond(f, blinded, 1, 2, 3)
	want, _, err := pending.Finalize(honest[1:])
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint16(1), slices.Concat(honest[0].Evaluated...), honest[0].Proof, uint8(0))
	f.Add(uint16(2), []byte{}, honest[1].Proof, uint8(0))
	f.Add(uint16(1), []byte{}, honest[1].Proof, uint8(0))
	f.Add(uint16(1), make([]byte, 32), honest[0].Proof, uint8(5))
	f.Add(uint16(4), []byte{}, honest[0].Proof, uint8(0))
	f.Add(uint16(1), honest[0].Evaluated[1], honest[0].Proof[:63], uint8(0))
	f.Add(uint16(1), []byte{}, append(bytes.Clone(honest[0].Proof), 0), uint8(40))
	f.Fuzz(func(t *testing.T, index uint16, evals, proof []byte, pos uint8) {
		// Start from an honest answer (of issuer 1 or 2) and overwrite
		// elements with fuzz bytes; pos beyond the batch trims it.
		src := honest[index%2]
		r := Response{Index: ShareIndex(index), Evaluated: slices.Clone(src.Evaluated), Proof: proof}
		for j, e := range splitElements(evals) {
			r.Evaluated[(int(pos)+j)%BatchSize] = e
		}
		if int(pos) > BatchSize && pos&0x40 != 0 {
			r.Evaluated = r.Evaluated[:int(pos)%BatchSize]
		}
		tokens, rep, err := pending.Finalize([]Response{r, honest[2]})
		if rep == nil {
			t.Fatal("nil report")
		}
		if err != nil {
			// Only the fuzzed response can have failed (with index 3 the
			// honest issuer 3 is also flagged as sending twice).
			if !errors.Is(err, ErrNotEnoughIssuers) || len(rep.Rejected) == 0 {
				t.Fatalf("err %v, report %+v", err, rep)
			}
			for _, re := range rep.Rejected {
				if re.Index != r.Index {
					t.Fatalf("honest issuer rejected: %v", re)
				}
			}
			return
		}
		// Accepted: DLEQ soundness means the tokens are the honest ones.
		if !tokensEqual(tokens, want) {
			t.Fatalf("accepted a response that changes tokens: index %d", index)
		}
	})
}

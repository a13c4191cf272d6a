package issuance

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/vigie-project/vigie/crypto/fedtoken"
	"github.com/vigie-project/vigie/protocol/dagcbor"
)

func elements(fill byte) [][]byte {
	out := make([][]byte, fedtoken.BatchSize)
	for i := range out {
		out[i] = bytes.Repeat([]byte{fill + byte(i)}, ElementSize)
	}
	return out
}

func sampleMessages() []Message {
	id := [BatchIDSize]byte{1, 2, 3}
	return []Message{
		&Request{BatchID: id, FederationID: "eu-tco-2026", Use: UseLookup, Blinded: elements(7)},
		&Response{BatchID: id, Index: 3, Evaluated: elements(9), Proof: bytes.Repeat([]byte{5}, ProofSize)},
		&Refusal{BatchID: id, Code: CodeRateLimited, Message: "daily budget of 100000 evaluations spent"},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, m := range sampleMessages() {
		b, err := m.Encode()
		if err != nil {
			t.Fatalf("%T: %v", m, err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("%T: %v", m, err)
		}
		again, err := got.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, again) {
			t.Fatalf("%T: re-encoding changed the bytes", m)
		}
	}
}

// The messages carry a real threshold issuance from blinding to tokens.
func TestCarriesARealIssuance(t *testing.T) {
	group, shares, err := fedtoken.Deal(rand.Reader, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	client, err := fedtoken.NewClient("fed-test", group)
	if err != nil {
		t.Fatal(err)
	}
	inputs := []fedtoken.Input{{Kind: 1, Expression: "evil.example/"}}
	pending, blinded, err := client.Blind(rand.Reader, inputs)
	if err != nil {
		t.Fatal(err)
	}
	reqBytes, err := (&Request{FederationID: "fed-test", Use: UseLookup, Blinded: blinded}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	var responses []fedtoken.Response
	for _, s := range shares[:2] {
		msg, err := Decode(reqBytes)
		if err != nil {
			t.Fatal(err)
		}
		req := msg.(*Request)
		issuer, err := fedtoken.NewIssuer(s)
		if err != nil {
			t.Fatal(err)
		}
		evaluated, proof, err := issuer.Evaluate(req.Blinded)
		if err != nil {
			t.Fatal(err)
		}
		respBytes, err := (&Response{BatchID: req.BatchID, Index: s.Index, Evaluated: evaluated, Proof: proof}).Encode()
		if err != nil {
			t.Fatal(err)
		}
		back, err := Decode(respBytes)
		if err != nil {
			t.Fatal(err)
		}
		responses = append(responses, back.(*Response).ForClient())
	}
	tokens, _, err := pending.Finalize(responses)
	if err != nil {
		t.Fatal(err)
	}
	issuers := make([]*fedtoken.Issuer, len(shares))
	for i, s := range shares {
		issuers[i], _ = fedtoken.NewIssuer(s)
	}
	want, err := client.TokenizeLocal(rand.Reader, inputs, issuers)
	if err != nil {
		t.Fatal(err)
	}
	if len(tokens) != 1 || tokens[0] != want[0] {
		t.Fatal("tokens through the wire messages differ from in-process tokens")
	}
}

func TestEncodeRejectsInvalid(t *testing.T) {
	short := elements(1)[:fedtoken.BatchSize-1]
	badElem := elements(1)
	badElem[4] = badElem[4][:31]
	cases := map[string]Message{
		"short batch":     &Request{FederationID: "f", Use: UseLookup, Blinded: short},
		"bad element":     &Request{FederationID: "f", Use: UseLookup, Blinded: badElem},
		"unknown use":     &Request{FederationID: "f", Use: "mass-scan", Blinded: elements(1)},
		"no federation":   &Request{Use: UseLookup, Blinded: elements(1)},
		"share index 0":   &Response{Evaluated: elements(1), Proof: make([]byte, ProofSize)},
		"short proof":     &Response{Index: 1, Evaluated: elements(1), Proof: make([]byte, 63)},
		"unknown code":    &Refusal{Code: "nope"},
		"long error text": &Refusal{Code: CodeInternal, Message: string(bytes.Repeat([]byte("x"), MaxErrorMessageLen+1))},
	}
	for name, m := range cases {
		if _, err := m.Encode(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}

func encodeRaw(t *testing.T, entries ...dagcbor.Entry) []byte {
	t.Helper()
	b, err := dagcbor.Encode(dagcbor.Map(entries...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeRejects(t *testing.T) {
	good, _ := sampleMessages()[2].Encode()
	id := dagcbor.Entry{Key: "batch", Value: dagcbor.Bytes(make([]byte, BatchIDSize))}
	cases := map[string]struct {
		b    []byte
		want error
	}{
		"trailing byte": {append(bytes.Clone(good), 0), dagcbor.ErrTrailingData},
		"newer version": {encodeRaw(t, dagcbor.Entry{Key: "v", Value: dagcbor.Uint(2)},
			dagcbor.Entry{Key: "type", Value: dagcbor.Text("token-error")}), ErrUnknownVersion},
		"unknown type": {encodeRaw(t, dagcbor.Entry{Key: "v", Value: dagcbor.Uint(1)},
			dagcbor.Entry{Key: "type", Value: dagcbor.Text("token-gift")}), ErrInvalid},
		"unknown field": {encodeRaw(t, dagcbor.Entry{Key: "v", Value: dagcbor.Uint(1)},
			dagcbor.Entry{Key: "type", Value: dagcbor.Text("token-error")}, id,
			dagcbor.Entry{Key: "code", Value: dagcbor.Text("internal")},
			dagcbor.Entry{Key: "msg", Value: dagcbor.Text("")},
			dagcbor.Entry{Key: "url", Value: dagcbor.Text("x")}), dagcbor.ErrUnknownField},
		"missing field": {encodeRaw(t, dagcbor.Entry{Key: "v", Value: dagcbor.Uint(1)},
			dagcbor.Entry{Key: "type", Value: dagcbor.Text("token-error")}, id), dagcbor.ErrMissingField},
		"short batch id": {encodeRaw(t, dagcbor.Entry{Key: "v", Value: dagcbor.Uint(1)},
			dagcbor.Entry{Key: "type", Value: dagcbor.Text("token-error")},
			dagcbor.Entry{Key: "batch", Value: dagcbor.Bytes([]byte{1})},
			dagcbor.Entry{Key: "code", Value: dagcbor.Text("internal")},
			dagcbor.Entry{Key: "msg", Value: dagcbor.Text("")}), ErrInvalid},
		"oversized": {make([]byte, MaxMessageSize+1), ErrInvalid},
	}
	for name, tc := range cases {
		if _, err := Decode(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, m := range sampleMessages() {
		b, _ := m.Encode()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		again, err := m.Encode()
		if err != nil {
			t.Fatalf("decoded message does not re-encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatal("decode then encode changed the bytes")
		}
	})
}

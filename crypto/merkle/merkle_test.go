package merkle

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

type referenceTree struct {
	Leaves []string `json:"leaf_inputs_hex"`
	Roots  []string `json:"root_hashes_hex"`
}

func loadReferenceTree(t *testing.T) (leaves [][]byte, roots []Hash) {
	t.Helper()
	data, err := os.ReadFile("../../testdata/merkle/rfc6962_reference_tree.json")
	if err != nil {
		t.Fatal(err)
	}
	var rt referenceTree
	if err := json.Unmarshal(data, &rt); err != nil {
		t.Fatal(err)
	}
	for _, l := range rt.Leaves {
		b, err := hex.DecodeString(l)
		if err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, b)
	}
	for _, r := range rt.Roots {
		b, err := hex.DecodeString(r)
		if err != nil || len(b) != 32 {
			t.Fatalf("bad root %q", r)
		}
		roots = append(roots, Hash(b))
	}
	return leaves, roots
}

func TestRootMatchesReferenceTree(t *testing.T) {
	leaves, roots := loadReferenceTree(t)
	if len(roots) != len(leaves)+1 {
		t.Fatalf("vector file has %d roots for %d leaves", len(roots), len(leaves))
	}
	for n := range roots {
		if got := Root(leaves[:n]); got != roots[n] {
			t.Errorf("root of first %d leaves = %x, want %x", n, got, roots[n])
		}
	}
}

// Every proof we generate for every leaf of every prefix of the reference
// tree verifies, and fails for the neighbouring leaf.
func TestInclusionProofsVerify(t *testing.T) {
	leaves, roots := loadReferenceTree(t)
	for n := 1; n <= len(leaves); n++ {
		for i := 0; i < n; i++ {
			p, err := InclusionProof(leaves[:n], i)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyInclusion(uint64(i), uint64(n), leaves[i], p, roots[n]); err != nil {
				t.Errorf("size %d leaf %d: %v", n, i, err)
			}
			other := leaves[(i+1)%len(leaves)]
			if err := VerifyInclusion(uint64(i), uint64(n), other, p, roots[n]); !errors.Is(err, ErrInclusion) && n > 1 {
				t.Errorf("size %d leaf %d: wrong leaf accepted (%v)", n, i, err)
			}
		}
	}
	if _, err := InclusionProof(leaves, len(leaves)); err == nil {
		t.Error("proof for a leaf past the end")
	}
}

type inclusionVector struct {
	LeafIdx  uint64   `json:"leafIdx"`
	TreeSize uint64   `json:"treeSize"`
	Root     []byte   `json:"root"`
	LeafHash []byte   `json:"leafHash"`
	Proof    [][]byte `json:"proof"`
	Desc     string   `json:"desc"`
	WantErr  bool     `json:"wantErr"`
}

// The published transparency-dev vectors, including every mutation, give
// the expected verdict through our verifier, and our own proofs equal the
// published happy-path proofs.
func TestPublishedInclusionVectors(t *testing.T) {
	leaves, _ := loadReferenceTree(t)
	files, err := filepath.Glob("../../testdata/merkle/inclusion/*/*.json")
	if err != nil || len(files) < 20 {
		t.Fatalf("found %d vector files (%v)", len(files), err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v inclusionVector
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		t.Run(fmt.Sprintf("%s/%s", filepath.Base(filepath.Dir(f)), filepath.Base(f)), func(t *testing.T) {
			proof, ok := toHashes(v.Proof)
			root, rootOK := toHash(v.Root)
			leaf, leafOK := toHash(v.LeafHash)
			if !ok || !rootOK || !leafOK {
				if !v.WantErr {
					t.Fatal("happy-path vector with malformed hashes")
				}
				return // a malformed hash can never verify
			}
			err := VerifyInclusionHash(v.LeafIdx, v.TreeSize, leaf, proof, root)
			if (err != nil) != v.WantErr {
				t.Fatalf("%s: err = %v, wantErr %v", v.Desc, err, v.WantErr)
			}
			if !v.WantErr && v.TreeSize <= uint64(len(leaves)) && v.TreeSize > 0 {
				ours, _ := InclusionProof(leaves[:v.TreeSize], int(v.LeafIdx))
				if fmt.Sprint(ours) != fmt.Sprint(proof) {
					t.Errorf("our proof %x differs from the published %x", ours, proof)
				}
			}
		})
	}
}

func toHash(b []byte) (Hash, bool) {
	if len(b) != len(Hash{}) {
		return Hash{}, false
	}
	return Hash(b), true
}

func toHashes(bs [][]byte) ([]Hash, bool) {
	out := make([]Hash, 0, len(bs))
	for _, b := range bs {
		h, ok := toHash(b)
		if !ok {
			return nil, false
		}
		out = append(out, h)
	}
	return out, true
}

func BenchmarkRoot256(b *testing.B) {
	leaves := make([][]byte, 256)
	for i := range leaves {
		leaves[i] = []byte(fmt.Sprintf("bafyrei-record-%04d-xxxxxxxxxxxxxxxxxxxx", i))
	}
	for b.Loop() {
		Root(leaves)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/256, "ns/leaf")
}

func TestInclusionProofsMatchSingleProofs(t *testing.T) {
	for n := 1; n <= 70; n++ {
		leaves := make([][]byte, n)
		for i := range leaves {
			leaves[i] = []byte{byte(i), byte(n)}
		}
		paths, root := InclusionProofs(leaves)
		if root != Root(leaves) {
			t.Fatalf("n=%d: root differs from Root", n)
		}
		for i := range leaves {
			want, err := InclusionProof(leaves, i)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(paths[i], want) {
				t.Fatalf("n=%d leaf %d: path %x, want %x", n, i, paths[i], want)
			}
			if err := VerifyInclusion(uint64(i), uint64(n), leaves[i], paths[i], root); err != nil {
				t.Fatalf("n=%d leaf %d: %v", n, i, err)
			}
		}
	}
}

package witness

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vigie-project/vigie/crypto/checkpoint"
	"github.com/vigie-project/vigie/crypto/merkle"
	"github.com/vigie-project/vigie/internal/atomicfile"
)

// State is what a witness holds for one origin: the latest checkpoint it
// cosigned, and the signed note it cosigned (kept so that a later
// conflicting note from the same origin makes a portable proof).
type State struct {
	Origin string
	Size   uint64
	Root   merkle.Hash
	Note   []byte
}

// stateFile is the JSON of a state file.
type stateFile struct {
	Origin string `json:"origin"`
	Size   uint64 `json:"size"`
	Root   string `json:"root"`
	Note   string `json:"note"`
}

const (
	statePrefix     = "origin-"
	stateSuffix     = ".json"
	equivocationDir = "equivocations"
	tmpPrefix       = atomicfile.TempPrefix
	// maxStateFile bounds a state file read at start-up.
	maxStateFile = 4 * checkpoint.MaxNoteSize
)

// stateName is the file of an origin: a hash of its name, so that any
// origin string makes a safe file name.
func stateName(origin string) string {
	sum := sha256.Sum256([]byte(origin))
	return statePrefix + hex.EncodeToString(sum[:16]) + stateSuffix
}

func (s *State) marshal() ([]byte, error) {
	return json.Marshal(stateFile{Origin: s.Origin, Size: s.Size, Root: base64.StdEncoding.EncodeToString(s.Root[:]), Note: string(s.Note)})
}

// parseState reads a state file and checks it against the note it holds
// (the signatures were verified when it was accepted).
func parseState(b []byte) (*State, error) {
	var f stateFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	n, err := checkpoint.ParseNote([]byte(f.Note))
	if err != nil {
		return nil, err
	}
	c, err := checkpoint.ParseCheckpoint(n.Text)
	if err != nil {
		return nil, err
	}
	root, err := base64.StdEncoding.Strict().DecodeString(f.Root)
	if err != nil || len(root) != len(merkle.Hash{}) {
		return nil, fmt.Errorf("root is not base64 of 32 bytes")
	}
	s := &State{Origin: f.Origin, Size: f.Size, Note: []byte(f.Note)}
	copy(s.Root[:], root)
	if c.Origin != s.Origin || c.Size != s.Size || c.Root != s.Root {
		return nil, fmt.Errorf("the note is %s@%d, the file says %s@%d", c.Origin, c.Size, s.Origin, s.Size)
	}
	return s, nil
}

// loadStates reads every origin's state from dir, removing temporary
// files a crash left behind. A state file that cannot be read stops the
// witness: forgetting it would let the origin roll back.
func loadStates(dir string) (map[string]*State, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*State)
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, tmpPrefix) {
			_ = os.Remove(filepath.Join(dir, name))
			continue
		}
		if !strings.HasPrefix(name, statePrefix) || !strings.HasSuffix(name, stateSuffix) || !e.Type().IsRegular() {
			continue
		}
		b, err := readBounded(filepath.Join(dir, name), maxStateFile)
		if err != nil {
			return nil, fmt.Errorf("witness: state %s: %w", name, err)
		}
		s, err := parseState(b)
		if err != nil {
			return nil, fmt.Errorf("witness: state %s: %w", name, err)
		}
		if stateName(s.Origin) != name {
			return nil, fmt.Errorf("witness: state %s holds origin %q", name, s.Origin)
		}
		out[s.Origin] = s
	}
	return out, nil
}

// loadEquivocations reads the proofs kept in dir.
func loadEquivocations(dir string) ([]*Equivocation, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Equivocation
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, tmpPrefix) {
			_ = os.Remove(filepath.Join(dir, name))
			continue
		}
		if !strings.HasSuffix(name, ".json") || !e.Type().IsRegular() {
			continue
		}
		b, err := readBounded(filepath.Join(dir, name), MaxEquivocationSize)
		if err != nil {
			return nil, fmt.Errorf("witness: equivocation %s: %w", name, err)
		}
		p, err := ParseEquivocation(b)
		if err != nil {
			return nil, fmt.Errorf("witness: equivocation %s: %w", name, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func readBounded(path string, max int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > int64(max) {
		return nil, fmt.Errorf("file of %d bytes exceeds %d", st.Size(), max)
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil && st.Size() > 0 {
		return nil, err
	}
	return b, nil
}

// writeFileAtomic replaces dir/name with data durably: a temporary file
// in the same folder is written and fsynced, renamed over the target, and
// the folder is fsynced so that the rename survives a crash. A reader (or
// a restart) sees the old content or the new, never a mix.
func writeFileAtomic(dir, name string, data []byte) error {
	return atomicfile.Write(filepath.Join(dir, name), data, 0o600)
}

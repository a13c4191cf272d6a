package checkpoint

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/vigie-project/vigie/crypto/merkle"
)

// Checkpoint is a transparency log's tree head: the log's origin, the
// number of leaves and the RFC 6962 root hash, plus optional extension
// lines (opaque, non-empty, not recommended).
type Checkpoint struct {
	Origin     string
	Size       uint64
	Root       merkle.Hash
	Extensions []string
}

// Validate reports whether c can be written as a checkpoint body.
func (c Checkpoint) Validate() error {
	if err := validLine(c.Origin); err != nil {
		return fmt.Errorf("%w: origin: %v", ErrMalformed, err)
	}
	for i, e := range c.Extensions {
		if err := validLine(e); err != nil {
			return fmt.Errorf("%w: extension line %d: %v", ErrMalformed, i+1, err)
		}
	}
	return nil
}

// validLine checks one non-empty line of note text.
func validLine(s string) error {
	if s == "" {
		return fmt.Errorf("empty line")
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("not valid UTF-8")
	}
	for _, r := range s {
		if r < 0x20 {
			return fmt.Errorf("control character %U", r)
		}
	}
	return nil
}

// Marshal returns the checkpoint body, ending in a newline.
func (c Checkpoint) Marshal() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(c.Origin)
	b.WriteByte('\n')
	b.WriteString(strconv.FormatUint(c.Size, 10))
	b.WriteByte('\n')
	b.WriteString(base64.StdEncoding.EncodeToString(c.Root[:]))
	b.WriteByte('\n')
	for _, e := range c.Extensions {
		b.WriteString(e)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// String is the body, or a description of why it cannot be written.
func (c Checkpoint) String() string {
	b, err := c.Marshal()
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// ParseCheckpoint parses a checkpoint body (a note's text, including its
// final newline, without the signatures).
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	var c Checkpoint
	if len(text) > MaxNoteSize {
		return c, fmt.Errorf("%w: checkpoint of %d bytes exceeds %d", ErrMalformed, len(text), MaxNoteSize)
	}
	if err := checkText(text); err != nil {
		return c, err
	}
	lines := strings.Split(string(text[:len(text)-1]), "\n")
	if len(lines) < 3 {
		return c, fmt.Errorf("%w: checkpoint has %d lines, want at least 3", ErrMalformed, len(lines))
	}
	if lines[0] == "" {
		return c, fmt.Errorf("%w: empty origin line", ErrMalformed)
	}
	c.Origin = lines[0]
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || strconv.FormatUint(size, 10) != lines[1] {
		return c, fmt.Errorf("%w: tree size %q is not a decimal without leading zeroes", ErrMalformed, lines[1])
	}
	c.Size = size
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != len(c.Root) {
		return c, fmt.Errorf("%w: root hash %q is not base64 of %d bytes", ErrMalformed, lines[2], len(c.Root))
	}
	copy(c.Root[:], root)
	for i, e := range lines[3:] {
		if e == "" {
			return c, fmt.Errorf("%w: extension line %d is empty", ErrMalformed, i+1)
		}
		c.Extensions = append(c.Extensions, e)
	}
	return c, nil
}

// checkText checks the signed-note rules for a note text: non-empty, valid
// UTF-8, no control characters but newline, ending in a newline.
func checkText(text []byte) error {
	if len(text) == 0 || text[len(text)-1] != '\n' {
		return fmt.Errorf("%w: text must be non-empty and end in a newline", ErrMalformed)
	}
	return checkChars(text)
}

func checkChars(b []byte) error {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\n' {
				return fmt.Errorf("%w: control character 0x%02x at byte %d", ErrMalformed, c, i)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return fmt.Errorf("%w: invalid UTF-8 at byte %d", ErrMalformed, i)
		}
		i += size
	}
	return nil
}

// validName is the signed-note rule for key names: non-empty, valid UTF-8,
// no Unicode space and no '+'.
func validName(name string) bool {
	return name != "" && utf8.ValidString(name) &&
		strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || r < 0x20 }) < 0 &&
		!strings.Contains(name, "+")
}

// VerifyConsistency checks an RFC 6962 consistency proof that older is a
// prefix of newer. Both must have the same origin. A proof between equal
// sizes must be empty and the roots equal. Following RFC 9162 and the
// transparency-dev vectors, there is no proof from size 0: that is an
// error, and callers (a witness seeing a log for the first time) skip the
// check instead.
func VerifyConsistency(older, newer Checkpoint, consistencyProof []merkle.Hash) error {
	if older.Origin != newer.Origin {
		return fmt.Errorf("checkpoint: consistency between different origins %q and %q", older.Origin, newer.Origin)
	}
	if older.Size > newer.Size {
		return fmt.Errorf("checkpoint: size %d is older than %d", newer.Size, older.Size)
	}
	p := make([][]byte, len(consistencyProof))
	for i := range consistencyProof {
		p[i] = consistencyProof[i][:]
	}
	if older.Size == 0 {
		// RFC 9162 defines no consistency proof from the empty tree and
		// the published vectors reject every such check: a caller whose
		// previous size is 0 has nothing to check and must not call this.
		return fmt.Errorf("checkpoint: no consistency proof from size 0 (every tree extends the empty one)")
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, older.Size, newer.Size, p, older.Root[:], newer.Root[:]); err != nil {
		return fmt.Errorf("checkpoint: %s@%d is not a prefix of %s@%d: %w", older.Origin, older.Size, newer.Origin, newer.Size, err)
	}
	return nil
}

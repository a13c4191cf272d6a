package witness

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/vigie-project/vigie/crypto/checkpoint"
	"github.com/vigie-project/vigie/crypto/merkle"
)

// Protocol is the libp2p protocol of witnessing.
const Protocol protocol.ID = "/vigie/witness/1.0.0"

// Limits of the wire format.
const (
	// MaxProofHashes bounds a consistency proof, as C2SP tlog-witness
	// does (up to 63 proof lines; a real proof has about log₂ n).
	MaxProofHashes = 63
	// MaxRequestSize bounds a request frame: the "old" line, the proof
	// lines, the blank line and a signed note of at most
	// checkpoint.MaxNoteSize.
	MaxRequestSize = len("old 18446744073709551615\n") + MaxProofHashes*45 + 1 + checkpoint.MaxNoteSize
	// MaxCosignatures bounds the signature lines of one answer (a witness
	// has one key per signature type).
	MaxCosignatures = 4
	// MaxResponseSize bounds a response frame: a status line and up to
	// MaxCosignatures ML-DSA-44 cosignature lines.
	MaxResponseSize = 32 << 10
	// MaxReasonLen bounds the reason phrase of a status line.
	MaxReasonLen = 256
)

// Status codes of an answer, those of C2SP tlog-witness's HTTP binding.
const (
	StatusOK            = 200 // cosigned; the body is the cosignature lines
	StatusBadRequest    = 400 // malformed request, or old size > checkpoint size
	StatusForbidden     = 403 // a signature of the origin is missing or invalid
	StatusUnknownOrigin = 404 // the witness does not witness this origin
	StatusConflict      = 409 // the body is the witness's latest size for the origin
	StatusBadProof      = 422 // the consistency proof does not verify
	StatusInternal      = 500 // the witness failed (could not persist, say)
)

// Request is C2SP tlog-witness's add-checkpoint request: the size of the
// latest checkpoint the requester believes the witness cosigned for this
// origin (0 if none), a consistency proof from that size to the
// checkpoint's, and the signed checkpoint note.
type Request struct {
	OldSize uint64
	Proof   []merkle.Hash
	Note    []byte
}

// Marshal returns the request body, byte for byte the C2SP one:
//
//	old <size>\n
//	<base64 proof hash>\n ...
//	\n
//	<signed note>
func (r *Request) Marshal() ([]byte, error) {
	if len(r.Proof) > MaxProofHashes {
		return nil, fmt.Errorf("witness: proof of %d hashes exceeds %d", len(r.Proof), MaxProofHashes)
	}
	if len(r.Note) > checkpoint.MaxNoteSize {
		return nil, fmt.Errorf("witness: note of %d bytes exceeds %d", len(r.Note), checkpoint.MaxNoteSize)
	}
	var b bytes.Buffer
	b.Grow(32 + 45*len(r.Proof) + len(r.Note))
	b.WriteString("old ")
	b.WriteString(strconv.FormatUint(r.OldSize, 10))
	b.WriteByte('\n')
	for _, h := range r.Proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.Write(r.Note)
	return b.Bytes(), nil
}

// ParseRequest parses a request body. It checks the form only: the note
// is parsed (and verified) by the witness.
func ParseRequest(b []byte) (*Request, error) {
	if len(b) > MaxRequestSize {
		return nil, fmt.Errorf("witness: request of %d bytes exceeds %d", len(b), MaxRequestSize)
	}
	line, rest, ok := cutLine(b)
	if !ok {
		return nil, fmt.Errorf("witness: request has no old-size line")
	}
	num, found := strings.CutPrefix(string(line), "old ")
	if !found {
		return nil, fmt.Errorf("witness: request does not start with \"old \"")
	}
	old, err := parseSize(num)
	if err != nil {
		return nil, err
	}
	r := &Request{OldSize: old}
	for {
		line, rest, ok = cutLine(rest)
		if !ok {
			return nil, fmt.Errorf("witness: request has no blank line before the note")
		}
		if len(line) == 0 {
			break
		}
		if len(r.Proof) == MaxProofHashes {
			return nil, fmt.Errorf("witness: proof has more than %d hashes", MaxProofHashes)
		}
		var h merkle.Hash
		if len(line) != base64.StdEncoding.EncodedLen(len(h)) {
			return nil, fmt.Errorf("witness: proof line %d is not base64 of %d bytes", len(r.Proof)+1, len(h))
		}
		// 44 characters with one '=' decode to exactly 32 bytes;
		// anything else errs or comes up short.
		var buf [33]byte
		n, err := base64.StdEncoding.Strict().Decode(buf[:], line)
		copy(h[:], buf[:n])
		if err != nil || n != len(h) {
			return nil, fmt.Errorf("witness: proof line %d is not base64 of %d bytes", len(r.Proof)+1, len(h))
		}
		r.Proof = append(r.Proof, h)
	}
	if len(rest) == 0 {
		return nil, fmt.Errorf("witness: request has no note")
	}
	r.Note = bytes.Clone(rest)
	return r, nil
}

// Response is a witness's answer.
type Response struct {
	Status int
	// Reason is a short human-readable explanation (one line).
	Reason string
	// Size is the witness's latest size for the origin (StatusConflict).
	Size uint64
	// Cosignatures are the witness's signature lines (StatusOK).
	Cosignatures []checkpoint.Signature
}

// Marshal returns the response body: a status line "<code> <reason>\n",
// then for 200 the cosignature lines and for 409 the size in decimal and
// a newline (C2SP's text/x.tlog.size body).
func (r *Response) Marshal() ([]byte, error) {
	if r.Status < 100 || r.Status > 599 {
		return nil, fmt.Errorf("witness: status %d", r.Status)
	}
	var b bytes.Buffer
	b.WriteString(strconv.Itoa(r.Status))
	if reason := cleanReason(r.Reason); reason != "" {
		b.WriteByte(' ')
		b.WriteString(reason)
	}
	b.WriteByte('\n')
	switch r.Status {
	case StatusOK:
		if len(r.Cosignatures) == 0 || len(r.Cosignatures) > MaxCosignatures {
			return nil, fmt.Errorf("witness: %d cosignatures, want 1 to %d", len(r.Cosignatures), MaxCosignatures)
		}
		for _, s := range r.Cosignatures {
			b.WriteString(s.Line())
		}
	case StatusConflict:
		b.WriteString(strconv.FormatUint(r.Size, 10))
		b.WriteByte('\n')
	}
	if b.Len() > MaxResponseSize {
		return nil, fmt.Errorf("witness: response of %d bytes exceeds %d", b.Len(), MaxResponseSize)
	}
	return b.Bytes(), nil
}

// ParseResponse parses a response body.
func ParseResponse(b []byte) (*Response, error) {
	if len(b) > MaxResponseSize {
		return nil, fmt.Errorf("witness: response of %d bytes exceeds %d", len(b), MaxResponseSize)
	}
	line, rest, ok := cutLine(b)
	if !ok || len(line) < 3 {
		return nil, fmt.Errorf("witness: response has no status line")
	}
	code, reason, _ := strings.Cut(string(line), " ")
	status, err := strconv.Atoi(code)
	if err != nil || len(code) != 3 || status < 100 || status > 599 {
		return nil, fmt.Errorf("witness: bad status %q", code)
	}
	if !validReason(reason) {
		return nil, fmt.Errorf("witness: bad reason phrase")
	}
	r := &Response{Status: status, Reason: reason}
	switch status {
	case StatusOK:
		for len(rest) > 0 {
			line, rest, ok = cutLine(rest)
			if !ok {
				return nil, fmt.Errorf("witness: cosignature line without a final newline")
			}
			if len(r.Cosignatures) == MaxCosignatures {
				return nil, fmt.Errorf("witness: more than %d cosignatures", MaxCosignatures)
			}
			s, err := checkpoint.ParseSignatureLine(line)
			if err != nil {
				return nil, err
			}
			r.Cosignatures = append(r.Cosignatures, s)
		}
		if len(r.Cosignatures) == 0 {
			return nil, fmt.Errorf("witness: 200 without cosignatures")
		}
	case StatusConflict:
		line, rest, ok = cutLine(rest)
		if !ok || len(rest) != 0 {
			return nil, fmt.Errorf("witness: 409 body is not one size line")
		}
		if r.Size, err = parseSize(string(line)); err != nil {
			return nil, err
		}
	default:
		if len(rest) != 0 {
			return nil, fmt.Errorf("witness: unexpected body with status %d", status)
		}
	}
	return r, nil
}

// cutLine splits off the first line (without its newline); ok is false if
// there is no newline.
func cutLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, b, false
	}
	return b[:i], b[i+1:], true
}

// parseSize parses a decimal without leading zeroes.
func parseSize(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || strconv.FormatUint(n, 10) != s {
		return 0, fmt.Errorf("witness: size %q is not a decimal without leading zeroes", truncate(s, 32))
	}
	return n, nil
}

func validReason(s string) bool {
	if len(s) > MaxReasonLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// cleanReason makes s a valid reason phrase: control characters become
// spaces, invalid UTF-8 is replaced, and it is cut to MaxReasonLen bytes.
func cleanReason(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return truncate(s, MaxReasonLen)
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

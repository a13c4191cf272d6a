package record

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"unicode"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

// Field checks used by the Validate methods. Each returns nil or an error
// wrapping ErrInvalid or ErrTooLarge that names the field, so Validate can
// list its checks in one expression and report the first that fails.

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: field %q: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}

// checkText checks a required free-text field: present, within max bytes,
// and free of control characters (these strings end up in logs and UIs).
func checkText(field, s string, max int) error {
	if s == "" {
		return invalid(field, "empty")
	}
	return checkOptText(field, s, max)
}

// checkOptText is checkText for a field where "" means absent.
func checkOptText(field, s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%w: field %q is %d bytes, at most %d", ErrTooLarge, field, len(s), max)
	}
	if i := strings.IndexFunc(s, unicode.IsControl); i >= 0 {
		return invalid(field, "control character at byte %d", i)
	}
	return nil
}

// checkNote checks an optional free-text note. Notes give human context
// only; they must never carry a URL or host name, since only hashed
// indicators may travel (LED Art. 4(1)(c), DESIGN.md decision 2).
func checkNote(field, s string) error {
	if err := checkOptText(field, s, MaxNoteLen); err != nil {
		return err
	}
	if word, found := findURLLike(s); found {
		return invalid(field, "%q looks like a URL or host name; notes must not name the content", word)
	}
	return nil
}

// findURLLike returns the first word of s that has a URL scheme, starts with
// "www.", is an IP address or reads as a host name (dot-separated labels
// ending in letters). It errs on the side of refusing: "e.g." and "Art."
// pass, "evil.example" and "192.0.2.7" do not.
func findURLLike(s string) (string, bool) {
	for _, word := range strings.Fields(s) {
		w := strings.ToLower(strings.Trim(word, `"'()[]<>,.;:!?`))
		if strings.Contains(w, "://") || strings.HasPrefix(w, "www.") || looksLikeHost(w) || isIP(w) {
			return word, true
		}
	}
	return "", false
}

func isIP(w string) bool {
	_, err := netip.ParseAddr(w)
	return err == nil
}

func looksLikeHost(w string) bool {
	w, _, _ = strings.Cut(w, "/")
	labels := strings.Split(w, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || strings.IndexFunc(l, func(r rune) bool {
			return !(r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r))
		}) >= 0 {
			return false
		}
	}
	tld := labels[len(labels)-1]
	return len(tld) >= 2 && strings.IndexFunc(tld, func(r rune) bool { return !unicode.IsLetter(r) }) < 0
}

// vocabulary is satisfied by every closed-vocabulary string type.
type vocabulary interface {
	~string
	Valid() bool
}

func checkEnum[T vocabulary](field string, v T) error {
	if !v.Valid() {
		return invalid(field, "%q is not in the vocabulary", string(v))
	}
	return nil
}

func checkOptEnum[T vocabulary](field string, v T) error {
	if v == "" {
		return nil
	}
	return checkEnum(field, v)
}

// checkSet checks a list that is semantically a set: each value in the
// vocabulary, in ascending order without repeats, so that one set has one
// encoding. min is 0 for an optional set (absent when empty).
func checkSet[T vocabulary](field string, set []T, min, max int) error {
	if len(set) < min || len(set) > max {
		return invalid(field, "%d values, want %d to %d", len(set), min, max)
	}
	for i, v := range set {
		if err := checkEnum(field, v); err != nil {
			return err
		}
		if i > 0 && set[i-1] >= v {
			return invalid(field, "%q after %q: values must be sorted and unique", string(v), string(set[i-1]))
		}
	}
	return nil
}

// checkTextList checks a list of free-text items in the author's order.
func checkTextList(field string, list []string, min, maxItems, maxLen int) error {
	if len(list) < min {
		return invalid(field, "%d items, want at least %d", len(list), min)
	}
	if len(list) > maxItems {
		return fmt.Errorf("%w: field %q has %d items, at most %d", ErrTooLarge, field, len(list), maxItems)
	}
	for i, s := range list {
		if err := checkText(fmt.Sprintf("%s[%d]", field, i), s, maxLen); err != nil {
			return err
		}
		if slices.Contains(list[:i], s) {
			return invalid(field, "%q repeated", s)
		}
	}
	return nil
}

func checkTime(field string, t uint64) error {
	if t == 0 {
		return invalid(field, "missing time")
	}
	return nil
}

// checkOptAfter checks an optional time (0 = absent) lies after created.
func checkOptAfter(field string, t, created uint64) error {
	if t != 0 && t <= created {
		return invalid(field, "%d is not after created (%d)", t, created)
	}
	return nil
}

func checkSeq(seq uint64) error {
	if seq == 0 {
		return invalid("seq", "sequence numbers start at 1")
	}
	return nil
}

// checkLink checks a CID is a CIDv1 of the given codec over a SHA2-256 digest,
// the only shape Vigie produces for that kind of link.
func checkLink(field string, c cid.Cid, codec uint64) error {
	if !c.Defined() {
		return invalid(field, "missing CID")
	}
	p := c.Prefix()
	if p.Version != 1 || p.Codec != codec || p.MhType != multihash.SHA2_256 || p.MhLength != 32 {
		return invalid(field, "CID %s is not CIDv1/%s/sha2-256", c, codecName(codec))
	}
	return nil
}

func checkOptLink(field string, c cid.Cid, codec uint64) error {
	if !c.Defined() {
		return nil
	}
	return checkLink(field, c, codec)
}

func codecName(codec uint64) string {
	if codec == cid.Raw {
		return "raw"
	}
	return "dag-cbor"
}

func checkSize(field string, b []byte, size int) error {
	if len(b) != size {
		return invalid(field, "%d bytes, want %d", len(b), size)
	}
	return nil
}

// checkID checks a short machine identifier: lower-case letters, digits,
// '-' and '.', starting with a letter or digit.
func checkID(field, s string, max int) error {
	if err := checkText(field, s, max); err != nil {
		return err
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || (i > 0 && (r == '-' || r == '.'))
		if !ok {
			return invalid(field, "%q: only a-z, 0-9, '-' and '.' (not first) are allowed", s)
		}
	}
	return nil
}

// checkSignature checks a signature is present and of the scheme's size;
// SigningBytes does not need it, Encode does.
func checkSignature(field string, sig []byte, size int) error {
	if len(sig) == 0 {
		return invalid(field, "missing signature")
	}
	return checkSize(field, sig, size)
}

package urlcanon

import "strings"

// unescapeAll percent-unescapes s repeatedly until no "%XX" sequence is left
// (SB v4: "repeatedly percent-unescape the URL until it has no more
// percent-escapes"), in one pass.
//
// Decoded bytes go onto an output stack; after each push, an escape ending
// at the top is decoded in place, which may complete another one below it
// ("%%32%35" → "%25" → "%"). The result equals that of unescaping whole
// strings until a fixed point: two "%XX" sequences can never overlap ('%' is
// not a hex digit), so the rewriting is confluent and every order of
// decoding reaches the same string. Doing it in one pass keeps the cost
// linear: "%25252525…" would otherwise need one full pass per "25".
func unescapeAll(s string) string {
	i := strings.IndexByte(s, '%')
	if i < 0 || !hasEscape(s[i:]) {
		return s
	}
	b := make([]byte, i, len(s))
	copy(b, s[:i])
	for j := i; j < len(s); j++ {
		b = append(b, s[j])
		for n := len(b); n >= 3 && b[n-3] == '%' && isHex(b[n-2]) && isHex(b[n-1]); n = len(b) {
			b[n-3] = unhex(b[n-2])<<4 | unhex(b[n-1])
			b = b[:n-2]
		}
	}
	return string(b)
}

// hasEscape reports whether s contains a "%XX" sequence.
func hasEscape(s string) bool {
	for i := 0; i+2 < len(s); i++ {
		if s[i] == '%' && isHex(s[i+1]) && isHex(s[i+2]) {
			return true
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// mustEscape reports whether SB v4 percent-escapes c: "all characters that
// are <= ASCII 32, >= 127, '#', or '%'".
func mustEscape(c byte) bool {
	return c <= ' ' || c >= 0x7f || c == '#' || c == '%'
}

// escape percent-escapes the bytes mustEscape selects, with upper-case hex
// digits as SB v4 requires. It returns s itself when nothing needs escaping.
func escape(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if mustEscape(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if mustEscape(c) {
			b = append(b, '%', hex[c>>4], hex[c&0xf])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

package urlcanon

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// canonicalHost turns the authority part of an unescaped URL ("user@Host:80")
// into the canonical, escaped host.
func canonicalHost(h string) (string, error) {
	if i := strings.LastIndexByte(h, '@'); i >= 0 {
		h = h[i+1:] // user info is never part of an indicator
	}
	if strings.HasPrefix(h, "[") {
		return canonicalIPv6(h)
	}
	h = stripPort(h)
	if strings.ContainsAny(h, ":[]") {
		// A second ':' or a stray bracket: no browser would connect to this,
		// and keeping it would make the result depend on how often it is
		// re-canonicalised ("a:1:2" → "a:1" → "a").
		return "", fmt.Errorf("urlcanon: %w: ':', '[' or ']' in a host name", ErrInvalidHost)
	}
	h, err := idnaToASCII(h)
	if err != nil {
		return "", err
	}
	h = normaliseDots(h)
	if h == "" {
		return "", fmt.Errorf("urlcanon: %w: the URL has an empty host", ErrNoHost)
	}
	if ip, ok := parseIPv4(h); ok {
		h = ip
	} else {
		h = lowerASCII(h)
	}
	h = escape(h)
	if len(h) > MaxHostLen {
		return "", fmt.Errorf("urlcanon: %w: host is %d bytes, the limit is %d", ErrInvalidHost, len(h), MaxHostLen)
	}
	return h, nil
}

// stripPort removes a trailing ":digits" (or a bare ':'). Every port is
// dropped, not only the default one: SB v4 canonicalises
// "http://www.gotaport.com:1234/" to "http://www.gotaport.com/".
func stripPort(h string) string {
	i := strings.LastIndexByte(h, ':')
	if i < 0 || !allDigits(h[i+1:]) {
		return h
	}
	return h[:i]
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// normaliseDots removes leading and trailing dots and collapses runs of dots
// (SB v4 host rules 1 and 2).
func normaliseDots(h string) string {
	h = strings.Trim(h, ".")
	if !strings.Contains(h, "..") {
		return h
	}
	b := make([]byte, 0, len(h))
	for i := 0; i < len(h); i++ {
		if h[i] == '.' && h[i-1] == '.' { // i > 0: h does not start with '.'
			continue
		}
		b = append(b, h[i])
	}
	return string(b)
}

// lowerASCII lower-cases ASCII letters only: bytes >= 0x80 are not valid
// UTF-8 at this point (IDNA has converted the rest) and must survive
// unchanged, whereas strings.ToLower would replace them with U+FFFD.
func lowerASCII(s string) string {
	i := 0
	for i < len(s) && (s[i] < 'A' || s[i] > 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if 'A' <= b[i] && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}

// idnaToASCII converts each label that is valid, non-ASCII UTF-8 to Punycode.
// ASCII labels are left alone, so weird-but-accepted hosts such as
// "w!eird<>ho$^.com" pass, and labels that are not valid UTF-8 ("\x80") are
// kept as bytes, to be percent-escaped, as SB v4 does for "http://\x01\x80.com/".
func idnaToASCII(h string) (string, error) {
	if isASCII(h) {
		return h, nil
	}
	// Built per call: IDN hosts are rare, and a package-level profile would be
	// shared state. The options are those of the WHATWG URL standard (UTS 46
	// non-transitional mapping, CheckBidi and CheckJoiners, no STD3 rules, no
	// hyphen or DNS-length checks), i.e. what browsers accept.
	profile := idna.New(
		idna.MapForLookup(),
		idna.Transitional(false),
		idna.BidiRule(),
		idna.StrictDomainName(false),
		idna.CheckHyphens(false),
	)
	labels := strings.Split(h, ".")
	for i, label := range labels {
		if isASCII(label) || !utf8.ValidString(label) {
			continue
		}
		a, err := profile.ToASCII(label)
		if err != nil || !isSafeIDNAOutput(a) {
			// The idna error is not wrapped: it quotes the label.
			return "", fmt.Errorf("urlcanon: %w: an internationalised label is not a valid IDNA label", ErrInvalidHost)
		}
		labels[i] = a
	}
	return strings.Join(labels, "."), nil
}

// isSafeIDNAOutput rejects mappings that would change the URL's structure,
// e.g. U+FF0F FULLWIDTH SOLIDUS maps to '/', or U+FF05 to '%'.
func isSafeIDNAOutput(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || strings.IndexByte("/?#@:[]%\\", c) >= 0 {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// canonicalIPv6 canonicalises a bracketed IPv6 literal with an optional port.
// The text form is RFC 5952 (lower case, longest zero run as "::"), with the
// mixed notation RFC 5952 section 5 recommends for IPv4-compatible addresses
// (::a.b.c.d), which keeps the reference vector "[::192.9.5.5]" unchanged.
func canonicalIPv6(h string) (string, error) {
	end := strings.IndexByte(h, ']')
	if end < 0 {
		return "", fmt.Errorf("urlcanon: %w: unterminated IPv6 literal", ErrInvalidHost)
	}
	if after := h[end+1:]; after != "" && (after[0] != ':' || !allDigits(after[1:])) {
		return "", fmt.Errorf("urlcanon: %w: unexpected text after an IPv6 literal", ErrInvalidHost)
	}
	addr, err := netip.ParseAddr(h[1:end])
	if err != nil || !addr.Is6() {
		return "", fmt.Errorf("urlcanon: %w: bracketed host is not an IPv6 address", ErrInvalidHost)
	}
	if addr.Zone() != "" {
		return "", fmt.Errorf("urlcanon: %w: IPv6 zone identifiers are local to one machine", ErrInvalidHost)
	}
	return formatIPv6(addr), nil
}

// formatIPv6 writes addr in brackets; see canonicalIPv6. IPv4-mapped
// addresses keep netip's "::ffff:a.b.c.d".
func formatIPv6(addr netip.Addr) string {
	b := addr.As16()
	if [12]byte(b[:12]) == [12]byte{} && (b[12] != 0 || b[13] != 0) {
		out := make([]byte, 0, len("[::255.255.255.255]"))
		out = append(out, "[::"...)
		out = appendDottedQuad(out, [4]byte(b[12:]))
		return string(append(out, ']'))
	}
	return "[" + addr.String() + "]"
}

// parseIPv4 reports whether host is an IPv4 address in any legal encoding
// and returns it as a dotted quad. It follows the reference implementation
// (github.com/google/safebrowsing parseIPAddress), including its quirks:
//   - one to four dot-separated numbers, each decimal, octal (leading 0) or
//     hexadecimal (0x), each at most 32 bits; the last fills the remaining
//     bytes ("167838211" → 10.1.2.3, "12.0x12.01234" → 12.18.2.156);
//   - numbers are truncated to the bytes they fill ("276.2.3" → 20.2.0.3);
//   - like the Windows resolver, a short host of four decimal parts may be
//     followed by a space and anything ("10.192.95.89 xy" → 10.192.95.89).
func parseIPv4(host string) (string, bool) {
	host = dropResolverJunk(host)
	if host == "" {
		return "", false
	}
	var vals [4]uint32
	n := 0
	for part := range strings.SplitSeq(host, ".") {
		if n == len(vals) {
			return "", false
		}
		v, ok := parseIPv4Number(part)
		if !ok {
			return "", false
		}
		vals[n] = v
		n++
	}
	var ip [4]byte
	for i := 0; i < n-1; i++ {
		ip[i] = byte(vals[i])
	}
	last := vals[n-1]
	for i := 3; i >= n-1; i-- {
		ip[i] = byte(last)
		last >>= 8
	}
	return string(appendDottedQuad(make([]byte, 0, len("255.255.255.255")), ip)), true
}

// dropResolverJunk implements the Windows-resolver rule of parseIPv4: a host
// of at most 15 bytes that starts with \d{1,3}(\.\d{1,3}){3} and a space is
// cut at the space.
func dropResolverJunk(host string) string {
	if len(host) > 15 {
		return host
	}
	sp := strings.IndexByte(host, ' ')
	if sp < 0 || !isShortDottedQuad(host[:sp]) {
		return host
	}
	return host[:sp]
}

// isShortDottedQuad reports whether s is four dot-separated runs of one to
// three decimal digits.
func isShortDottedQuad(s string) bool {
	parts := 0
	for part := range strings.SplitSeq(s, ".") {
		if len(part) < 1 || len(part) > 3 || !allDigits(part) {
			return false
		}
		parts++
	}
	return parts == 4
}

// parseIPv4Number parses one component the way strconv.ParseUint(s, 0, 32)
// does for the digits, "0x" and leading-zero forms the reference accepts.
func parseIPv4Number(s string) (uint32, bool) {
	base := uint64(10)
	switch {
	case len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'):
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	case s == "":
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		d, ok := digitValue(s[i])
		if !ok || d >= base {
			return 0, false
		}
		v = v*base + d
		if v > 0xFFFFFFFF {
			return 0, false
		}
	}
	return uint32(v), true
}

func digitValue(c byte) (uint64, bool) {
	if !isHex(c) {
		return 0, false
	}
	return uint64(unhex(c)), true
}

func appendDottedQuad(b []byte, ip [4]byte) []byte {
	for i, octet := range ip {
		if i > 0 {
			b = append(b, '.')
		}
		b = strconv.AppendUint(b, uint64(octet), 10)
	}
	return b
}

// isIPHost reports whether a canonical host is an IP address, for which SB
// v4 looks up the exact host only, never suffixes.
func isIPHost(host string) bool {
	return strings.HasPrefix(host, "[") || isCanonicalIPv4(host)
}

// isCanonicalIPv4 reports whether s is four decimal numbers 0-255 without
// leading zeros, the form parseIPv4 writes. (netip.ParseAddr would do, but it
// allocates an error for every host name.)
func isCanonicalIPv4(s string) bool {
	parts := 0
	for part := range strings.SplitSeq(s, ".") {
		if len(part) == 0 || len(part) > 3 || !allDigits(part) || (len(part) > 1 && part[0] == '0') {
			return false
		}
		if v, _ := strconv.Atoi(part); v > 255 {
			return false
		}
		parts++
	}
	return parts == 4
}

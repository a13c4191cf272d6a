package urlcanon

import (
	"errors"
	"fmt"
	"strings"
)

// Limits.
const (
	// MaxInputLen is the longest raw URL, in bytes, that Canonicalize accepts.
	// The canonical form is held to the same bound, so every canonical URL is
	// itself acceptable input (canonicalisation is idempotent).
	MaxInputLen = 8192
	// MaxHostLen is the longest canonical host, in bytes (the DNS limit for a
	// name without its root dot). Longer hosts cannot be looked up in the DNS,
	// so they cannot name a website.
	MaxHostLen = 253
)

// Sentinel errors. Canonicalize wraps exactly one of them; callers test them
// with errors.Is. The wrapping messages say what was wrong, never repeat the
// URL or its host: errors are logged, and a logged URL would leak the
// indicator a liaison officer looked up.
var (
	// ErrEmpty: nothing is left once surrounding whitespace is removed.
	ErrEmpty = errors.New("empty URL")
	// ErrTooLong: the input or its canonical form exceeds MaxInputLen.
	ErrTooLong = errors.New("URL too long")
	// ErrNoHost: the URL has no host (e.g. "/path", "http:///path").
	ErrNoHost = errors.New("no host")
	// ErrUnsupportedScheme: a scheme other than http, https or ftp.
	ErrUnsupportedScheme = errors.New("unsupported scheme")
	// ErrInvalidHost: a host that cannot be canonicalised (malformed IPv6
	// literal, stray ':' '[' ']', invalid internationalised label, too long).
	ErrInvalidHost = errors.New("invalid host")
)

// URL is a canonical URL split into its parts. Host, Path and Query are in
// canonical, percent-escaped form; String joins them.
type URL struct {
	// Scheme is "http", "https" or "ftp".
	Scheme string
	// Host is a lower-case host name, a dotted-quad IPv4 address, or a
	// bracketed IPv6 address. It never includes a port or user info.
	Host string
	// Path starts with "/".
	Path string
	// Query is the text after the first "?", without the "?".
	Query string
	// HasQuery records a "?" even when Query is empty: the SB v4 canonical
	// form of "http://www.google.com/q?" keeps it.
	HasQuery bool
}

// String returns the canonical URL, e.g. "http://www.google.com/q?". The zero
// URL gives "".
func (u URL) String() string {
	if u.Host == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(u.len())
	b.WriteString(u.Scheme)
	b.WriteString("://")
	b.WriteString(u.Host)
	b.WriteString(u.Path)
	if u.HasQuery {
		b.WriteByte('?')
		b.WriteString(u.Query)
	}
	return b.String()
}

// len is len(u.String()), computed without building it.
func (u URL) len() int {
	n := len(u.Scheme) + len("://") + len(u.Host) + len(u.Path)
	if u.HasQuery {
		n += 1 + len(u.Query)
	}
	return n
}

// Canonicalize parses raw the way Safe Browsing v4 does and returns its
// canonical form. See the package documentation for the rules.
func Canonicalize(raw string) (URL, error) {
	if len(raw) > MaxInputLen {
		return URL{}, fmt.Errorf("urlcanon: %w: input is %d bytes, the limit is %d", ErrTooLong, len(raw), MaxInputLen)
	}
	s := trimC0Space(removeTabsNewlines(raw))
	if s == "" {
		return URL{}, fmt.Errorf("urlcanon: %w: nothing left after removing whitespace", ErrEmpty)
	}
	// The fragment goes before unescaping, so that an escaped "%23" stays
	// part of the path (SB v4: "http://host.com/ab%23cd" keeps "%23").
	s, _, _ = strings.Cut(s, "#")
	// The whole URL is unescaped before it is split, as the reference
	// implementations do: "http%3A%2F%2Fwackyurl.com:80/" is a valid URL.
	s = unescapeAll(s)

	scheme, rest, err := splitScheme(s)
	if err != nil {
		return URL{}, err
	}
	rest, query, hasQuery := strings.Cut(rest, "?")
	hostPart, path := splitHostPath(rest)
	host, err := canonicalHost(hostPart)
	if err != nil {
		return URL{}, err
	}
	u := URL{
		Scheme:   scheme,
		Host:     host,
		Path:     escape(canonicalPath(path)),
		Query:    escape(query),
		HasQuery: hasQuery,
	}
	if n := u.len(); n > MaxInputLen {
		return URL{}, fmt.Errorf("urlcanon: %w: canonical form is %d bytes, the limit is %d", ErrTooLong, n, MaxInputLen)
	}
	return u, nil
}

// Expressions canonicalises raw and returns the URL with its lookup
// expressions (see URL.Expressions).
func Expressions(raw string) (URL, []string, error) {
	u, err := Canonicalize(raw)
	if err != nil {
		return URL{}, nil, err
	}
	return u, u.Expressions(), nil
}

// removeTabsNewlines drops every TAB, CR and LF (SB v4 step one; escaped
// forms such as "%0a" stay). It copies only when there is something to drop.
func removeTabsNewlines(s string) string {
	if !strings.ContainsAny(s, "\t\r\n") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '\t' && c != '\r' && c != '\n' {
			b = append(b, c)
		}
	}
	return string(b)
}

// trimC0Space removes leading and trailing control characters and spaces,
// as browsers do before parsing ("  http://www.google.com/  ").
func trimC0Space(s string) string {
	for len(s) > 0 && s[0] <= ' ' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] <= ' ' {
		s = s[:len(s)-1]
	}
	return s
}

// splitScheme returns the canonical scheme and what follows its "//". With
// no scheme, it assumes http and returns s unchanged. "host:80/" is a host
// and port, not a scheme, as in the reference implementation.
func splitScheme(s string) (scheme, rest string, err error) {
	i := strings.IndexByte(s, ':')
	if i <= 0 || !isSchemeName(s[:i]) || isPortPrefix(s[i+1:]) {
		return "http", s, nil
	}
	scheme, ok := supportedScheme(s[:i])
	if !ok {
		// The would-be scheme is not echoed: in "evil.example:x" it is the host.
		return "", "", fmt.Errorf("urlcanon: %w: only http, https and ftp URLs can be canonicalised", ErrUnsupportedScheme)
	}
	rest = s[i+1:]
	if !strings.HasPrefix(rest, "//") {
		return "", "", fmt.Errorf("urlcanon: %w: the scheme must be followed by \"//\" and a host", ErrNoHost)
	}
	return scheme, rest[2:], nil
}

// isSchemeName reports whether s matches RFC 3986
// ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
func isSchemeName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// isPortPrefix reports whether s starts with one or more digits followed by
// the end, "/" or "?", i.e. whether the ':' before it introduced a port.
func isPortPrefix(s string) bool {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i > 0 && (i == len(s) || s[i] == '/' || s[i] == '?')
}

// supportedScheme maps a scheme name, in any case, to its canonical constant.
func supportedScheme(s string) (string, bool) {
	for _, known := range [...]string{"http", "https", "ftp"} {
		if strings.EqualFold(s, known) {
			return known, true
		}
	}
	return "", false
}

// splitHostPath splits "host/path" at the first '/'; the path keeps it.
func splitHostPath(s string) (host, path string) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

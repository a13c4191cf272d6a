package urlcanon

import "strings"

// SB v4 bounds on lookup variants: the exact host plus up to four suffixes,
// and the exact path with and without query plus up to four prefixes.
const (
	maxHosts       = 5
	maxPaths       = 6
	maxSuffixParts = 5 // suffixes are formed from the last five components
	maxPrefixes    = 4 // path prefixes, root included
)

// Expressions returns the SB v4 suffix/prefix expressions of u: every lookup
// host (LookupHosts) followed by every lookup path (LookupPaths), host-major,
// in that order and without duplicates, at most 5 × 6 = 30. For
// "http://a.b.c/1/2.html?param=1" they are
//
//	a.b.c/1/2.html?param=1, a.b.c/1/2.html, a.b.c/, a.b.c/1/,
//	b.c/1/2.html?param=1,   b.c/1/2.html,   b.c/,   b.c/1/
//
// Expressions carry no scheme. The zero URL has none.
func (u URL) Expressions() []string {
	if u.Host == "" {
		return nil
	}
	var hosts [maxHosts]int
	nh := hostStarts(u.Host, &hosts)
	var paths [maxPaths]pathVariant
	np := u.pathVariants(&paths)

	// One string holds every expression; the result slices it, so the whole
	// set costs two allocations.
	size := 0
	for _, h := range hosts[:nh] {
		for _, p := range paths[:np] {
			size += len(u.Host) - h + p.len(u)
		}
	}
	var b strings.Builder
	b.Grow(size)
	for _, h := range hosts[:nh] {
		for _, p := range paths[:np] {
			b.WriteString(u.Host[h:])
			p.write(&b, u)
		}
	}
	all := b.String()
	out := make([]string, 0, nh*np)
	off := 0
	for _, h := range hosts[:nh] {
		for _, p := range paths[:np] {
			n := len(u.Host) - h + p.len(u)
			out = append(out, all[off:off+n])
			off += n
		}
	}
	return out
}

// LookupHosts returns the host variants of u: the exact host, then the
// suffixes made of the last 5, 4, 3 and 2 components that differ from it.
// An IP address yields only itself.
func (u URL) LookupHosts() []string {
	var hosts [maxHosts]int
	nh := hostStarts(u.Host, &hosts)
	out := make([]string, nh)
	for i, h := range hosts[:nh] {
		out[i] = u.Host[h:]
	}
	return out
}

// LookupPaths returns the path variants of u: path and query (when the query
// is not empty), the exact path, then the prefixes ending in '/' from the
// root, at most four including "/", except the one equal to the path.
func (u URL) LookupPaths() []string {
	var paths [maxPaths]pathVariant
	np := u.pathVariants(&paths)
	out := make([]string, np)
	for i, p := range paths[:np] {
		var b strings.Builder
		b.Grow(p.len(u))
		p.write(&b, u)
		out[i] = b.String()
	}
	return out
}

// hostStarts stores in dst the offsets in host where each lookup host
// starts, exact host first, and returns how many there are.
func hostStarts(host string, dst *[maxHosts]int) int {
	if host == "" {
		return 0
	}
	dst[0] = 0
	if isIPHost(host) {
		return 1
	}
	// suffix[k] is where the suffix of k components starts; the k-th dot
	// from the right starts it. Only k = 2..5 are looked up: a lone last
	// component is a TLD, and the full host is already dst[0].
	var suffix [maxSuffixParts + 1]int
	k := 0
	for i := len(host) - 1; i > 0 && k < maxSuffixParts; i-- {
		if host[i-1] == '.' {
			k++
			suffix[k] = i
		}
	}
	n := 1
	for ; k >= 2; k-- {
		dst[n] = suffix[k]
		n++
	}
	return n
}

// pathVariant is one lookup path: the first n bytes of u.Path, followed by
// "?" and u.Query when query is set.
type pathVariant struct {
	n     int
	query bool
}

func (p pathVariant) len(u URL) int {
	if p.query {
		return p.n + 1 + len(u.Query)
	}
	return p.n
}

func (p pathVariant) write(b *strings.Builder, u URL) {
	b.WriteString(u.Path[:p.n])
	if p.query {
		b.WriteByte('?')
		b.WriteString(u.Query)
	}
}

// pathVariants stores u's lookup paths in dst and returns how many there are.
// An empty query adds no variant: "http://a.b/?" looks up "a.b/" only.
func (u URL) pathVariants(dst *[maxPaths]pathVariant) int {
	if u.Path == "" {
		return 0
	}
	n := 0
	if u.Query != "" {
		dst[n] = pathVariant{n: len(u.Path), query: true}
		n++
	}
	dst[n] = pathVariant{n: len(u.Path)}
	n++
	prefixes := 0
	for i := 0; i < len(u.Path) && prefixes < maxPrefixes; i++ {
		if u.Path[i] != '/' {
			continue
		}
		prefixes++
		if i+1 != len(u.Path) {
			dst[n] = pathVariant{n: i + 1}
			n++
		}
	}
	return n
}

// Kind is what an expression designates, and so what an indicator built from
// it lists.
type Kind uint8

// Kinds of expression.
const (
	// KindInvalid: not an expression (no '/' after a non-empty host).
	KindInvalid Kind = iota
	// KindExact: one URL, e.g. "evil.example/a/b.html" or "evil.example/a?x=1".
	KindExact
	// KindPathPrefix: every URL under a directory, e.g. "evil.example/a/".
	KindPathPrefix
	// KindHost: every URL on a host and its subdomains, e.g. "evil.example/".
	KindHost
)

// String returns "exact", "prefix", "host" or "invalid".
func (k Kind) String() string {
	switch k {
	case KindExact:
		return "exact"
	case KindPathPrefix:
		return "prefix"
	case KindHost:
		return "host"
	default:
		return "invalid"
	}
}

// KindOf classifies an expression: a host if its path is exactly "/", a path
// prefix if its path ends with '/' and it has no query, otherwise an exact
// URL. ("a.b/x?y=1/" is exact: the '/' ends the query, not a directory.)
func KindOf(expr string) Kind {
	i := strings.IndexByte(expr, '/')
	if i <= 0 {
		return KindInvalid
	}
	path := expr[i:]
	switch {
	case path == "/":
		return KindHost
	case strings.IndexByte(path, '?') < 0 && strings.HasSuffix(path, "/"):
		return KindPathPrefix
	default:
		return KindExact
	}
}

// Package urlcanon canonicalises URLs and expands them into lookup
// expressions exactly as Google Safe Browsing v4 does ("URLs and Hashing",
// https://developers.google.com/safe-browsing/v4/urls-hashing).
//
// # Why
//
// A Vigie indicator is one Safe Browsing expression (DESIGN.md, decision 1).
// Two agencies that list the same page must produce byte-identical
// expressions, or their indicators will not deduplicate and a look-up will
// miss. Every node therefore runs this package, and its tests check it
// against every published vector: the 33 canonicalisation and 3 expression
// examples of the v4 page, Firefox's copy of them, and the 106 vectors of
// github.com/google/safebrowsing (testdata/safebrowsing at the repository
// root, with provenance).
//
// # Canonicalisation
//
// Canonicalize applies, in order:
//
//  1. Remove every TAB, CR and LF (escaped forms such as "%0a" stay), then
//     leading and trailing control characters and spaces.
//  2. Drop the fragment: everything from the first '#'.
//  3. Percent-unescape the whole URL repeatedly until no "%XX" is left. This
//     happens before the URL is split, as in the reference implementations:
//     "http%3A%2F%2Fwackyurl.com:80/" is http://wackyurl.com/, and an escaped
//     "?" in the path starts the query.
//  4. Scheme: http, https or ftp, in any case; none means http
//     ("www.google.com" → "http://www.google.com/"; "host:80/" is a host and
//     port). Any other scheme is rejected (ErrUnsupportedScheme); a scheme
//     must be followed by "//" and a host.
//  5. Host: user info and port are removed; every port is dropped, as in
//     the v4 vector "http://www.gotaport.com:1234/" → "http://www.gotaport.com/".
//     Labels that are valid non-ASCII UTF-8 are converted to Punycode
//     (UTS 46 non-transitional mapping with the WHATWG URL options); ASCII
//     labels are kept as they are, so weird but valid hosts such as
//     "w!eird<>ho$^.com" pass, and bytes that are not UTF-8 are kept and
//     escaped ("\x01\x80.com" → "%01%80.com"). Then leading and trailing dots
//     are removed, runs of dots collapsed, and the host is lower-cased (ASCII
//     only). A host that reads as an IPv4 address in any legal encoding —
//     decimal, octal, hex, fewer than four parts, e.g. "3279880203",
//     "0x12.0x43.0x44.0x01", "012.034.01.055" — becomes a dotted quad,
//     following the reference parser's quirks: out-of-range parts are
//     truncated to the bytes they fill ("276.2.3" → 20.2.0.3) and, like the
//     Windows resolver, "10.192.95.89 xy" is 10.192.95.89.
//  6. Path: "/./" and "/../" are resolved (a ".." removes the segment before
//     it; a final "." or ".." leaves a trailing '/'), then runs of '/' are
//     collapsed; an empty path is "/".
//  7. Query: kept as is, case and slashes included; a bare "?" is kept
//     (URL.HasQuery), as in "http://www.google.com/q?".
//  8. Percent-escape every byte <= 0x20 or >= 0x7f, '#' and '%', with
//     upper-case hex digits.
//
// The result is idempotent: Canonicalize(u.String()) returns u.
//
// # IPv6
//
// SB v4 says nothing of IPv6. A bracketed literal is parsed with net/netip
// and written in RFC 5952 form (lower case, leading zeros dropped, the
// longest run of zero fields as "::"), with the mixed notation RFC 5952
// section 5 recommends for IPv4-compatible (::a.b.c.d) and IPv4-mapped
// (::ffff:a.b.c.d) addresses, so "[::192.9.5.5]" stays as the reference
// vectors expect and "[FEDC:BA98:…]:80" becomes "[fedc:ba98:…]". The port is
// dropped; zone identifiers ("%25eth0") are rejected, being meaningful on one
// machine only. Unlike SB v5, IPv4-mapped and NAT64 addresses are not turned
// into IPv4: v4 is the rule set the federation uses.
//
// # Differences from google/safebrowsing
//
// That library looks up as many as 7 hosts (every suffix of the last 7
// components) where the v4 page specifies 5, and writes lower-case hex
// escapes where the v4 page requires upper case; this package follows the
// v4 page. The test names each affected vector and its reason. Like that
// library, and unlike browsers, it treats '\' as an ordinary character,
// not as '/'.
//
// # Limits and errors
//
// Inputs longer than MaxInputLen (8192 bytes) and canonical forms longer than
// that are rejected with ErrTooLong; canonical hosts longer than MaxHostLen
// (253 bytes, the DNS limit) with ErrInvalidHost. Hosts containing ':', '['
// or ']' outside an IPv6 literal, bracketed literals that are not IPv6, and
// internationalised labels that IDNA rejects (or that map to '/', '%' or
// similar) are ErrInvalidHost. Missing hosts are ErrNoHost; empty input is
// ErrEmpty. Every error wraps one of these sentinels, and its message says
// what was wrong without repeating the URL or the host, because errors are
// logged and the URL is the indicator being looked up.
//
// # Expressions and indicator kinds
//
// URL.Expressions combines each lookup host (URL.LookupHosts: the exact
// host, then the suffixes made of the last 5, 4, 3 and 2 components; an IP
// address alone) with each lookup path (URL.LookupPaths: path and query,
// the exact path, then up to four prefixes from the root), host-major,
// without duplicates: at most 5 × 6 = 30 strings such as
// "evil.example/a/b.html". Expressions carry no scheme, so http and https
// URLs share them. An indicator is one expression, and KindOf tells which
// kind it is:
//
//   - KindExact, "exact": one URL, e.g. "evil.example/a/b.html" or
//     "evil.example/a/b.html?id=7";
//   - KindPathPrefix, "prefix": every URL under a directory, a path ending
//     in '/' without query, e.g. "evil.example/a/";
//   - KindHost, "host": every URL on a host and its subdomains, the path
//     being exactly "/", e.g. "evil.example/".
//
// Looking up all the expressions of a URL in one batch thus finds URL-,
// directory- and host-level indicators at once.
package urlcanon

package urlcanon

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestCanonicalizeExtra(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		// IPv6: RFC 5952 text, lower case, port dropped.
		{"ipv6 upper case and port", "http://[FEDC:BA98:7654:3210:FEDC:BA98:7654:3210]:80/index.html", "http://[fedc:ba98:7654:3210:fedc:ba98:7654:3210]/index.html"},
		{"ipv6 leading zeros", "http://[2001:0db8:0000:0000:0000:0000:0000:0001]/", "http://[2001:db8::1]/"},
		{"ipv6 longest zero run", "http://[2001:db8:0:0:1:0:0:0]/", "http://[2001:db8:0:0:1::]/"},
		{"ipv6 single zero field", "http://[2001:db8:0:1:1:1:1:1]/", "http://[2001:db8:0:1:1:1:1:1]/"},
		{"ipv6 loopback", "http://[0:0:0:0:0:0:0:1]/", "http://[::1]/"},
		{"ipv6 compatible keeps dotted tail", "http://[::c009:505]/ipng", "http://[::192.9.5.5]/ipng"},
		{"ipv6 mapped", "http://[::FFFF:1.2.3.4]/", "http://[::ffff:1.2.3.4]/"},
		{"ipv6 escaped", "http://%5B2001:db8::1%5D:8080/", "http://[2001:db8::1]/"},
		{"ipv6 without scheme", "[2001:DB8::1]:443/a", "http://[2001:db8::1]/a"},

		// Ports are dropped, whatever they are; user info too.
		{"port", "http://a.example:8080/x", "http://a.example/x"},
		{"empty port", "http://a.example:/x", "http://a.example/x"},
		{"port without scheme", "a.example:8080", "http://a.example/"},
		{"port before query", "a.example:8080?q=1", "http://a.example/?q=1"},
		{"user info", "http://user:pass@A.example:81/", "http://a.example/"},
		{"at in path", "http://a.example/x@b.example/", "http://a.example/x@b.example/"},

		// Schemes.
		{"upper-case scheme", "HTTPS://A.EXAMPLE/", "https://a.example/"},
		{"ftp", "ftp://files.example/pub/", "ftp://files.example/pub/"},
		{"no scheme", "evil.example/a", "http://evil.example/a"},

		// IPv4 encodings.
		{"ipv4 one number", "http://1/", "http://0.0.0.1/"},
		{"ipv4 hex", "http://0XC0.0xa8.0.1/", "http://192.168.0.1/"},
		{"ipv4 trailing dot", "http://1.2.3.4./", "http://1.2.3.4/"},
		{"not ipv4: bad octal", "http://08.1.2.3/", "http://08.1.2.3/"},
		{"not ipv4: five parts", "http://1.2.3.4.5/", "http://1.2.3.4.5/"},

		// IDN.
		{"idn upper case", "http://www.ÜMLAT.com/", "http://www.xn--mlat-zra.com/"},
		{"idn escaped", "http://b%C3%BCcher.example/", "http://xn--bcher-kva.example/"},
		{"idn fullwidth digits", "http://１.２.３.４/", "http://1.2.3.4/"},
		{"idn ideographic dot", "http://bücher。example/", "http://xn--bcher-kva.example/"},
		{"invalid utf-8 kept as bytes", "http://a\xff.example/", "http://a%FF.example/"},

		// Paths: dot segments first, then slash runs; query untouched.
		{"dotdot over empty segment", "http://a.example/a//../b", "http://a.example/a/b"},
		{"final dot", "http://a.example/a/.", "http://a.example/a/"},
		{"dotdot above root", "http://a.example/a/../../../b", "http://a.example/b"},
		{"escaped dots", "http://a.example/x/%2e%2E/y", "http://a.example/y"},
		{"dot lookalikes", "http://a.example/.../..a/a../", "http://a.example/.../..a/a../"},
		{"query untouched", "http://a.example/x?/../Y//z", "http://a.example/x?/../Y//z"},
		{"escaped question mark splits", "http://a.example/x%3Fy", "http://a.example/x?y"},
		{"escaped hash stays", "http://a.example/x%23y#frag", "http://a.example/x%23y"},
		{"escaped slash in host", "http://a.example%2Fpath/", "http://a.example/path/"},
		{"space in path", "http://a.example/ #x", "http://a.example/%20"},
		{"non-ascii path", "http://a.example/é", "http://a.example/%C3%A9"},
		{"escaped newline kept", "http://a.example/a%0Ab", "http://a.example/a%0Ab"},
		{"deep escape", "http://a.example/" + strings.Repeat("%25", 200) + "41", "http://a.example/" + strings.Repeat("%25", 199) + "A"},

		// Weird but accepted host characters, as in the reference vectors.
		{"weird host", "http://A_b-c!$&'()*+,;=~.example/", "http://a_b-c!$&'()*+,;=~.example/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := Canonicalize(tt.in)
			if err != nil {
				t.Fatalf("Canonicalize(%q): %v", tt.in, err)
			}
			if got := u.String(); got != tt.want {
				t.Fatalf("Canonicalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCanonicalizeErrors(t *testing.T) {
	longHost := strings.Repeat("a.", 127) + "ab" // 256 bytes
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrEmpty},
		{"blank", " \t\r\n ", ErrEmpty},
		{"controls", "\x00\x01 ", ErrEmpty},
		{"too long input", "http://a.example/" + strings.Repeat("x", MaxInputLen), ErrTooLong},
		{"canonical form too long", "http://a.example/" + strings.Repeat("\x80", 3000), ErrTooLong},
		{"too long host", "http://" + longHost + "/", ErrInvalidHost},
		{"fragment only", "#ref", ErrNoHost},
		{"path only", "/blah", ErrNoHost},
		{"scheme-relative", "//a.example/", ErrNoHost},
		{"no slashes after scheme", "http:a.example/", ErrNoHost},
		{"three slashes", "http:///blah", ErrNoHost},
		{"only dots", "http://.../", ErrNoHost},
		{"only user info", "http://user@/", ErrNoHost},
		{"only port", "http://:80/", ErrNoHost},
		{"mailto", "mailto:someone@a.example", ErrUnsupportedScheme},
		{"javascript", "javascript:alert(1)", ErrUnsupportedScheme},
		{"file", "file:///etc/passwd", ErrUnsupportedScheme},
		{"data", "data:text/html,x", ErrUnsupportedScheme},
		{"ws", "ws://a.example/", ErrUnsupportedScheme},
		{"two colons", "http://a:b:80/", ErrInvalidHost},
		{"colon no port", "http://a:b/", ErrInvalidHost},
		{"stray bracket", "http://a]b/", ErrInvalidHost},
		{"unterminated ipv6", "http://[::1/", ErrInvalidHost},
		{"text after ipv6", "http://[::1]x/", ErrInvalidHost},
		{"empty brackets", "http://[]/", ErrInvalidHost},
		{"ipv4 in brackets", "http://[1.2.3.4]/", ErrInvalidHost},
		{"ipv6 zone", "http://[fe80::1%25eth0]/", ErrInvalidHost},
		{"idna disallowed", "http://a\u200db.example/", ErrInvalidHost},
		{"idna maps to slash", "http://a\uff0fb.example/", ErrInvalidHost},
		{"idna maps to percent", "http://a\uff05b.example/", ErrInvalidHost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := Canonicalize(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Canonicalize(%q) = %q, %v; want error %v", tt.in, u.String(), err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "urlcanon: "+tt.want.Error()+": ") {
				t.Errorf("message %q does not explain itself", err)
			}
		})
	}
}

func TestLimitsAreInclusive(t *testing.T) {
	in := "http://a.example/" + strings.Repeat("x", MaxInputLen-len("http://a.example/"))
	if _, err := Canonicalize(in); err != nil {
		t.Errorf("input of exactly MaxInputLen: %v", err)
	}
	host := strings.Repeat("a.", 126) + "a" // 253 bytes
	u, err := Canonicalize("http://" + host + "/")
	if err != nil || len(u.Host) != MaxHostLen {
		t.Errorf("host of exactly MaxHostLen: %d bytes, %v", len(u.Host), err)
	}
}

// TestErrorsDoNotEchoTheURL: errors get logged; they must not reveal the
// indicator that was looked up.
func TestErrorsDoNotEchoTheURL(t *testing.T) {
	const secret = "secret-target"
	inputs := []string{
		"http://" + secret + ".example:x:1/",
		"http://[" + secret + "]/",
		secret + ".example:abc/",
		"mailto:someone@" + secret + ".example",
		"http://" + secret + "." + strings.Repeat("a", 250) + "/",
		"http://" + secret + ".example/" + strings.Repeat("x", MaxInputLen),
		"http://" + secret + ".\u200d.example/",
		"http:" + secret + ".example/",
		"/" + secret,
	}
	for _, in := range inputs {
		_, err := Canonicalize(in)
		if err == nil {
			t.Errorf("Canonicalize(%.40q…) succeeded", in)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q echoes the URL", err)
		}
	}
}

func TestURLString(t *testing.T) {
	if got := (URL{}).String(); got != "" {
		t.Errorf("zero URL = %q", got)
	}
	u := URL{Scheme: "http", Host: "a.example", Path: "/q", HasQuery: true}
	if got := u.String(); got != "http://a.example/q?" {
		t.Errorf("got %q", got)
	}
	if (URL{}).Expressions() != nil {
		t.Error("zero URL has expressions")
	}
}

func TestExpressionsOrder(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"http://a.b.c/1/2.html?param=1", []string{
			"a.b.c/1/2.html?param=1", "a.b.c/1/2.html", "a.b.c/", "a.b.c/1/",
			"b.c/1/2.html?param=1", "b.c/1/2.html", "b.c/", "b.c/1/",
		}},
		{"http://a.b.c.d.e.f.g/1.html", []string{
			"a.b.c.d.e.f.g/1.html", "a.b.c.d.e.f.g/",
			"c.d.e.f.g/1.html", "c.d.e.f.g/",
			"d.e.f.g/1.html", "d.e.f.g/",
			"e.f.g/1.html", "e.f.g/",
			"f.g/1.html", "f.g/",
		}},
		{"http://1.2.3.4/1/", []string{"1.2.3.4/1/", "1.2.3.4/"}},
		{"http://[::1]/a/b", []string{"[::1]/a/b", "[::1]/", "[::1]/a/"}},
		{"http://a.b/?", []string{"a.b/"}},
		{"http://b/", []string{"b/"}},
		{"http://a.b/x/y/", []string{"a.b/x/y/", "a.b/", "a.b/x/"}},
	}
	for _, tt := range tests {
		_, got, err := Expressions(tt.in)
		if err != nil {
			t.Errorf("Expressions(%q): %v", tt.in, err)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Expressions(%q) =\n  %q\nwant\n  %q", tt.in, got, tt.want)
		}
	}
}

func TestExpressionsAtMostThirty(t *testing.T) {
	_, got, err := Expressions("http://a.b.c.d.e.f.g/1/2/3/4/5.html?q=1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 30 {
		t.Fatalf("%d expressions, want 30: %q", len(got), got)
	}
	seen := map[string]bool{}
	for _, e := range got {
		if seen[e] {
			t.Errorf("duplicate %q", e)
		}
		seen[e] = true
	}
	u, _ := Canonicalize("http://a.b.c.d.e.f.g/1/2/3/4/5.html?q=1")
	wantPaths := []string{"/1/2/3/4/5.html?q=1", "/1/2/3/4/5.html", "/", "/1/", "/1/2/", "/1/2/3/"}
	if got := u.LookupPaths(); !slices.Equal(got, wantPaths) {
		t.Errorf("LookupPaths = %q, want %q", got, wantPaths)
	}
	wantHosts := []string{"a.b.c.d.e.f.g", "c.d.e.f.g", "d.e.f.g", "e.f.g", "f.g"}
	if got := u.LookupHosts(); !slices.Equal(got, wantHosts) {
		t.Errorf("LookupHosts = %q, want %q", got, wantHosts)
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		expr string
		want Kind
	}{
		{"evil.example/", KindHost},
		{"evil.example/a/", KindPathPrefix},
		{"evil.example/a/b/", KindPathPrefix},
		{"evil.example/a/b.html", KindExact},
		{"evil.example/a", KindExact},
		{"evil.example/?x", KindExact},
		{"evil.example/a?x=1/", KindExact},
		{"[::1]/", KindHost},
		{"1.2.3.4/a/", KindPathPrefix},
		{"evil.example", KindInvalid},
		{"/a/", KindInvalid},
		{"", KindInvalid},
	}
	for _, tt := range tests {
		if got := KindOf(tt.expr); got != tt.want {
			t.Errorf("KindOf(%q) = %v, want %v", tt.expr, got, tt.want)
		}
	}
	names := map[Kind]string{KindExact: "exact", KindPathPrefix: "prefix", KindHost: "host", KindInvalid: "invalid", 99: "invalid"}
	for k, want := range names {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

// TestExpressionKinds: each URL yields exactly one host expression per
// lookup host, and its first expression is exact unless the path is "/".
func TestExpressionKinds(t *testing.T) {
	_, exprs, err := Expressions("http://www.evil.example/forum/thread/page.html?id=7")
	if err != nil {
		t.Fatal(err)
	}
	counts := map[Kind]int{}
	for _, e := range exprs {
		counts[KindOf(e)]++
	}
	// 2 hosts × (2 exact + 1 host + 2 prefixes).
	want := map[Kind]int{KindExact: 4, KindHost: 2, KindPathPrefix: 4}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%v: %d, want %d (%q)", k, counts[k], n, exprs)
		}
	}
}

func TestParseIPv4Extra(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0xFFFFFFFF", "255.255.255.255"},
		{"0", "0.0.0.0"},
		{"00", "0.0.0.0"},
		{"0x0000000000001", "0.0.0.1"},
		{"1.0x10000", "1.1.0.0"},
		{"1.2.0x10000", "1.2.0.0"}, // truncated to the two bytes it fills
		{"4294967296", ""},
		{"0x100000000", ""},
		{"0x", ""},
		{"08", ""},
		{"1..2", ""},
		{"1.2.3.4.", ""},
		{"", ""},
		{"1.2.3.4 ", "1.2.3.4"},
		{"1.2.3 xy", ""},
		{"1.2.3.4 abcdefghijk", ""}, // longer than 15 bytes: not the resolver rule
		{"a.b.c.d", ""},
		{"-1", ""},
	}
	for _, tt := range tests {
		got, ok := parseIPv4(tt.in)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("parseIPv4(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

// naiveUnescape is the specification's loop: unescape whole strings until
// nothing changes.
func naiveUnescape(s string) string {
	for {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			if i+2 < len(s) && s[i] == '%' && isHex(s[i+1]) && isHex(s[i+2]) {
				b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
				i += 2
				continue
			}
			b.WriteByte(s[i])
		}
		if b.String() == s {
			return s
		}
		s = b.String()
	}
}

func TestUnescapeAllMatchesNaive(t *testing.T) {
	for _, in := range []string{
		"", "%", "%%", "%2", "%25", "%2525", "%%32%35", "%%%25%32%35asd%%", "%2%41",
		"%%414", "%4%41", "%252%35", "%%3%32%35", "a%2", "%ZZ%41%", "%c3%BC",
	} {
		if got, want := unescapeAll(in), naiveUnescape(in); got != want {
			t.Errorf("unescapeAll(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTypicalURLAllocations(t *testing.T) {
	const in = "http://www.evil.example/forum/thread/12345/page.html?id=7"
	if n := testing.AllocsPerRun(100, func() { _, _ = Canonicalize(in) }); n != 0 {
		t.Errorf("Canonicalize: %v allocations, want 0", n)
	}
	u, _ := Canonicalize(in)
	if n := testing.AllocsPerRun(100, func() { _ = u.Expressions() }); n > 2 {
		t.Errorf("Expressions: %v allocations, want at most 2", n)
	}
}

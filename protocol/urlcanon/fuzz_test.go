package urlcanon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzCanonicalize checks, for any input, that Canonicalize does not panic,
// that a canonical URL canonicalises to itself, and that its expressions are
// well formed.
func FuzzCanonicalize(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := Canonicalize(raw)
		if err != nil {
			if u != (URL{}) {
				t.Fatalf("error %v with non-zero URL %#v", err, u)
			}
			return
		}
		s := u.String()
		again, err := Canonicalize(s)
		if err != nil {
			t.Fatalf("canonical %q does not canonicalise: %v", s, err)
		}
		if again != u {
			t.Fatalf("not idempotent: %q → %#v → %#v", raw, u, again)
		}
		checkExpressions(t, u)
	})
}

func checkExpressions(t *testing.T, u URL) {
	t.Helper()
	exprs := u.Expressions()
	if len(exprs) == 0 || len(exprs) > maxHosts*maxPaths {
		t.Fatalf("%q: %d expressions", u.String(), len(exprs))
	}
	seen := make(map[string]bool, len(exprs))
	for _, e := range exprs {
		slash := strings.IndexByte(e, '/')
		if slash <= 0 {
			t.Fatalf("%q: expression %q has no host and '/'", u.String(), e)
		}
		if host := e[:slash]; !strings.HasSuffix(u.Host, host) || strings.Contains(host, "://") {
			t.Fatalf("%q: expression %q does not start with a host suffix", u.String(), e)
		}
		if strings.HasPrefix(e, u.Scheme+"://") {
			t.Fatalf("%q: expression %q has a scheme", u.String(), e)
		}
		if KindOf(e) == KindInvalid {
			t.Fatalf("%q: expression %q is invalid", u.String(), e)
		}
		if seen[e] {
			t.Fatalf("%q: duplicate expression %q", u.String(), e)
		}
		seen[e] = true
	}
	if exprs[0] != strings.TrimPrefix(u.String(), u.Scheme+"://") && !(u.HasQuery && u.Query == "") {
		t.Fatalf("%q: first expression %q is not the whole URL", u.String(), exprs[0])
	}
}

// FuzzUnescapeAll checks the one-pass unescaping against the specification's
// loop.
func FuzzUnescapeAll(f *testing.F) {
	for _, s := range []string{"%2525", "%%32%35", "%%%25%32%35asd%%", "%2%41", "%c3%bc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 512 {
			return // the naive loop is quadratic
		}
		if got, want := unescapeAll(s), naiveUnescape(s); got != want {
			t.Fatalf("unescapeAll(%q) = %q, want %q", s, got, want)
		}
	})
}

// fuzzSeeds returns every input of the vector files, plus a few more.
func fuzzSeeds(tb testing.TB) []string {
	seeds := []string{
		"http://[::1]:80/a/../b?c#d", "HTTP://User@Bücher.example:8080//a/./b/", "http://1.2.3.4.5/",
		"http://a%2Fb/", "%68ttp://x/", "http://x/%25%32%35", "ftp://a/b;c?d",
	}
	for _, name := range vectorFiles {
		data, err := os.ReadFile(filepath.Join(vectorDir, name))
		if err != nil {
			tb.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			fields := strings.Split(line, "\t")
			if strings.HasPrefix(fields[0], "Test") && len(fields) > 1 {
				seeds = append(seeds, fields[1])
			} else {
				seeds = append(seeds, fields[0])
			}
		}
	}
	return seeds
}

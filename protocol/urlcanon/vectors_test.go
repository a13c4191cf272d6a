package urlcanon

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// vectorDir holds the published vectors (see its PROVENANCE.md).
const vectorDir = "../../testdata/safebrowsing"

// sharedVectorDir is the project's shared copy of the same files, present on
// development machines only.
const sharedVectorDir = "../../../shared/testdata/safebrowsing"

var vectorFiles = []string{
	"gsb_v4_canonicalization.tsv",
	"gsb_v4_suffix_prefix_expressions.tsv",
	"firefox_url_classifier_canonicalization.tsv",
	"google_safebrowsing_go_urls_test_vectors.tsv",
}

type tsvRow struct {
	line   int
	fields []string
}

// readTSV returns the data rows of a vector file: '#' lines are comments and
// the first other line is the header. Every row must have nfields fields.
func readTSV(t *testing.T, name string, nfields int) []tsvRow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(vectorDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var rows []tsvRow
	header := true
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if strings.HasPrefix(text, "#") {
			continue
		}
		if header {
			header = false
			continue
		}
		fields := strings.Split(text, "\t")
		if len(fields) != nfields {
			t.Fatalf("%s:%d: %d fields, want %d", name, line, len(fields), nfields)
		}
		rows = append(rows, tsvRow{line: line, fields: fields})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatalf("%s: no rows", name)
	}
	return rows
}

// decodeEscapes decodes the C escapes the vector files keep: \t \r \n and
// \xNN (a raw byte, not necessarily valid UTF-8).
func decodeEscapes(t *testing.T, s string) string {
	t.Helper()
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 >= len(s) {
			t.Fatalf("dangling backslash in %q", s)
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'n':
			b.WriteByte('\n')
		case '\\':
			b.WriteByte('\\')
		case 'x':
			if i+2 >= len(s) {
				t.Fatalf("short \\x escape in %q", s)
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				t.Fatalf("bad \\x escape in %q", s)
			}
			b.WriteByte(byte(v))
			i += 2
		default:
			t.Fatalf("unknown escape \\%c in %q", s[i], s)
		}
	}
	return b.String()
}

func TestDecodeEscapes(t *testing.T) {
	got := decodeEscapes(t, `a\tb\rc\nd\x01\x80\xC3\xBce\\`)
	if want := "a\tb\rc\nd\x01\x80\xC3\xBCe\\"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// checkCanonicalizationFile checks every input→expected row of a file.
func checkCanonicalizationFile(t *testing.T, name string, wantRows int) {
	rows := readTSV(t, name, 2)
	if len(rows) != wantRows {
		t.Errorf("%s: %d rows, want %d", name, len(rows), wantRows)
	}
	for _, r := range rows {
		in := decodeEscapes(t, r.fields[0])
		u, err := Canonicalize(in)
		if err != nil {
			t.Errorf("%s:%d: Canonicalize(%q): %v", name, r.line, in, err)
			continue
		}
		if got := u.String(); got != r.fields[1] {
			t.Errorf("%s:%d: Canonicalize(%q) = %q, want %q", name, r.line, in, got, r.fields[1])
		}
	}
}

// TestV4Canonicalization: the 33 examples of the SB v4 "URLs and Hashing" page.
func TestV4Canonicalization(t *testing.T) {
	checkCanonicalizationFile(t, "gsb_v4_canonicalization.tsv", 33)
}

// TestFirefoxCanonicalization: Firefox's copy of the same list, plus its two
// additions about escaped ':' in queries.
func TestFirefoxCanonicalization(t *testing.T) {
	checkCanonicalizationFile(t, "firefox_url_classifier_canonicalization.tsv", 27)
}

// TestV4SuffixPrefixExpressions: the 3 expression examples of the v4 page.
func TestV4SuffixPrefixExpressions(t *testing.T) {
	const name = "gsb_v4_suffix_prefix_expressions.tsv"
	rows := readTSV(t, name, 2)
	if len(rows) != 3 {
		t.Errorf("%d rows, want 3", len(rows))
	}
	for _, r := range rows {
		_, got, err := Expressions(r.fields[0])
		if err != nil {
			t.Errorf("%s:%d: %v", name, r.line, err)
			continue
		}
		want := strings.Split(r.fields[1], "|")
		if !sameSet(got, want) {
			t.Errorf("%s:%d: Expressions(%q) = %q, want (any order) %q", name, r.line, r.fields[0], got, want)
		}
	}
}

// referenceException is a row of google_safebrowsing_go_urls_test_vectors.tsv
// on which the google/safebrowsing library contradicts the v4 documentation.
// The row is still checked, against want (what v4 requires).
type referenceException struct {
	want   string
	reason string
}

const (
	reasonSevenHosts = "google/safebrowsing looks up every suffix of the last 7 components (maxHostComponents = 7); " +
		"SB v4 looks up the exact host plus at most 4 suffixes formed from the last 5 components " +
		"(the v4 page's own example omits b.c.d.e.f.g/ for a.b.c.d.e.f.g)"
	reasonHexCase = "google/safebrowsing writes lower-case hex escapes (%1b); " +
		"SB v4: \"The escapes should use uppercase hex characters\""
)

// referenceExceptions is keyed by "TestFunction\tinput" (input as in the file).
func referenceExceptions() map[string]referenceException {
	ninePatterns := "a.b.c.d.e.f.g.h.i/|e.f.g.h.i/|f.g.h.i/|g.h.i/|h.i/"
	return map[string]referenceException{
		"TestGeneratePatterns\thttp://a.b.c.d.e.f.g.h.i/":  {ninePatterns, reasonSevenHosts},
		"TestGeneratePatterns\thttps://a.b.c.d.e.f.g.h.i/": {ninePatterns, reasonSevenHosts},
		"TestGeneratePatterns\ta.b.c.d.e.f.g.h.i/":         {ninePatterns, reasonSevenHosts},
		"TestGenerateLookupHosts\thttp://a.b.c.d.e.f.kita.tokyo.jp": {
			"a.b.c.d.e.f.kita.tokyo.jp|e.f.kita.tokyo.jp|f.kita.tokyo.jp|kita.tokyo.jp|tokyo.jp", reasonSevenHosts,
		},
		"TestCanonicalURL\thttp://some%1bhost.com/%1b": {"http://some%1Bhost.com/%1B", reasonHexCase},
	}
}

// TestReferenceVectors maps each test function of google/safebrowsing's
// urls_test.go onto this package's API and checks every row.
func TestReferenceVectors(t *testing.T) {
	const name = "google_safebrowsing_go_urls_test_vectors.tsv"
	rows := readTSV(t, name, 4)
	if len(rows) != 106 {
		t.Errorf("%d rows, want 106", len(rows))
	}
	exceptions := referenceExceptions()
	used := map[string]bool{}
	for _, r := range rows {
		fn, in, want := r.fields[0], decodeEscapes(t, r.fields[1]), r.fields[2]
		fail, err := strconv.ParseBool(r.fields[3])
		if err != nil {
			t.Fatalf("%s:%d: fail column: %v", name, r.line, err)
		}
		key := fn + "\t" + r.fields[1]
		if ex, ok := exceptions[key]; ok {
			used[key] = true
			t.Logf("%s:%d: exception (%s): checking %q instead of %q", name, r.line, ex.reason, ex.want, want)
			want = ex.want
		}
		if msg := checkReferenceRow(fn, in, want, fail); msg != "" {
			t.Errorf("%s:%d: %s(%q): %s", name, r.line, fn, in, msg)
		}
	}
	for key := range exceptions {
		if !used[key] {
			t.Errorf("exception %q matches no row", key)
		}
	}
}

// checkReferenceRow returns "" if this package agrees with one row, or what
// is wrong.
func checkReferenceRow(fn, in, want string, fail bool) string {
	if fn == "TestParseIPAddress" {
		got, ok := parseIPv4(in)
		if ok != (want != "") || got != want {
			return "parseIPv4 = " + strconv.Quote(got) + ", " + strconv.FormatBool(ok) + "; want " + strconv.Quote(want)
		}
		return ""
	}
	u, err := Canonicalize(in)
	if fail {
		if err == nil {
			return "no error, canonical " + strconv.Quote(u.String())
		}
		return ""
	}
	if err != nil {
		return "unexpected error: " + err.Error()
	}
	var got []string
	switch fn {
	case "TestGeneratePatterns":
		got = u.Expressions()
	case "TestGenerateLookupHosts":
		got = u.LookupHosts()
	case "TestGenerateLookupPaths":
		got = u.LookupPaths()
	case "TestCanonicalHost":
		got = []string{u.Host}
	case "TestCanonicalPath":
		got = []string{u.Path}
	case "TestCanonicalURL":
		// The reference's canonicalURL drops the query (and the port, as we
		// do): compare scheme://host/path only.
		got = []string{u.Scheme + "://" + u.Host + u.Path}
	default:
		return "unknown test function"
	}
	if !sameSet(got, strings.Split(want, "|")) {
		return "got " + strings.Join(got, "|") + ", want " + want
	}
	return ""
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestVectorCopiesMatchShared guards the in-repo copies against drift from
// the shared originals, when those are present.
func TestVectorCopiesMatchShared(t *testing.T) {
	if _, err := os.Stat(sharedVectorDir); err != nil {
		t.Skip("shared test material not present")
	}
	for _, name := range vectorFiles {
		ours, err := os.ReadFile(filepath.Join(vectorDir, name))
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := os.ReadFile(filepath.Join(sharedVectorDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ours, theirs) {
			t.Errorf("%s differs from the shared copy", name)
		}
	}
}

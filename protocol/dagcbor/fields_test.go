package dagcbor

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func sampleMap(t *testing.T) Value {
	return Map(
		Entry{"seq", Uint(3)},
		Entry{"tlp", Text("amber")},
		Entry{"cats", TextList([]string{"incitement", "threat"})},
		Entry{"null", Null()},
		Entry{"origin", Map(Entry{"cc", Text("FR")}, Entry{"org", Text("ofac")})},
		Entry{"members", Array(Map(Entry{"name", Text("a")}), Map(Entry{"name", Uint(1)}))},
		Entry{"ind", Link(rawCID(t, "x"))},
		Entry{"root", Bytes([]byte{1, 2})},
		Entry{"ok", Bool(true)},
	)
}

func TestFieldsReadsEverything(t *testing.T) {
	f := ReadFields(sampleMap(t))
	if f.Uint("seq") != 3 || f.Text("tlp") != "amber" || !f.Bool("ok") {
		t.Fatalf("scalars wrong: %v", f.Err())
	}
	if cats := f.TextList("cats"); len(cats) != 2 || cats[1] != "threat" {
		t.Errorf("TextList = %v", cats)
	}
	f.Value("null")
	o := f.Map("origin")
	if o.Text("cc") != "FR" || o.Text("org") != "ofac" {
		t.Errorf("nested: %v", f.Err())
	}
	f.Link("ind")
	f.Bytes("root")
	members := f.Maps("members")
	members[0].Text("name")
	if err := f.Done(); !errors.Is(err, ErrUnknownField) || !strings.Contains(err.Error(), `"members[1].name"`) {
		t.Fatalf("unread nested field: %v", err)
	}
}

func TestFieldsErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name string
		read func(f *Fields)
		want error
		path string
	}{
		{"missing", func(f *Fields) { f.Uint("absent") }, ErrMissingField, `"absent"`},
		{"wrong kind", func(f *Fields) { f.Uint("tlp") }, ErrWrongKind, `"tlp"`},
		{"null is not absent", func(f *Fields) { f.OptText("null") }, ErrWrongKind, `"null"`},
		{"nested missing", func(f *Fields) { f.Map("origin").Text("zz") }, ErrMissingField, `"origin.zz"`},
		{"array item wrong kind", func(f *Fields) { f.Maps("members")[1].Text("name") }, ErrWrongKind, `"members[1].name"`},
		{"list item wrong kind", func(f *Fields) { f.TextList("members") }, ErrWrongKind, `"members"`},
		{"map expected", func(f *Fields) { f.Map("tlp") }, ErrWrongKind, `"tlp"`},
		{"unknown", func(f *Fields) { f.Uint("seq") }, ErrUnknownField, `"ok"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := ReadFields(sampleMap(t))
			tc.read(f)
			err := f.Done()
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.path) {
				t.Errorf("Done = %v; want %v naming %s", err, tc.want, tc.path)
			}
		})
	}
}

func TestFieldsOptionalAbsent(t *testing.T) {
	f := ReadFields(Map())
	if _, ok := f.OptText("x"); ok {
		t.Error("OptText found an absent field")
	}
	if _, ok := f.OptUint("x"); ok {
		t.Error("OptUint found an absent field")
	}
	if m := f.OptMap("x"); m != nil {
		t.Error("OptMap found an absent field")
	}
	if err := f.Done(); err != nil {
		t.Errorf("absent optional fields: %v", err)
	}
}

func TestFieldsFirstErrorWins(t *testing.T) {
	f := ReadFields(sampleMap(t))
	f.Fail("tlp", errors.New("first"))
	f.Uint("absent")
	if err := f.Err(); err == nil || !strings.Contains(err.Error(), "first") {
		t.Errorf("Err = %v", err)
	}
}

func TestFieldsOnNonMap(t *testing.T) {
	f := ReadFields(Uint(1))
	f.Uint("x")
	if err := f.Done(); !errors.Is(err, ErrWrongKind) {
		t.Errorf("Done = %v", err)
	}
}

func TestFieldsTracksManyFields(t *testing.T) {
	// More than 64 fields exercises the bitset beyond its inline word.
	var entries []Entry
	for i := range 130 {
		entries = append(entries, Entry{Key: fmt.Sprintf("k%03d", i), Value: Uint(uint64(i))})
	}
	f := ReadFields(Map(entries...))
	for i := range 130 {
		if i == 100 {
			continue
		}
		if got := f.Uint(fmt.Sprintf("k%03d", i)); got != uint64(i) {
			t.Fatalf("k%03d = %d", i, got)
		}
	}
	if err := f.Done(); !errors.Is(err, ErrUnknownField) || !strings.Contains(err.Error(), "k100") {
		t.Fatalf("Done = %v; want k100 unknown", err)
	}
	f.Uint("k100")
	if err := f.Done(); err != nil {
		t.Fatalf("all read: %v", err)
	}
}

package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigie-project/vigie/node"
)

func initNode(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "fr")
	if code, _, stderr := runCLI(t, "init", "--dir", dir, "--country", "FR", "--org", "pharos"); code != exitOK {
		t.Fatalf("init: exit %d: %s", code, stderr)
	}
	return dir
}

func TestTourThroughTheCommandLine(t *testing.T) {
	dir := initNode(t)
	code, out, stderr := runCLI(t, "assert", "--dir", dir, "--url", "http://www.propaganda.example/v/12.html",
		"--category", "incitement", "--tlp", "amber", "--legal-status", "referral", "--legal-basis", "TCO:Art.5", "--json")
	if code != exitOK {
		t.Fatalf("assert: exit %d: %s", code, stderr)
	}
	var asserted struct{ Indicator, Assertion string }
	if err := json.Unmarshal([]byte(out), &asserted); err != nil || asserted.Indicator == "" || asserted.Assertion == "" {
		t.Fatalf("assert --json printed %q (%v)", out, err)
	}

	code, out, _ = runCLI(t, "lookup", "--dir", dir, "--purpose", "case 1", "--json", "https://WWW.propaganda.example/v/12.html#t=3")
	if code != exitNegative {
		t.Fatalf("lookup of a listed URL: exit %d, want %d (live match)", code, exitNegative)
	}
	var res lookupOut
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if !res.Live || len(res.Matches) != 1 || res.Matches[0].Indicator != asserted.Indicator || res.Matches[0].Assertions[0].CID != asserted.Assertion {
		t.Fatalf("lookup result %+v", res)
	}

	if code, _, stderr := runCLI(t, "retract", "--dir", dir, "--reason", "false_positive", asserted.Assertion); code != exitOK {
		t.Fatalf("retract: exit %d: %s", code, stderr)
	}
	code, out, _ = runCLI(t, "lookup", "--dir", dir, "--purpose", "case 1", "--json", "http://www.propaganda.example/v/12.html")
	if code != exitOK {
		t.Fatalf("lookup after retraction: exit %d, want 0 (shown but not live)", code)
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Live || len(res.Matches) != 1 || res.Matches[0].Assertions[0].Retraction == nil || res.Matches[0].Assertions[0].Retraction.Reason != "false_positive" {
		t.Fatalf("retracted assertion not shown as retracted: %+v", res)
	}
}

// Each kind of bad input gets exit status 2 and a message that names the
// problem.
func TestClearErrorsForBadInput(t *testing.T) {
	dir := initNode(t)
	assertArgs := func(extra ...string) []string {
		return append([]string{"assert", "--dir", dir, "--tlp", "amber", "--legal-status", "referral", "--legal-basis", "TCO:Art.5"}, extra...)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"bad URL", assertArgs("--url", "mailto:x@evil.example", "--category", "incitement"), "unsupported scheme"},
		{"unknown category", assertArgs("--url", "http://evil.example/", "--category", "spam"), "categories"},
		{"missing purpose", []string{"lookup", "--dir", dir, "http://evil.example/"}, "--purpose is required"},
		{"unknown CID", []string{"retract", "--dir", dir, "--reason", "incorrect", "bafyreigejiy6e7p4qrvnxodwzdv6qrsve5ca6w7jp44fhvu2glowyxgcba"}, "unknown record"},
		{"not a CID", []string{"retract", "--dir", dir, "--reason", "incorrect", "not-a-cid"}, "is not a CID"},
		{"missing dir", []string{"lookup", "--purpose", "p", "http://evil.example/"}, "--dir is required"},
		{"not a node", []string{"lookup", "--dir", t.TempDir(), "--purpose", "p", "http://evil.example/"}, "vigie init"},
		{"bad country", []string{"init", "--dir", filepath.Join(t.TempDir(), "x"), "--country", "France"}, "ISO 3166-1"},
		{"init twice", []string{"init", "--dir", dir, "--country", "FR"}, "already holds a Vigie node"},
		{"bad date", assertArgs("--url", "http://evil.example/", "--category", "incitement", "--expires", "next week"), "neither a date"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr, exitUsage, tc.want)
			}
			if strings.Contains(stderr, "evil.example") && tc.name != "not a node" {
				t.Fatalf("error message echoes the URL: %q", stderr)
			}
		})
	}
}

func TestStoreLockedByAnotherUser(t *testing.T) {
	dir := initNode(t)
	holder, err := node.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	code, _, stderr := runCLI(t, "lookup", "--dir", dir, "--purpose", "p", "http://evil.example/")
	if code != exitUsage || !strings.Contains(stderr, "in use by another vigie process") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	var walk func(path []string, c *command)
	walk = func(path []string, c *command) {
		for _, s := range c.subs {
			walk(append(append([]string(nil), path...), s.name), s)
		}
		if c.run == nil {
			return
		}
		code, out, _ := runCLI(t, append(path, "--help")...)
		if code != exitOK || !strings.Contains(out, "Usage:") || !strings.Contains(out, "vigie "+strings.Join(path, " ")) {
			t.Errorf("%v --help: exit %d, output %q", path, code, out)
		}
	}
	walk(nil, rootCommand())
}

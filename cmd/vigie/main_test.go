package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// runCLI runs the command in-process and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}, args)
	return code, out.String(), errOut.String()
}

// mustRunCLI runs the command in-process and fails the test unless it
// exits with want; it returns the output.
func mustRunCLI(t *testing.T, want int, args ...string) (stdout, stderr string) {
	t.Helper()
	code, stdout, stderr := runCLI(t, args...)
	if code != want {
		t.Fatalf("%v: exit %d, want %d\nstdout: %s\nstderr: %s", args, code, want, stdout, stderr)
	}
	return stdout, stderr
}

// The JSON form of `vigie url canon` is a contract that acceptance checks
// read: one object per input and line, an error object for a bad input, and
// exit status 1 at the end if anything failed.
func TestURLCanonJSONContract(t *testing.T) {
	code, out, _ := runCLI(t, "url", "canon", "--json", "http://www.GOOgle.com/a/../b.html?q=1#f", "mailto:someone@evil.example")
	if code != exitNegative {
		t.Fatalf("exit %d, want %d when one input fails", code, exitNegative)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one line per input, got %q", out)
	}
	var ok, bad map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &ok); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &bad); err != nil {
		t.Fatal(err)
	}
	if ok["input"] != "http://www.GOOgle.com/a/../b.html?q=1#f" || ok["canonical"] != "http://www.google.com/b.html?q=1" {
		t.Errorf("first line = %v", ok)
	}
	exprs, _ := ok["expressions"].([]any)
	want := map[string]bool{"www.google.com/b.html?q=1": true, "www.google.com/b.html": true, "www.google.com/": true,
		"google.com/b.html?q=1": true, "google.com/b.html": true, "google.com/": true}
	if len(exprs) != len(want) {
		t.Errorf("expressions = %v, want %d of them", exprs, len(want))
	}
	for _, x := range exprs {
		if !want[x.(string)] {
			t.Errorf("unexpected expression %v", x)
		}
	}
	if _, has := ok["error"]; has {
		t.Error("a good input carries an error field")
	}
	if bad["input"] != "mailto:someone@evil.example" || bad["error"] == "" || bad["error"] == nil {
		t.Errorf("second line = %v", bad)
	}
	if _, has := bad["canonical"]; has {
		t.Error("a failed input carries a canonical field")
	}
}

func TestURLCanonAllGoodExitsZero(t *testing.T) {
	code, out, _ := runCLI(t, "url", "canon", "evil.example/x", "--json")
	if code != exitOK {
		t.Fatalf("exit %d, want 0", code)
	}
	if !strings.Contains(out, `"canonical":"http://evil.example/x"`) {
		t.Fatalf("flag after the URL not honoured: %s", out)
	}
}

func TestURLCanonHumanOutput(t *testing.T) {
	code, out, _ := runCLI(t, "url", "canon", "http://evil.example/a/b.html")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"http://evil.example/a/b.html\n", "exact   evil.example/a/b.html", "prefix  evil.example/a/", "host    evil.example/"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
		wantErr  string
	}{
		{[]string{"url", "canon"}, exitUsage, "no URL given"},
		{[]string{"url", "canon", "--bogus", "x"}, exitUsage, "flag provided but not defined"},
		{[]string{"frobnicate"}, exitUsage, "unknown command"},
		{nil, exitUsage, ""},
	}
	for _, tc := range tests {
		code, _, stderr := runCLI(t, tc.args...)
		if code != tc.wantCode || !strings.Contains(stderr, tc.wantErr) {
			t.Errorf("%v: exit %d stderr %q; want exit %d containing %q", tc.args, code, stderr, tc.wantCode, tc.wantErr)
		}
	}
}

func TestHelpGoesToStdout(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"url", "--help"}, {"url", "canon", "--help"}, {"version", "-h"}} {
		code, out, _ := runCLI(t, args...)
		if code != exitOK || !strings.Contains(out, "Usage:") {
			t.Errorf("%v: exit %d, stdout %q", args, code, out)
		}
	}
}

package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/node/localapi"
)

// holdAndServe opens the node in dir, as vigie run does, and serves its
// local API until stop is called (or the test ends).
func holdAndServe(t *testing.T, dir string) (stop func()) {
	t.Helper()
	n, err := node.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := localapi.Listen(dir)
	if err != nil {
		n.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- localapi.Serve(ctx, l, n, nil) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		n.Close()
	}
	t.Cleanup(stop)
	return stop
}

// While another process holds the node, lookup, assert, import and retract
// go through its local API, with the same exit codes and output.
func TestCommandsReachARunningNode(t *testing.T) {
	dir := initNode(t)
	stop := holdAndServe(t, dir)

	code, out, stderr := runCLI(t, "assert", "--dir", dir, "--url", "http://www.propaganda.example/v/12.html",
		"--category", "incitement", "--tlp", "amber", "--legal-status", "referral", "--legal-basis", "TCO:Art.5", "--json")
	if code != exitOK {
		t.Fatalf("assert: exit %d: %s", code, stderr)
	}
	var asserted struct{ Indicator, Assertion string }
	if err := json.Unmarshal([]byte(out), &asserted); err != nil || asserted.Assertion == "" {
		t.Fatalf("assert --json printed %q (%v)", out, err)
	}
	code, _, stderr = runCLI(t, "assert", "--dir", dir, "--url", "mailto:x@evil.example",
		"--category", "incitement", "--tlp", "amber", "--legal-status", "referral", "--legal-basis", "TCO:Art.5")
	if code != exitUsage || !strings.Contains(stderr, "unsupported scheme") {
		t.Fatalf("bad assert: exit %d, stderr %q", code, stderr)
	}

	file := filepath.Join(t.TempDir(), "in.jsonl")
	lines := `{"expression":"propaganda.example/","categories":["incitement"],"legal_status":"referral","legal_basis":["TCO:Art.5"],"tlp":"amber"}
{"url":"http://www.propaganda.example/v/12.html","categories":["incitement"],"legal_status":"referral","legal_basis":["TCO:Art.5"],"tlp":"amber"}
{"url":"mailto:x@evil.example","categories":["incitement"],"legal_status":"referral","legal_basis":["TCO:Art.5"],"tlp":"amber"}
`
	if err := os.WriteFile(file, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = runCLI(t, "import", "--dir", dir, "--json", file)
	if code != exitNegative || !strings.Contains(out, `"status":"imported"`) || !strings.Contains(out, `"status":"duplicate"`) ||
		!strings.Contains(out, `"status":"rejected"`) {
		t.Fatalf("import: exit %d, stdout %q, stderr %q", code, out, stderr)
	}

	lookup := []string{"lookup", "--dir", dir, "--purpose", "case 1", "--requester", "alice", "--json", "https://WWW.propaganda.example/v/12.html#t=3"}
	code, viaAPI, stderr := runCLI(t, lookup...)
	if code != exitNegative {
		t.Fatalf("lookup of a listed URL: exit %d, want %d (live match): %s", code, exitNegative, stderr)
	}
	var res lookupOut
	if err := json.Unmarshal([]byte(viaAPI), &res); err != nil {
		t.Fatal(err)
	}
	if !res.Live || len(res.Matches) != 2 {
		t.Fatalf("lookup result %+v", res)
	}
	code, _, stderr = runCLI(t, "lookup", "--dir", dir, "--purpose", "p", "--json", "mailto:x@evil.example")
	if code != exitUsage {
		t.Fatalf("lookup of a bad URL: exit %d: %s", code, stderr)
	}

	if code, _, stderr := runCLI(t, "retract", "--dir", dir, "--reason", "false_positive", asserted.Assertion); code != exitOK {
		t.Fatalf("retract: exit %d: %s", code, stderr)
	}
	code, _, stderr = runCLI(t, "retract", "--dir", dir, "--reason", "false_positive", asserted.Assertion)
	if code != exitNegative || !strings.Contains(stderr, "already retracted") {
		t.Fatalf("retracting twice: exit %d, stderr %q", code, stderr)
	}
	code, viaAPI, _ = runCLI(t, lookup...)
	if code != exitNegative { // the host-level listing is still live
		t.Fatalf("lookup after retraction: exit %d", code)
	}

	// The same look-up on the node opened directly prints the same.
	stop()
	code, direct, stderr := runCLI(t, lookup...)
	if code != exitNegative || direct != viaAPI {
		t.Fatalf("direct lookup: exit %d (%s)\n%s\nthrough the local API:\n%s", code, stderr, direct, viaAPI)
	}
	if _, err := os.Lstat(filepath.Join(dir, localapi.SocketName)); !os.IsNotExist(err) {
		t.Fatalf("socket left after the server stopped: %v", err)
	}
}

// A node held by a process that serves no local API gets a clear message.
func TestLockedNodeWithoutLocalAPI(t *testing.T) {
	dir := initNode(t)
	holder, err := node.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	for _, args := range [][]string{
		{"lookup", "--dir", dir, "--purpose", "p", "http://evil.example/"},
		{"retract", "--dir", dir, "--reason", "incorrect", "bafyreigejiy6e7p4qrvnxodwzdv6qrsve5ca6w7jp44fhvu2glowyxgcba"},
	} {
		code, _, stderr := runCLI(t, args...)
		if code != exitUsage || !strings.Contains(stderr, "in use by another vigie process, which offers no local API") {
			t.Fatalf("%s: exit %d, stderr %q", args[0], code, stderr)
		}
		if strings.Contains(stderr, "evil.example") {
			t.Fatalf("%s: the message echoes the URL: %q", args[0], stderr)
		}
	}
}

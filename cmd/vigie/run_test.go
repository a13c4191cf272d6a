package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a running command and a test to
// share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Two members founded together find each other from the roster's addresses
// when both run; an assertion made through FR's local API (tokenised by
// the issuers over the network) reaches DE, where a look-up through DE's
// local API matches it; both stop cleanly when interrupted.
func TestRunConnectsMembersAndStops(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two real libp2p nodes; skipped in -short mode")
	}
	dir := t.TempDir()
	members := fmt.Sprintf(`[{"country":"FR","org":"pharos","addrs":["/ip4/127.0.0.1/tcp/%d"]},{"country":"DE","org":"bka","addrs":["/ip4/127.0.0.1/tcp/%d"]}]`,
		freeTCPPort(t), freeTCPPort(t))
	if err := os.WriteFile(filepath.Join(dir, "m.json"), []byte(members), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if code, _, stderr := runCLI(t, "federation", "init", "--members", filepath.Join(dir, "m.json"), "--issuers", "1-of-2", "--out", out); code != exitOK {
		t.Fatal(stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := map[string]*syncBuffer{}
	done := make(chan int, 2)
	for _, m := range []string{"FR-pharos", "DE-bka"} {
		nodeDir := filepath.Join(dir, m)
		if code, _, stderr := runCLI(t, "init", "--dir", nodeDir, "--roster", filepath.Join(out, "roster.cbor"), "--keys", filepath.Join(out, m)); code != exitOK {
			t.Fatal(stderr)
		}
		logs[m] = &syncBuffer{}
		e := &env{stdin: strings.NewReader(""), stdout: &syncBuffer{}, stderr: logs[m]}
		go func() { done <- run(ctx, e, []string{"run", "--dir", nodeDir, "--log-format", "json"}) }()
	}
	deadline := time.Now().Add(20 * time.Second)
	up := func(log *syncBuffer, agency string) bool {
		return strings.Contains(log.String(), `"agency":"`+agency+`","level":"info","msg":"p2p: peer up"`)
	}
	for !(up(logs["FR-pharos"], "DE/bka") && up(logs["DE-bka"], "FR/pharos")) {
		if time.Now().After(deadline) {
			t.Fatalf("members did not see each other up within 20 s\nFR: %s\nDE: %s", logs["FR-pharos"], logs["DE-bka"])
		}
		time.Sleep(50 * time.Millisecond)
	}
	fr, de := filepath.Join(dir, "FR-pharos"), filepath.Join(dir, "DE-bka")
	if code, _, stderr := runCLI(t, "assert", "--dir", fr, "--url", "http://run-test.example/p.html", "--category", "incitement",
		"--tlp", "green", "--onward", "granted", "--legal-status", "referral", "--legal-basis", "TCO:Art.5",
		"--expires", time.Now().AddDate(0, 1, 0).UTC().Format(time.DateOnly)); code != exitOK { // the Cedar baseline shares nothing without an expiry
		t.Fatalf("assert through FR's running node: %d %s", code, stderr)
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		code, stdout, stderr := runCLI(t, "lookup", "--dir", de, "--purpose", "test", "--json", "http://run-test.example/p.html")
		if code == exitNegative && strings.Contains(stdout, `"origin":"FR/pharos"`) {
			break
		}
		if code == exitUsage || time.Now().After(deadline) {
			t.Fatalf("lookup at DE: %d %s %s\nFR: %s\nDE: %s", code, stdout, stderr, logs["FR-pharos"], logs["DE-bka"])
		}
		time.Sleep(300 * time.Millisecond)
	}
	cancel()
	for range 2 {
		select {
		case code := <-done:
			if code != exitOK {
				t.Fatalf("run exited %d after interrupt\nFR: %s\nDE: %s", code, logs["FR-pharos"], logs["DE-bka"])
			}
		case <-time.After(10 * time.Second):
			t.Fatal("run did not stop within 10 s of the interrupt")
		}
	}
	if !strings.Contains(logs["FR-pharos"].String(), "shutting down") {
		t.Fatal("no shutdown message")
	}
}

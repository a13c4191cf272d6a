package localapi

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/sirupsen/logrus"

	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/protocol/record"
)

// newNode initialises and opens a standalone node in a fresh folder.
func newNode(t *testing.T) (*node.Node, string) {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "n")
	if err := node.Init(ctx, dir, node.InitOptions{Country: "FR", Org: "test"}); err != nil {
		t.Fatal(err)
	}
	n, err := node.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n, dir
}

// serve runs Serve on dir for b until stop is called or the test ends; it
// returns the server's log, complete once stopped.
func serve(t *testing.T, dir string, b Backend) (logs *lockedBuffer, stop func()) {
	t.Helper()
	l, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	logs = &lockedBuffer{}
	logger := logrus.New()
	logger.SetOutput(logs)
	logger.SetLevel(logrus.DebugLevel)
	logger.SetFormatter(&logrus.JSONFormatter{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, b, logrus.NewEntry(logger)) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return logs, stop
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func dial(t *testing.T, dir string) *Client {
	t.Helper()
	c, err := Dial(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func baseRequest() node.AssertRequest {
	return node.AssertRequest{
		Categories:  []record.Category{record.CatIncitement},
		LegalStatus: record.StatusReferral,
		LegalBasis:  []string{"TCO:Art.5"},
		TLP:         record.TLPAmber,
		PAP:         record.PAPGreen,
		SourceEval:  record.SourceEval("B"),
		InfoEval:    record.InfoEval("2"),
		Onward:      record.OnwardAsk,
	}
}

// Look-ups, assertions and retractions through the socket give what direct
// calls give, errors included.
func TestThroughTheSocketAsDirect(t *testing.T) {
	n, dir := newNode(t)
	logs, stop := serve(t, dir, n)
	c := dial(t, dir)
	ctx := context.Background()

	good := baseRequest()
	good.URL = "http://www.secret-site.example/v/12.html"
	host := baseRequest()
	host.Expression = "secret-site.example/"
	bad := baseRequest()
	bad.URL = "mailto:someone@secret-site.example"
	results, err := c.AssertMany(ctx, []node.AssertRequest{good, bad, host})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 3 || results[0].Err != nil || results[2].Err != nil || !results[0].Assertion.Defined() {
		t.Fatalf("results %+v", results)
	}
	if !errors.Is(results[1].Err, node.ErrInvalidInput) {
		t.Fatalf("invalid request: %v, want node.ErrInvalidInput", results[1].Err)
	}
	direct, err := n.AssertMany(ctx, []node.AssertRequest{good, bad})
	if err != nil {
		t.Fatal(err)
	}
	if !direct[0].Duplicate || direct[0].Assertion != results[0].Assertion || direct[1].Err.Error() != results[1].Err.Error() {
		t.Fatalf("direct %+v, through the socket %+v", direct, results)
	}
	again, err := c.AssertMany(ctx, []node.AssertRequest{good})
	if err != nil || !again[0].Duplicate || again[0].Assertion != results[0].Assertion {
		t.Fatalf("asserting again: %+v, %v", again, err)
	}

	lookup := node.LookupRequest{URL: "https://WWW.secret-site.example/v/12.html#t=3", Purpose: "case 1", Requester: "alice"}
	viaSocket, err := c.Lookup(ctx, lookup)
	if err != nil {
		t.Fatal(err)
	}
	want, err := n.Lookup(ctx, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(viaSocket, want) {
		t.Fatalf("through the socket %+v\ndirect %+v", viaSocket, want)
	}
	if !viaSocket.Live() || len(viaSocket.Matches) != 2 {
		t.Fatalf("look-up %+v", viaSocket)
	}

	rc, err := c.Retract(ctx, node.RetractRequest{Assertion: results[0].Assertion, Reason: record.ReasonFalsePositive})
	if err != nil || !rc.Defined() {
		t.Fatalf("retract: %v, %v", rc, err)
	}
	prev, err := c.Retract(ctx, node.RetractRequest{Assertion: results[0].Assertion, Reason: record.ReasonFalsePositive})
	if !errors.Is(err, node.ErrAlreadyRetracted) || prev != rc {
		t.Fatalf("retracting twice: %v, %v; want node.ErrAlreadyRetracted and %v", prev, err, rc)
	}
	unknown, _ := cid.Decode("bafyreigejiy6e7p4qrvnxodwzdv6qrsve5ca6w7jp44fhvu2glowyxgcba")
	if _, err := c.Retract(ctx, node.RetractRequest{Assertion: unknown, Reason: record.ReasonIncorrect}); !errors.Is(err, node.ErrUnknownRecord) {
		t.Fatalf("retracting an unknown record: %v", err)
	}
	if _, err := c.Retract(ctx, node.RetractRequest{Assertion: results[2].Assertion, Reason: "bogus"}); !errors.Is(err, node.ErrInvalidInput) {
		t.Fatalf("bad reason: %v", err)
	}

	viaSocket, err = c.Lookup(ctx, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if want, err = n.Lookup(ctx, lookup); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(viaSocket, want) || viaSocket.Matches[0].Assertions[0].Retraction == nil {
		t.Fatalf("after the retraction, through the socket %+v\ndirect %+v", viaSocket, want)
	}

	if _, err := c.Lookup(ctx, node.LookupRequest{URL: lookup.URL}); !errors.Is(err, node.ErrMissingPurpose) {
		t.Fatalf("look-up without purpose: %v", err)
	}
	_, err = c.Lookup(ctx, node.LookupRequest{URL: "mailto:x@secret-site.example", Purpose: "p"})
	_, direct0 := n.Lookup(ctx, node.LookupRequest{URL: "mailto:x@secret-site.example", Purpose: "p"})
	if !errors.Is(err, node.ErrInvalidInput) || err.Error() != direct0.Error() {
		t.Fatalf("bad URL: %v, direct %v", err, direct0)
	}

	c.Close()
	stop()
	if strings.Contains(logs.String(), "secret-site") {
		t.Fatalf("the server logged a URL:\n%s", logs)
	}
	if !strings.Contains(logs.String(), `"route":"/v1/lookup"`) {
		t.Fatalf("the server did not log its requests:\n%s", logs)
	}
}

func TestSocketIsPrivateWhateverTheUmask(t *testing.T) {
	dir := t.TempDir()
	old := syscall.Umask(0)
	l, err := Listen(dir)
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	info, err := os.Lstat(filepath.Join(dir, SocketName))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Type() != fs.ModeSocket || info.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, want a socket with 0600", info.Mode())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("Listen left %d entries in the folder, want only the socket", len(entries))
	}
}

// staleSocket leaves a socket file nothing listens on, as a crash does.
func staleSocket(t *testing.T, dir string) {
	t.Helper()
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, SocketName), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
}

func TestStaleSocketIsReplaced(t *testing.T) {
	dir := t.TempDir()
	staleSocket(t, dir)
	if _, err := Dial(context.Background(), dir); !errors.Is(err, ErrNoServer) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Dial on a stale socket: %v, want ErrNoServer (connection refused)", err)
	}
	serve(t, dir, fakeBackend{})
	c := dial(t, dir)
	if _, err := c.Lookup(context.Background(), node.LookupRequest{URL: "http://a.example/", Purpose: "p"}); err != nil {
		t.Fatal(err)
	}
}

func TestSecondServerIsRefused(t *testing.T) {
	dir := t.TempDir()
	serve(t, dir, fakeBackend{})
	if l, err := Listen(dir); !errors.Is(err, ErrInUse) {
		if l != nil {
			l.Close()
		}
		t.Fatalf("second Listen: %v, want ErrInUse", err)
	}
	dial(t, dir) // the first one still answers
}

func TestNotASocketIsLeftAlone(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, SocketName)
	if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if l, err := Listen(dir); err == nil || !strings.Contains(err.Error(), "not a socket") {
		if l != nil {
			l.Close()
		}
		t.Fatalf("Listen over a regular file: %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "keep me" {
		t.Fatal("Listen touched a file that is not a socket")
	}
}

func TestDialWithoutServer(t *testing.T) {
	_, err := Dial(context.Background(), t.TempDir())
	if !errors.Is(err, ErrNoServer) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Dial: %v, want ErrNoServer wrapping fs.ErrNotExist", err)
	}
}

func TestShutdownRemovesTheSocket(t *testing.T) {
	dir := t.TempDir()
	l, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, fakeBackend{}, nil) }()
	c := dial(t, dir)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after cancel: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return after its context was cancelled")
	}
	if _, err := os.Lstat(filepath.Join(dir, SocketName)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("socket still there after shutdown: %v", err)
	}
	if _, err := c.Lookup(context.Background(), node.LookupRequest{URL: "http://a.example/", Purpose: "p"}); !errors.Is(err, ErrNoServer) {
		t.Fatalf("look-up after shutdown: %v, want ErrNoServer", err)
	}
}

// A large assert call is split into parts the server accepts, and the
// results come back in order.
func TestLargeAssertCallIsSplit(t *testing.T) {
	dir := t.TempDir()
	b := &countingBackend{}
	serve(t, dir, b)
	c := dial(t, dir)
	reqs := make([]node.AssertRequest, MaxAssertBatch+10)
	for i := range reqs {
		reqs[i].OrderRef = strings.Repeat("x", i%7)
	}
	results, err := c.AssertMany(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(reqs) {
		t.Fatalf("%d results for %d requests", len(results), len(reqs))
	}
	for i, r := range results {
		if r.Duplicate != (i%7 == 0) {
			t.Fatalf("result %d out of order", i)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !reflect.DeepEqual(b.calls, []int{MaxAssertBatch, 10}) {
		t.Fatalf("calls of %v requests, want [%d 10]", b.calls, MaxAssertBatch)
	}
}

// fakeBackend answers every call with a fixed result.
type fakeBackend struct{}

func (fakeBackend) Lookup(_ context.Context, req node.LookupRequest) (*node.LookupResult, error) {
	if req.Purpose == "" {
		return nil, node.ErrMissingPurpose
	}
	return &node.LookupResult{Canonical: "http://a.example/", Expressions: 2}, nil
}

func (fakeBackend) AssertMany(_ context.Context, reqs []node.AssertRequest) ([]node.AssertResult, error) {
	out := make([]node.AssertResult, len(reqs))
	for i := range out {
		out[i].Err = node.ErrInvalidInput
	}
	return out, nil
}

func (fakeBackend) Retract(context.Context, node.RetractRequest) (cid.Cid, error) {
	return cid.Undef, node.ErrUnknownRecord
}

// countingBackend records the size of each assert call; a request with an
// empty OrderRef is answered as a duplicate.
type countingBackend struct {
	fakeBackend
	mu    sync.Mutex
	calls []int
}

func (b *countingBackend) AssertMany(_ context.Context, reqs []node.AssertRequest) ([]node.AssertResult, error) {
	b.mu.Lock()
	b.calls = append(b.calls, len(reqs))
	b.mu.Unlock()
	out := make([]node.AssertResult, len(reqs))
	for i := range reqs {
		out[i].Duplicate = reqs[i].OrderRef == ""
	}
	return out, nil
}

func TestTooLongAPathIsExplained(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 100))
	if l, err := Listen(dir); err == nil || !strings.Contains(err.Error(), "too long for a Unix socket") {
		if l != nil {
			l.Close()
		}
		t.Fatalf("Listen: %v", err)
	}
}

package localapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/protocol/record"
)

// adoptingBackend answers AdoptRoster with change and err, and records the
// rosters it was given.
type adoptingBackend struct {
	fakeBackend
	change *node.RosterChange
	err    error
	mu     sync.Mutex
	got    [][]byte
}

func (b *adoptingBackend) AdoptRoster(_ context.Context, data []byte) (*node.RosterChange, error) {
	b.mu.Lock()
	b.got = append(b.got, bytes.Clone(data))
	b.mu.Unlock()
	return b.change, b.err
}

func testCID(t *testing.T) cid.Cid {
	t.Helper()
	h, err := multihash.Sum([]byte("roster"), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return cid.NewCidV1(cid.DagCBOR, h)
}

// The roster travels intact and the change comes back as the node gave it.
func TestAdoptRosterThroughTheSocket(t *testing.T) {
	_, dir := newNode(t)
	want := &node.RosterChange{Federation: "eu-test", From: 1, Version: 2, CID: testCID(t),
		Added:   []node.MemberRef{{Agency: record.Agency{Country: "ES", Org: "gc"}, PeerID: "12D3KooWes"}},
		Removed: []node.MemberRef{{Agency: record.Agency{Country: "IT", Org: "ctu"}, PeerID: "12D3KooWit"}}}
	b := &adoptingBackend{change: want}
	serve(t, dir, b)
	c := dial(t, dir)
	data := []byte{0xa1, 0x00, 0xff, 'r', 'o', 's', 't', 'e', 'r'}
	got, err := c.AdoptRoster(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("change %+v, want %+v", got, want)
	}
	if len(b.got) != 1 || !bytes.Equal(b.got[0], data) {
		t.Fatalf("the backend got %x", b.got)
	}

	// Too large a roster is refused before it is sent.
	if _, err := c.AdoptRoster(context.Background(), make([]byte, record.MaxRosterSize+1)); !errors.Is(err, node.ErrInvalidInput) {
		t.Fatalf("oversized roster: %v", err)
	}
	if len(b.got) != 1 {
		t.Fatal("an oversized roster reached the backend")
	}
}

// Each refusal of the node maps back to its sentinel, with the node's message.
func TestAdoptRosterErrorsMapBack(t *testing.T) {
	_, dir := newNode(t)
	b := &adoptingBackend{}
	serve(t, dir, b)
	c := dial(t, dir)
	for _, sentinel := range []error{node.ErrStaleRoster, node.ErrRosterQuorum, node.ErrRosterGap, node.ErrWrongFederation,
		node.ErrRemovedFromFederation, node.ErrInvalidInput} {
		b.err = fmt.Errorf("%w: roster version 3, the node holds version 1", sentinel)
		change, err := c.AdoptRoster(context.Background(), []byte("r"))
		if change != nil || !errors.Is(err, sentinel) || err.Error() != b.err.Error() {
			t.Errorf("%v: got %v, %v", sentinel, change, err)
		}
	}
	// Adopted but not applied: both come back.
	b.change, b.err = &node.RosterChange{Federation: "f", From: 1, Version: 2}, errors.New("daemon: roster version 2 adopted, but the host kept the previous one")
	change, err := c.AdoptRoster(context.Background(), []byte("r"))
	if change == nil || change.Version != 2 || !errors.Is(err, ErrServer) || !strings.Contains(err.Error(), "adopted, but") {
		t.Fatalf("partial adoption: %+v, %v", change, err)
	}
}

// A backend that does not adopt rosters says so: 501, ErrUnsupported.
func TestAdoptRosterUnsupported(t *testing.T) {
	_, dir := newNode(t)
	serve(t, dir, fakeBackend{})
	c := dial(t, dir)
	if _, err := c.AdoptRoster(context.Background(), []byte("r")); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("got %v", err)
	}
	status, we := call(t, http.MethodPost, routeAdopt, `{"roster":"AA=="}`)
	if status != http.StatusNotImplemented || we == nil || we.Code != codeUnsupported {
		t.Fatalf("status %d, error %+v", status, we)
	}
}

func TestAdoptRosterBadRequests(t *testing.T) {
	h := newHandler(&adoptingBackend{change: &node.RosterChange{}}, quietLog())
	big := make([]byte, record.MaxRosterSize+1)
	cases := []struct {
		name, body string
		status     int
		code       string
	}{
		{"not base64", `{"roster":"%%%"}`, 400, codeBadRequest},
		{"unknown field", `{"roster":"AA==","version":2}`, 400, codeBadRequest},
		{"roster too large", `{"roster":"` + encodeBase64(big) + `"}`, 413, codeTooLarge},
		{"body too large", `{"roster":"` + strings.Repeat("A", maxAdoptBody) + `"}`, 413, codeTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "http://vigie"+routeAdopt, strings.NewReader(tc.body)))
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), `"code":"`+tc.code+`"`) {
				t.Fatalf("status %d, body %.200s", rec.Code, rec.Body.String())
			}
		})
	}
}

func encodeBase64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

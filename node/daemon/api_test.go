package daemon

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/node/localapi"
)

// A roster adopted through a running member's local API goes through the
// daemon: the node follows version 2 and the removed member is cut off at
// once, as with Daemon.AdoptRoster; refusals come back as the node's
// sentinels.
func TestAdoptRosterThroughLocalAPI(t *testing.T) {
	l := startRosterLocal(t, func(i int, c string) []Option {
		opts := fast(i, c)
		if i == iFR {
			opts = append(opts, WithLocalAPI())
		}
		return opts
	})
	fr := l.Members[iFR]
	ctx := context.Background()
	c, err := localapi.Dial(ctx, l.NodeDir(iFR))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// One signature of four is no quorum: nothing changes.
	if _, err := c.AdoptRoster(ctx, amendRoster(t, l, "IT", "FR")); !errors.Is(err, node.ErrRosterQuorum) {
		t.Fatalf("adopting with one signature: %v", err)
	}
	if v := fr.Node().Roster().Version; v != 1 {
		t.Fatalf("FR at roster version %d after a refusal", v)
	}

	data := amendRoster(t, l, "IT", "FR", "DE", "ES")
	change, err := c.AdoptRoster(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	if change.From != 1 || change.Version != 2 || len(change.Removed) != 1 || change.Removed[0].Agency.Country != "IT" || !change.CID.Defined() {
		t.Fatalf("change %+v", change)
	}
	if v := fr.Node().Roster().Version; v != 2 {
		t.Fatalf("FR at roster version %d", v)
	}
	if st := fr.RosterStats(); st.Adopted != 1 {
		t.Fatalf("the daemon did not adopt: %+v", st)
	}
	eventually(t, 10*time.Second, "FR drops IT", func() bool { return !upWith(l, iFR, iIT) && !upWith(l, iIT, iFR) })
	eventually(t, 10*time.Second, "DE learns version 2 from FR", func() bool { return l.Members[iDE].Node().Roster().Version == 2 })

	if _, err := c.AdoptRoster(ctx, data); !errors.Is(err, node.ErrStaleRoster) {
		t.Fatalf("adopting version 2 again: %v", err)
	}
}

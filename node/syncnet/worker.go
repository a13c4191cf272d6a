package syncnet

import (
	"context"
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/vigie-project/vigie/node/syncengine"
)

type deliverJob struct {
	id     syncengine.DeliveryID
	from   syncengine.PeerID
	agency string
	bundle syncengine.Bundle
}

type evDelivered struct {
	id     syncengine.DeliveryID
	stored []syncengine.RecordRef
	err    error
}

// worker calls the Store off the event loop: deliveries one at a time, in
// the order the engine asked, so that each Accepted reaches the engine in
// the order its records were appended to the log (the engine wants
// announcements in log order; see syncengine's doc), and cursor writes,
// coalesced per peer (losing one only refetches).
type worker struct {
	r          *Runner
	ctx        context.Context
	cancel     context.CancelFunc
	deliveries *queue[deliverJob]

	mu      sync.Mutex
	cursors map[syncengine.PeerID]syncengine.Cursor // latest unsaved cursor per peer
	wake    chan struct{}
	wg      sync.WaitGroup
}

func newWorker(ctx context.Context, r *Runner) *worker {
	ctx, cancel := context.WithCancel(ctx)
	return &worker{r: r, ctx: ctx, cancel: cancel, deliveries: newQueue[deliverJob](),
		cursors: map[syncengine.PeerID]syncengine.Cursor{}, wake: make(chan struct{}, 1)}
}

// run delivers until stop; a second goroutine persists cursors.
func (w *worker) run() {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.persistLoop()
	}()
	for w.deliveries.wait(w.ctx) {
		for _, j := range w.deliveries.drain() {
			if w.ctx.Err() != nil {
				break
			}
			stored, err := w.r.st.Deliver(w.ctx, j.from, j.agency, j.bundle)
			if w.ctx.Err() != nil {
				break // an answer cut short by shutdown is no answer
			}
			w.r.events.post(evDelivered{id: j.id, stored: stored, err: err})
		}
	}
	w.wg.Wait()
}

// persist records c as the next cursor to save for its peer, replacing
// any unsaved one.
func (w *worker) persist(c syncengine.PeerCursor) {
	w.mu.Lock()
	w.cursors[c.Peer] = c.Cursor
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *worker) persistLoop() {
	for {
		select {
		case <-w.wake:
			w.saveAll(w.ctx)
		case <-w.ctx.Done():
			// Save what is left, with a little time of its own: the
			// context that stopped us is already over.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), persistTimeout)
			defer cancel()
			w.saveAll(ctx)
			return
		}
	}
}

func (w *worker) saveAll(ctx context.Context) {
	w.mu.Lock()
	batch := w.cursors
	w.cursors = map[syncengine.PeerID]syncengine.Cursor{}
	w.mu.Unlock()
	for p, c := range batch {
		if err := w.r.st.SaveCursor(ctx, syncengine.PeerCursor{Peer: p, Cursor: c}); err != nil {
			w.r.log.WithFields(logrus.Fields{"peer": string(p), "error": err.Error()}).Warn("syncnet: saving a cursor failed")
		}
	}
}

// stop ends deliveries and saves the cursors still unsaved; run returns
// once both are done.
func (w *worker) stop() {
	w.deliveries.close()
	w.cancel()
}

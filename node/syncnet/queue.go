package syncnet

import (
	"context"
	"sync"
)

// queue is an unbounded FIFO that never blocks its producers: the host's
// hooks, Announce and stream readers post to the event loop through one,
// and the loop posts to each peer's writer through another. What bounds
// it is elsewhere: the engine's window for sends, the readers' slots for
// received messages, MaxDeliveries for deliveries.
type queue[T any] struct {
	mu     sync.Mutex
	items  []T
	spare  []T // the previous batch's array, reused by the next one
	closed bool
	ready  chan struct{}
}

func newQueue[T any]() *queue[T] {
	return &queue[T]{ready: make(chan struct{}, 1)}
}

// post appends v, unless the queue is closed; it reports whether v was
// queued.
func (q *queue[T]) post(v T) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default: // a wake-up is already pending
	}
	return true
}

// drain takes everything queued, in order. The returned slice is valid
// until the next drain.
func (q *queue[T]) drain() []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.items
	clear(q.spare) // drop references to what the previous batch held
	q.items = q.spare[:0]
	q.spare = out
	return out
}

// wait blocks until something is queued, the queue is closed (false), or
// ctx ends (false).
func (q *queue[T]) wait(ctx context.Context) bool {
	for {
		q.mu.Lock()
		n, closed := len(q.items), q.closed
		q.mu.Unlock()
		if n > 0 {
			return true
		}
		if closed {
			return false
		}
		select {
		case <-q.ready:
		case <-ctx.Done():
			return false
		}
	}
}

// close refuses further posts; what is queued can still be drained.
func (q *queue[T]) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

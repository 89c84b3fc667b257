package yield

import (
	"errors"
	"fmt"
	"sync"

	"github.com/costack-dev/costack/costack"
)

var (
	// ErrFull is the error Send returns when a bounded mailbox is full.
	ErrFull = errors.New("yield: mailbox full")
	// ErrClosed is the error Send and SendWait return on a closed mailbox.
	ErrClosed = errors.New("yield: mailbox closed")
)

// A Mailbox is a typed queue of messages for tasks, an actor's inbox: Send
// from anywhere (task bodies on any worker, the game loop, other
// goroutines), Receive inside a task, which waits while the mailbox is
// empty. It is level-triggered: a task that starts waiting while a message
// is there does not wait, so no wake-up is lost whatever the interleaving
// of Send and Receive, unlike a Signal's edge. *Mailbox is a
// costack.Waiter (the wait ends once a message is there, or the mailbox is
// closed), to combine with a timeout:
//
//	if yield.Any(t, inbox, yield.After(time.Second)) == 0 {
//		msg, _ := inbox.TryReceive()
//		...
//	}
//
// Messages come out in the order they went in; messages sent by tasks on
// different workers in one tick are in an order that depends on timing.
// A receiver woken by a Send resumes on the next tick, like any wait. A
// Mailbox may have several receivers: each Send wakes those waiting, and
// the first to run takes the message.
//
// The zero Mailbox is an unbounded, open mailbox ready to use.
type Mailbox[T any] struct {
	// Name, if set, is how the mailbox describes itself (String).
	Name string

	mu        sync.Mutex
	buf       []T // a ring: n messages from head
	head, n   int
	limit     int // 0: unbounded
	closed    bool
	receivers []costack.Waker // waiting for a message (or Close)
	senders   []costack.Waker // waiting for room (SendWait)
}

// NewMailbox returns an open mailbox holding at most capacity messages
// (capacity 0: unbounded). capacity < 0 panics.
func NewMailbox[T any](capacity int) *Mailbox[T] {
	if capacity < 0 {
		panic("yield: NewMailbox with a negative capacity")
	}
	return &Mailbox[T]{limit: capacity}
}

// Send puts v in the mailbox and wakes the tasks waiting to receive. It
// never waits: it returns ErrFull when the mailbox is bounded and full,
// ErrClosed when it is closed, nil otherwise.
func (m *Mailbox[T]) Send(v T) error {
	m.mu.Lock()
	switch {
	case m.closed:
		m.mu.Unlock()
		return ErrClosed
	case m.limit > 0 && m.n >= m.limit:
		m.mu.Unlock()
		return ErrFull
	}
	m.push(v)
	ws := m.receivers
	m.receivers = nil
	m.mu.Unlock()
	costack.WakeAll(ws)
	return nil
}

// SendWait is Send for a task body, t's own, that waits for room in a full
// bounded mailbox instead of failing. It returns ErrClosed if the mailbox
// is (or gets) closed before v went in.
func (m *Mailbox[T]) SendWait(t *costack.Task, v T) error {
	for {
		err := m.Send(v)
		if err != ErrFull {
			return err
		}
		t.Wait((*mailboxRoom[T])(m))
	}
}

// Receive returns the oldest message, waiting in t (the calling task's own
// body) while the mailbox is empty. ok is false once the mailbox is closed
// and empty.
func (m *Mailbox[T]) Receive(t *costack.Task) (v T, ok bool) {
	for {
		if v, ok = m.TryReceive(); ok {
			return v, true
		}
		m.mu.Lock()
		closed := m.closed && m.n == 0
		m.mu.Unlock()
		if closed {
			return v, false
		}
		t.Wait(m)
	}
}

// TryReceive returns the oldest message without waiting; ok is false when
// the mailbox is empty.
func (m *Mailbox[T]) TryReceive() (v T, ok bool) {
	m.mu.Lock()
	if m.n == 0 {
		m.mu.Unlock()
		return v, false
	}
	v = m.buf[m.head]
	var zero T
	m.buf[m.head] = zero // the mailbox does not keep what it handed out alive
	m.head = (m.head + 1) % len(m.buf)
	m.n--
	if m.n == 0 {
		m.head = 0
		if len(m.buf) > 1024 {
			m.buf = nil // a burst is over: give its buffer back
		}
	}
	var ws []costack.Waker
	if len(m.senders) > 0 {
		ws, m.senders = m.senders, nil
	}
	m.mu.Unlock()
	costack.WakeAll(ws)
	return v, true
}

// Len reports the number of messages in the mailbox.
func (m *Mailbox[T]) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n
}

// Close closes the mailbox: later Sends fail with ErrClosed, the messages
// in it can still be received, and then Receive returns ok == false. Every
// waiting task is woken. Closing a closed mailbox does nothing.
func (m *Mailbox[T]) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	ws := append(m.receivers, m.senders...)
	m.receivers, m.senders = nil, nil
	m.mu.Unlock()
	costack.WakeAll(ws)
}

// Arm makes *Mailbox a Waiter: the wait ends once the mailbox holds a
// message or is closed — at once if it does already.
func (m *Mailbox[T]) Arm(w costack.Waker) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n > 0 || m.closed {
		w.Wake()
		return
	}
	m.receivers = appendPending(m.receivers, w)
}

// String describes the mailbox: its name (or address) and how many
// messages it holds.
func (m *Mailbox[T]) String() string {
	name := m.Name
	if name == "" {
		name = fmt.Sprintf("%p", m)
	}
	return fmt.Sprintf("mailbox %s (%d messages)", name, m.Len())
}

func (m *Mailbox[T]) push(v T) {
	if m.n == len(m.buf) {
		size := max(8, 2*len(m.buf))
		if m.limit > 0 {
			size = min(size, m.limit)
		}
		buf := make([]T, size)
		// Unroll the ring into the new buffer.
		k := copy(buf, m.buf[m.head:])
		copy(buf[k:], m.buf[:m.head])
		m.buf, m.head = buf, 0
	}
	m.buf[(m.head+m.n)%len(m.buf)] = v
	m.n++
}

// mailboxRoom is the wait of SendWait: it ends once the mailbox has room
// or is closed.
type mailboxRoom[T any] Mailbox[T]

func (r *mailboxRoom[T]) Arm(w costack.Waker) {
	m := (*Mailbox[T])(r)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.limit == 0 || m.n < m.limit {
		w.Wake()
		return
	}
	m.senders = appendPending(m.senders, w)
}

func (r *mailboxRoom[T]) String() string {
	return "room in " + (*Mailbox[T])(r).String()
}

// appendPending appends w to ws, first dropping the wakers whose wait
// ended another way (a timeout in an Any, a cancelled task) when the list
// would grow.
func appendPending(ws []costack.Waker, w costack.Waker) []costack.Waker {
	if n := len(ws); n >= 16 && n == cap(ws) {
		kept := ws[:0]
		for _, k := range ws {
			if k.Pending() {
				kept = append(kept, k)
			}
		}
		clear(ws[len(kept):])
		ws = kept
	}
	return append(ws, w)
}

package main

import (
	"sync"

	"github.com/costack-dev/costack/costack"
)

// mailbox is a level-triggered, unbounded queue that one task receives
// from and anything sends to: the actors' inboxes. (The scheduler's own
// typed Mailbox is on its way to costack; until it lands on main this
// example keeps a small one of its own.)
//
// Level-triggered: Receive looks at the queue while it arms its wait, under
// the lock Send takes, so a message sent between "empty" and "waiting" is
// never lost.
type mailbox[T any] struct {
	mu     sync.Mutex
	items  []T
	head   int
	waker  costack.Waker // the receiver's wait, if it waits
	closed bool
}

// Send queues v and wakes the receiver. It reports false, dropping v, once
// the mailbox is closed.
func (m *mailbox[T]) Send(v T) bool {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return false
	}
	m.items = append(m.items, v)
	w := m.waker
	m.waker = costack.Waker{}
	m.mu.Unlock()
	w.Wake()
	return true
}

// Len reports the number of queued messages.
func (m *mailbox[T]) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items) - m.head
}

// Close ends the mailbox: Receive returns what is queued, then false.
func (m *mailbox[T]) Close() {
	m.mu.Lock()
	m.closed = true
	w := m.waker
	m.waker = costack.Waker{}
	m.mu.Unlock()
	w.Wake()
}

// Receive returns the next message, suspending task t until there is one;
// false once the mailbox is closed and empty. Only one task receives.
func (m *mailbox[T]) Receive(t *costack.Task) (T, bool) {
	for {
		m.mu.Lock()
		if m.head < len(m.items) {
			v := m.items[m.head]
			var zero T
			m.items[m.head] = zero
			m.head++
			if m.head == len(m.items) {
				m.items, m.head = m.items[:0], 0
			}
			m.mu.Unlock()
			return v, true
		}
		if m.closed {
			m.mu.Unlock()
			var zero T
			return zero, false
		}
		m.mu.Unlock()
		t.Wait((*mailboxWait[T])(m))
	}
}

// mailboxWait is the receiver's wait: it ends at once if a message (or the
// close) came in since Receive looked.
type mailboxWait[T any] mailbox[T]

func (mw *mailboxWait[T]) Arm(w costack.Waker) {
	m := (*mailbox[T])(mw)
	m.mu.Lock()
	ready := m.head < len(m.items) || m.closed
	if !ready {
		m.waker = w
	}
	m.mu.Unlock()
	if ready {
		w.Wake()
	}
}

package yield

import (
	"fmt"
	"sync"

	"github.com/costack-dev/costack/costack"
)

// A Signal is an event tasks wait for: Fire wakes every task waiting on it,
// and they run on the next tick. A Signal does not remember being fired: a
// task that starts waiting after a Fire waits for the next one. *Signal is
// a costack.Waiter. The zero Signal is ready to use; a Signal is safe for
// concurrent use, including from task bodies on several workers and from
// other goroutines.
type Signal struct {
	// Name, if set, is how the signal describes itself (String): it shows
	// in Task.String and Scheduler.WriteTasks for the tasks waiting on it.
	Name    string
	mu      sync.Mutex
	waiters []costack.Waker
}

// NewSignal returns a new Signal.
func NewSignal() *Signal { return new(Signal) }

// Arm makes *Signal a Waiter: the wait ends at the next Fire.
func (s *Signal) Arm(w costack.Waker) {
	s.mu.Lock()
	s.waiters = appendPending(s.waiters, w)
	s.mu.Unlock()
}

// String describes the signal: "signal <Name>", or "signal 0x..." for an
// unnamed one.
func (s *Signal) String() string {
	if s.Name != "" {
		return "signal " + s.Name
	}
	return fmt.Sprintf("signal %p", s)
}

// Fire wakes every task waiting on s, in the order they started waiting;
// they resume on the next tick.
//
// Called by a task body, Fire takes effect at the end of the current tick
// (through Task.Apply), once every task of the tick has run: it then wakes
// every task that waits on s at the end of the tick, including those that
// started waiting after the Fire call in the same tick. So which tasks a
// Fire wakes does not depend on the order tasks run in, nor on the number of
// workers. Called from elsewhere (the game loop, another goroutine), it
// takes effect at once.
func (s *Signal) Fire() {
	if t := costack.CurrentTask(); t != nil {
		t.Apply(s.fire)
		return
	}
	s.fire()
}

func (s *Signal) fire() {
	s.mu.Lock()
	ws := s.waiters
	s.waiters = nil
	s.mu.Unlock()
	costack.WakeAll(ws)
}

// Waiting reports how many tasks wait on s: how many a Fire now would wake.
func (s *Signal) Waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, w := range s.waiters {
		if w.Pending() {
			n++
		}
	}
	return n
}

// On suspends t until sig fires.
func On(t *costack.Task, sig *Signal) { t.Wait(sig) }

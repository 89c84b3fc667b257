// Package yield provides the wait instructions of a [costack.Scheduler]
// task: wait a number of frames, a span of scheduler time, until a
// predicate holds, for a signal, for another task to end, and for all or any
// of several of these.
//
// Each wait comes in two forms. The blocking form takes the waiting task
// and returns when the wait is over (Frames, For, Until, On, Join, All,
// Any). The Waiter form describes the wait as a [costack.Waiter] value, to
// combine with All and Any or to pass to Task.Wait (InFrames, After, When,
// AllOf, AnyOf; a *Signal and a *costack.Task are Waiters themselves):
//
//	yield.Frames(t, 3)                                // three frames
//	i := yield.Any(t, hit, yield.After(2*time.Second)) // a signal, or a timeout
//	yield.All(t, door, yield.InFrames(30))             // both
//
// Waits are relative to the moment they are armed: yield.InFrames(3) armed
// at frame f ends at frame f+3, whenever that is. Waiter values hold no
// per-wait state and may be shared and reused.
//
// Only Until and When are polled (once per tick, at the start of the tick);
// every other wait costs nothing per tick until it ends.
package yield

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/costack-dev/costack/costack"
)

// Frames suspends t for n frames: a task that calls Frames(t, n) during
// frame f runs again during frame f+n. Frames(t, 1) is t.Yield(); n <= 0
// returns at once.
func Frames(t *costack.Task, n int) {
	switch {
	case n <= 0:
	case n == 1:
		t.Yield()
	default:
		t.Wait(frames(n))
	}
}

// InFrames is the Waiter form of Frames: the wait ends n frames after it is
// armed (n <= 0: at once).
func InFrames(n int) costack.Waiter { return frames(n) }

type frames int

func (n frames) Arm(w costack.Waker) {
	if n <= 0 {
		w.Wake()
		return
	}
	w.WakeAtFrame(w.Task().Scheduler().Frame() + uint64(n))
}

// For suspends t for d of scheduler time (Scheduler.Now), never the wall
// clock: t runs again at the first tick at which Now has advanced by at
// least d since the call. d <= 0 returns at once.
func For(t *costack.Task, d time.Duration) {
	if d > 0 {
		t.Wait(after(d))
	}
}

// After is the Waiter form of For: the wait ends d of scheduler time after it
// is armed.
func After(d time.Duration) costack.Waiter { return after(d) }

type after time.Duration

func (d after) Arm(w costack.Waker) {
	if d <= 0 {
		w.Wake()
		return
	}
	w.WakeAtTime(w.Task().Scheduler().Now() + time.Duration(d))
}

// Until suspends t until cond returns true. cond is evaluated once when
// Until is called (if it holds, Until returns at once) and then once per
// tick, at the start of the tick, on the goroutine calling Tick; t runs in
// the first tick at whose start it holds. Until is the one wait that costs
// something on every tick: prefer a Signal when the condition has a cause
// that can fire one.
func Until(t *costack.Task, cond func() bool) {
	t.Wait(When(cond))
}

// When is the Waiter form of Until.
func When(cond func() bool) costack.Waiter { return when(cond) }

type when func() bool

func (c when) Arm(w costack.Waker) {
	if c() {
		w.Wake()
		return
	}
	w.WakeWhen(c)
}

// A Signal is an event tasks wait for: Fire wakes every task waiting on it,
// and they run on the next tick. A Signal does not remember being fired: a
// task that starts waiting after a Fire waits for the next one. *Signal is
// a costack.Waiter. The zero Signal is ready to use; a Signal is safe for
// concurrent use, including from task bodies on several workers and from
// other goroutines.
type Signal struct {
	mu      sync.Mutex
	waiters []costack.Waker
}

// NewSignal returns a new Signal.
func NewSignal() *Signal { return new(Signal) }

// Arm makes *Signal a Waiter: the wait ends at the next Fire.
func (s *Signal) Arm(w costack.Waker) {
	s.mu.Lock()
	// Waits that ended another way (a timeout in an Any, a cancelled task)
	// leave stale wakers behind; drop them when the list would grow.
	if n := len(s.waiters); n >= 16 && n == cap(s.waiters) {
		kept := s.waiters[:0]
		for _, k := range s.waiters {
			if k.Pending() {
				kept = append(kept, k)
			}
		}
		clear(s.waiters[len(kept):])
		s.waiters = kept
	}
	s.waiters = append(s.waiters, w)
	s.mu.Unlock()
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

// Join suspends t until other has ended (returned, panicked, been cancelled
// or closed). It returns at once if other ended before the current tick; if
// other ends during the current tick, t runs on the next one, whichever of
// the two ran first (see costack.Task.Arm). other.Err() then tells how it
// ended.
func Join(t *costack.Task, other *costack.Task) { t.Wait(other) }

// All suspends t until every one of ws has ended its wait; with no waiters it
// returns at once. Each waiter is armed when All is called, so edge-like
// events (signals) are caught whichever order they come in.
func All(t *costack.Task, ws ...costack.Waiter) { t.Wait(AllOf(ws...)) }

// AllOf is the Waiter form of All.
func AllOf(ws ...costack.Waiter) costack.Waiter { return allOf(ws) }

type allOf []costack.Waiter

func (a allOf) Arm(w costack.Waker) {
	if len(a) == 0 {
		w.Wake()
		return
	}
	left := new(atomic.Int32)
	left.Store(int32(len(a)))
	done := func() {
		if left.Add(-1) == 0 {
			w.Wake()
		}
	}
	for _, x := range a {
		x.Arm(w.Sub(done))
	}
}

// Any suspends t until one of ws ends its wait, and returns the index of
// the first that did (if several ended before t resumed, the first of them
// to end). The other waits are abandoned. With no waiters it returns -1 at
// once. If a waiter's condition holds as it is armed, the waiters after it
// are not armed.
func Any(t *costack.Task, ws ...costack.Waiter) int {
	if len(ws) == 0 {
		return -1
	}
	a := &anyOf{ws: ws}
	a.first.Store(-1)
	t.Wait(a)
	return int(a.first.Load())
}

// AnyOf is the Waiter form of Any.
func AnyOf(ws ...costack.Waiter) costack.Waiter { return &anyOf{ws: ws} }

type anyOf struct {
	ws    []costack.Waiter
	first atomic.Int32 // used by Any only
}

func (a *anyOf) Arm(w costack.Waker) {
	for i, x := range a.ws {
		i := int32(i)
		x.Arm(w.Sub(func() {
			a.first.CompareAndSwap(-1, i)
			w.Wake()
		}))
		if !w.Pending() {
			return
		}
	}
}

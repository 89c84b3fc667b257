package costack

import (
	"sync"
	"time"
)

// A Clock tells real time to a [Scheduler]: the time real-time waits
// (Waker.WakeAtRealtime, yield.ForRealtime) are measured on, and, in
// [Scheduler.Run], how far each tick advances scheduler time. The default
// is the wall clock (time.Now, with its monotonic reading); tests give a
// [ManualClock] with [WithClock] so that they stay deterministic.
type Clock interface {
	// Now returns the current time. Successive calls must not go back.
	Now() time.Time
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// WithClock makes the scheduler read real time from c instead of the wall
// clock.
func WithClock(c Clock) SchedulerOption {
	return func(s *Scheduler) {
		if c == nil {
			panic("costack: WithClock(nil)")
		}
		s.clock = c
	}
}

// A ManualClock is a [Clock] that moves only when told to, for tests and
// replays. It is safe for concurrent use.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a clock standing at start.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{now: start} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock d forward; d < 0 panics.
func (c *ManualClock) Advance(d time.Duration) {
	if d < 0 {
		panic("costack: ManualClock.Advance with a negative duration")
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

package costack

import (
	"context"
	"time"

	"github.com/costack-dev/costack/internal/gls"
)

// An EventSource is what Scheduler.Run sleeps in when no task is ready.
//
// The default one sleeps on a channel. An I/O poller can be one, so that a
// server's event loop sleeps in epoll_wait (say) and wakes the tasks whose
// file descriptors are ready, with no goroutine between the poller and the
// scheduler.
type EventSource interface {
	// Wait blocks until Interrupt is called, until the source itself has
	// woken tasks (through Waker.Wake), or until timeout has passed
	// (timeout < 0: no limit). It is called only by the goroutine in Run.
	Wait(timeout time.Duration)
	// Interrupt makes the current Wait, or the next one, return promptly.
	// Safe for concurrent use; called by the scheduler whenever a task
	// becomes ready from outside a tick.
	Interrupt()
}

// WithEventSource makes Run sleep in src (default: a channel-based one).
func WithEventSource(src EventSource) SchedulerOption {
	return func(s *Scheduler) {
		if src == nil {
			panic("costack: WithEventSource(nil)")
		}
		s.src = src
	}
}

// chanSource is the default EventSource: Interrupt leaves a token in a
// channel of one, which the current or next Wait takes.
type chanSource struct {
	c     chan struct{}
	timer *time.Timer
}

func newChanSource() *chanSource {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &chanSource{c: make(chan struct{}, 1), timer: t}
}

func (cs *chanSource) Interrupt() {
	select {
	case cs.c <- struct{}{}:
	default: // a token is waiting already
	}
}

func (cs *chanSource) Wait(timeout time.Duration) {
	switch {
	case timeout < 0:
		<-cs.c
	case timeout == 0:
		select {
		case <-cs.c:
		default:
		}
	default:
		// Since Go 1.23 a stopped or reset timer delivers no stale value,
		// so one timer serves every Wait.
		cs.timer.Reset(timeout)
		select {
		case <-cs.c:
			cs.timer.Stop()
		case <-cs.timer.C:
		}
	}
}

// Run drives the scheduler event by event, for programs with no frame
// rate, such as servers: it ticks whenever a task is ready — woken (by
// Waker.Wake from any goroutine, a Signal, I/O through the event source),
// started, yielded, or due on a frame, time or real-time wait — and sleeps
// in the scheduler's [EventSource] otherwise.
//
// In Run, scheduler time follows the scheduler's [Clock]: each tick
// advances Now by the real time elapsed since the previous tick of this Run
// (the first one, since Run began), so time waits (yield.For) end on time.
// Each tick is a frame: a frame wait (yield.Frames, Task.Yield) keeps Run
// ticking without sleeping until it ends. Predicates (yield.Until) are
// evaluated at most once per FrameDuration while nothing else is ready.
//
// Run returns nil as soon as no task is left (Len() == 0; at once if none
// was started), and ctx.Err() once ctx is done, after the tick in progress.
// Tasks left when it returns stay as they are: a later Tick or Run goes on
// with them, and Close ends them. A panic in an Apply function or a
// WakeWhen predicate propagates out of Run, as out of Tick.
//
// Run must not be called from a task body, nor while another Run, Tick or
// Close is in progress; Tick and Close must not be called while it runs.
// Workers(n) apply to its ticks as to Tick's.
func (s *Scheduler) Run(ctx context.Context) error {
	if !s.drive.CompareAndSwap(false, true) {
		panic("costack: Scheduler.Run called during a tick, Run or Close (from a task body, or from two goroutines)")
	}
	defer s.drive.Store(false)
	if s.closed {
		panic("costack: Scheduler.Run after Close")
	}
	stop := context.AfterFunc(ctx, s.src.Interrupt)
	defer stop()
	last := s.clock.Now()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if s.Len() == 0 {
			return nil
		}
		wall := s.clock.Now()
		elapsed := max(wall.Sub(last), 0)
		if timeout := s.idleTimeout(elapsed); timeout != 0 {
			s.sleep(timeout)
			continue
		}
		last = wall
		s.tick(elapsed)
	}
}

// idleTimeout returns how long Run may sleep before the next tick is due,
// elapsed after the last one: 0 if a task is ready or a wait is due, -1 if
// no wait is armed on time at all.
func (s *Scheduler) idleTimeout(elapsed time.Duration) time.Duration {
	s.mu.Lock()
	ready := len(s.queue) > 0
	s.mu.Unlock()
	if ready || s.framesArmed() {
		return 0
	}
	timeout := time.Duration(-1)
	soonest := func(d time.Duration) {
		d = max(d, 0)
		if timeout < 0 || d < timeout {
			timeout = d
		}
	}
	if len(s.times) > 0 {
		soonest(time.Duration(s.times[0].at) - (s.now + elapsed))
	}
	if len(s.polls) > 0 {
		soonest(s.frameDur - elapsed)
	}
	return timeout
}

// framesArmed reports whether any frame wait is armed.
func (s *Scheduler) framesArmed() bool {
	if len(s.far) > 0 {
		return true
	}
	for i := range s.wheel {
		if len(s.wheel[i]) > 0 {
			return true
		}
	}
	return false
}

// sleep waits in the event source, unless a task became ready since Run
// last looked. A task made ready from outside while Run sleeps interrupts
// the source (see wakeRunLocked).
func (s *Scheduler) sleep(timeout time.Duration) {
	s.mu.Lock()
	if len(s.queue) > 0 {
		s.mu.Unlock()
		return
	}
	s.sleeping = true
	s.sleeper = gls.ID()
	s.mu.Unlock()
	s.src.Wait(timeout)
	s.mu.Lock()
	s.sleeping = false
	s.mu.Unlock()
}

// wakeRunLocked is called, with s.mu held, by whatever queues a task from
// outside a tick: it reports whether Run sleeps and must be interrupted,
// which the caller does once it has released s.mu. A task woken by the
// event source itself, inside its Wait (on Run's goroutine), needs no
// interrupt: the source returns from Wait once it has woken tasks, and an
// interrupt would only make its next Wait return for nothing.
func (s *Scheduler) wakeRunLocked() (interrupt bool) {
	if !s.sleeping || s.sleeper == gls.ID() {
		return false
	}
	s.sleeping = false
	return true
}

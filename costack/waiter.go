package costack

import (
	"sync/atomic"
	"time"
	"unsafe"
)

// A Waiter is a condition a [Task] can wait for with [Task.Wait]. Package
// yield provides the usual ones (frames, scheduler time, predicates,
// signals, other tasks, and All/Any combinations); other packages, such as
// interop, implement their own through the same exported mechanism.
//
// # The mechanism
//
// Task.Wait(w) creates a fresh [Waker] for this one wait and calls
// w.Arm(waker) on the task's own goroutine, before the task suspends. Arm
// must arrange for the wait to end, in one or more of these ways:
//
//   - Call waker.Wake(), now or later, from any goroutine. This is how
//     event-driven waiters work: a signal keeps the wakers of the tasks
//     waiting on it and wakes them when it fires; interop.Block starts the
//     blocking call on a worker goroutine and calls Wake from there when the
//     call returns. Wake is safe for concurrent use and only the first call
//     for a given wait has an effect; a call after the wait ended (by another
//     waker, a cancellation, or because the task was closed) returns false
//     and does nothing, so a waker may be kept and called late without harm.
//     Everything the waking goroutine wrote before Wake happens before the
//     task's body continues, so a result can be handed over in a plain
//     variable written just before Wake and read after Wait returns.
//   - Ask the scheduler to wake it: [Waker.WakeAtFrame] (frame buckets),
//     [Waker.WakeAtTime] (scheduler time), or [Waker.WakeWhen] (a predicate
//     polled once per tick; the only kind of wait that costs anything while
//     it waits).
//
// A task whose wait ends resumes on the next [Scheduler.Tick]: a Wake made
// during a tick (for example by another task firing a signal) takes effect
// at the next tick, never in the current one. If the wait ends while Arm is
// still running (Arm calls Wake itself because the condition already holds),
// Wait returns at once without suspending.
//
// To learn when a wait is over — whether it was satisfied, lost to another
// branch of an Any, or abandoned because the task was cancelled or closed —
// Arm registers a function with [Waker.OnDone]. It runs on the task's
// goroutine when Wait ends or unwinds, before the body goes on. interop uses
// it to cancel the context of a blocking call whose task went away:
//
//	func (b *blocker) Arm(w costack.Waker) {
//		ctx, cancel := context.WithCancel(b.parent)
//		w.OnDone(cancel) // the task was closed or cancelled, or the call ended
//		go func() {
//			b.result, b.err = b.fn(ctx) // handed over by Wake
//			w.Wake()                     // from another goroutine: safe
//		}()
//	}
//
// Arm may also wrap a waker with [Waker.Sub] to build combinators: the
// sub-waker is armed on other waiters, and its function decides when (and
// whether) to wake the parent. Package yield's All and Any are built so.
//
// Arm and the Waker methods that register things (WakeAtFrame, WakeAtTime,
// WakeWhen, OnDone, Sub) must be called while Arm runs, on the task's
// goroutine. Wake and Pending may be called from anywhere at any time.
//
// A Waiter value may be shared by many tasks and reused for many waits
// unless its documentation says otherwise: the per-wait state lives in the
// Waker. *Task is itself a Waiter (the wait ends when the task ends).
type Waiter interface {
	// Arm starts one wait for waker's task. See the Waiter documentation.
	Arm(waker Waker)
}

// WaiterFunc adapts a function to the Waiter interface.
type WaiterFunc func(Waker)

// Arm calls f(w).
func (f WaiterFunc) Arm(w Waker) { f(w) }

// A Waker is the handle of one wait of one task, passed to [Waiter.Arm]. It
// is a small value: copy it freely, store it in lists, send it to other
// goroutines. The zero Waker is never pending and waking it does nothing.
type Waker struct {
	s   *sink
	gen uint32
	// sub is set for a sub-waker (Sub): s is then the first field of a
	// subSink; otherwise s is the sink embedded in the waiting Task.
	sub bool
}

// sink is what a Waker points at: a task's own wait (embedded in the Task)
// or a sub-wait made by Sub (the first field of a subSink). gen counts the
// waits (or wakes) of the sink: a Waker is pending while gen still has the
// value it was made with, and waking it moves gen on, so that every other
// copy of the Waker, and every Waker of an earlier wait, becomes stale.
type sink struct {
	gen atomic.Uint32
}

type subSink struct {
	sink   // first: a Waker's s points here
	task   *Task
	parent Waker
	fn     func()
}

func (w Waker) subSink() *subSink { return (*subSink)(unsafe.Pointer(w.s)) }

// taskOfSink returns the Task a task's own sink is embedded in.
func taskOfSink(s *sink) *Task {
	return (*Task)(unsafe.Add(unsafe.Pointer(s), -int(unsafe.Offsetof(Task{}.sink))))
}

// Task returns the task that is waiting.
func (w Waker) Task() *Task {
	switch {
	case w.s == nil:
		return nil
	case w.sub:
		return w.subSink().task
	}
	return taskOfSink(w.s)
}

// Pending reports whether the wait is still in progress: it was not woken,
// and (for a sub-waker) the wait it belongs to has not ended either. It is
// safe for concurrent use. Event sources that keep lists of wakers use it
// to drop the ones whose wait ended another way.
func (w Waker) Pending() bool {
	for w.s != nil {
		if w.s.gen.Load() != w.gen {
			return false
		}
		if !w.sub {
			return true
		}
		w = w.subSink().parent
	}
	return false
}

// Wake ends the wait, so that the task resumes on the next tick. It reports
// whether this call ended it: false when the wait had already ended, was
// abandoned, or the task is gone. It is safe to call from any goroutine, at
// any time, any number of times. For a sub-waker (see Sub), Wake calls the
// sub-waker's function instead of ending the parent wait directly.
func (w Waker) Wake() bool {
	if w.s == nil || !w.s.gen.CompareAndSwap(w.gen, w.gen+1) {
		return false
	}
	if w.sub {
		ss := w.subSink()
		if !ss.parent.Pending() {
			return false
		}
		ss.fn()
		return true
	}
	taskOfSink(w.s).woken()
	return true
}

// WakeAll wakes every waker in ws, as a sequence of Wake calls would, but
// with less synchronisation: use it to fire an event many tasks wait on.
func WakeAll(ws []Waker) {
	for i := 0; i < len(ws); {
		// Batch the wakers of tasks of one scheduler.
		if ws[i].s == nil || ws[i].sub {
			ws[i].Wake()
			i++
			continue
		}
		s := taskOfSink(ws[i].s).sched
		j := i + 1
		for j < len(ws) && ws[j].s != nil && !ws[j].sub && taskOfSink(ws[j].s).sched == s {
			j++
		}
		s.wakeBatch(ws[i:j])
		i = j
	}
}

// Sub returns a sub-waker of w, for combinators: waking the sub-waker (the
// first time, while w is pending) calls fn, on the goroutine that woke it,
// instead of ending w's wait. fn decides what to do, typically calling
// w.Wake(), at once (Any) or once every part is done (All). fn must be
// safe to run on any goroutine. The sub-waker is pending while it has not
// been woken and w is pending. Call Sub only while w's wait is being armed.
func (w Waker) Sub(fn func()) Waker {
	if w.s == nil {
		panic("costack: Sub of the zero Waker")
	}
	ss := &subSink{task: w.Task(), parent: w, fn: fn}
	return Waker{s: &ss.sink, sub: true}
}

// WakeAtFrame asks the scheduler to wake w at the tick that makes
// Scheduler.Frame() equal to frame, or at the next tick if that frame has
// been reached already. The scheduler files it in a frame bucket: it costs
// nothing per tick until its frame comes. Call it only while w's wait is
// being armed.
func (w Waker) WakeAtFrame(frame uint64) {
	w.task("WakeAtFrame").armFrame(w, frame)
}

// WakeAtTime asks the scheduler to wake w at the first tick at which the
// waiting task's clock (Task.Now: its group's clock, or Scheduler.Now for
// a task in no group) reads at least at, or at the next tick if it does
// already. It is scheduler time, never the wall clock: a paused group's
// clock stands still, a group's time scale speeds it up or slows it down.
// It is kept in a timer heap: it costs nothing per tick until it is due.
// Call it only while w's wait is being armed.
func (w Waker) WakeAtTime(at time.Duration) {
	w.task("WakeAtTime").armTime(w, int64(at))
}

// WakeAtRealtime asks the scheduler to wake w at the first tick that
// starts once the scheduler's Clock (the wall clock unless WithClock says
// otherwise) reads at least at: real time, which neither pauses nor time
// scales affect, for UI timers and timeouts. It is kept in a timer heap: it
// costs nothing per tick until it is due (Run sleeps until then). Call it
// only while w's wait is being armed.
func (w Waker) WakeAtRealtime(at time.Time) {
	t := w.task("WakeAtRealtime")
	t.armRealtime(w, int64(at.Sub(t.sched.epoch)))
}

// WakeWhen asks the scheduler to evaluate cond once per tick, at the start
// of the tick on the goroutine calling Tick, from the next tick on, and to
// wake w the first time it returns true. This is the one kind of wait that
// costs something on every tick; prefer events (signals, Wake) where
// possible. Call it only while w's wait is being armed.
func (w Waker) WakeWhen(cond func() bool) {
	w.task("WakeWhen").armPoll(w, cond)
}

// OnDone registers fn to run when the wait that w belongs to ends, for any
// reason: it was satisfied, lost to another branch of an Any, or the task was
// cancelled or closed (the task's body then unwinds through Wait, running
// fn and the body's deferred calls). fn runs on the task's goroutine before
// Wait returns or unwinds further, in the order of registration. Call it
// only while w's wait is being armed.
func (w Waker) OnDone(fn func()) {
	w.task("OnDone").onWaitDone(fn)
}

func (w Waker) task(op string) *Task {
	if w.s == nil {
		panic("costack: Waker." + op + " of the zero Waker")
	}
	t := w.Task()
	if st := t.state.Load(); st != stateArming && st != stateSatisfied {
		panic("costack: Waker." + op + " called outside the Arm of its wait")
	}
	return t
}

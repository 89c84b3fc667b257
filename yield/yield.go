// Package yield provides the wait instructions of a [costack.Scheduler]
// task: wait a number of frames, a span of scheduler or real time, for a
// phase of the tick, until (or while) a predicate holds, for a signal, a
// mailbox, another task, and for all or any of several of these.
//
// Each wait comes in two forms. The blocking form takes the waiting task
// and returns when the wait is over (Frames, For, ForRealtime, Until,
// While, On, Join, All, Any). The Waiter form describes the wait as a
// [costack.Waiter] value, to combine with All and Any or to pass to
// Task.Wait (InFrames, After, AfterRealtime, When, WhenNot, AllOf, AnyOf;
// a *Signal, a *Mailbox and a *costack.Task are Waiters themselves):
//
//	yield.Frames(t, 3)                                // three frames
//	i := yield.Any(t, hit, yield.After(2*time.Second)) // a signal, or a timeout
//	yield.All(t, door, yield.InFrames(30))             // both
//
// Waits are relative to the moment they are armed: yield.InFrames(3) armed
// at frame f ends at frame f+3, whenever that is. Waiter values hold no
// per-wait state and may be shared and reused; each describes itself
// (fmt.Stringer), which Task.String and Scheduler.WriteTasks show.
//
// Only Until, While, When and WhenNot are polled (once per tick, at the
// start of the tick); every other wait costs nothing per tick until it
// ends.
package yield

import (
	"fmt"
	"reflect"
	"runtime"
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

func (n frames) String() string { return fmt.Sprintf("yield.InFrames(%d)", int(n)) }

// For suspends t for d of scheduler time, never the wall clock: t runs
// again at the first tick at which t's clock (Task.Now: its group's, or
// Scheduler.Now) has advanced by at least d since the call. A paused
// group's clock stands still and a group's time scale stretches d. d <= 0
// returns at once.
func For(t *costack.Task, d time.Duration) {
	if d > 0 {
		t.Wait(after(d))
	}
}

// After is the Waiter form of For: the wait ends d of the task's clock
// after it is armed.
func After(d time.Duration) costack.Waiter { return after(d) }

type after time.Duration

func (d after) Arm(w costack.Waker) {
	if d <= 0 {
		w.Wake()
		return
	}
	w.WakeAtTime(w.Task().Now() + time.Duration(d))
}

func (d after) String() string { return "yield.After(" + time.Duration(d).String() + ")" }

// ForRealtime suspends t for d of real time, read from the scheduler's
// Clock (the wall clock unless costack.WithClock says otherwise): pauses,
// time scales and the scheduler's own time do not affect it, as Unity's
// WaitForSecondsRealtime. t runs at the first tick that starts d or more
// after the call. d <= 0 returns at once.
func ForRealtime(t *costack.Task, d time.Duration) {
	if d > 0 {
		t.Wait(afterRealtime(d))
	}
}

// AfterRealtime is the Waiter form of ForRealtime.
func AfterRealtime(d time.Duration) costack.Waiter { return afterRealtime(d) }

type afterRealtime time.Duration

func (d afterRealtime) Arm(w costack.Waker) {
	if d <= 0 {
		w.Wake()
		return
	}
	w.WakeAtRealtime(w.Task().Scheduler().Clock().Now().Add(time.Duration(d)))
}

func (d afterRealtime) String() string {
	return "yield.AfterRealtime(" + time.Duration(d).String() + ")"
}

// Until suspends t until cond returns true. cond is evaluated once when
// Until is called (if it holds, Until returns at once) and then once per
// tick, at the start of the tick, on the goroutine calling Tick; t runs in
// the first tick at whose start it holds. Until is the one kind of wait
// that costs something on every tick: prefer a Signal or a Mailbox when the
// condition has a cause that can fire one.
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

func (c when) String() string { return "yield.When(" + funcName(c) + ")" }

// While suspends t as long as cond returns true: Until of its negation,
// as Unity's WaitWhile.
func While(t *costack.Task, cond func() bool) {
	t.Wait(WhenNot(cond))
}

// WhenNot is the Waiter form of While: the wait ends once cond returns
// false.
func WhenNot(cond func() bool) costack.Waiter { return whenNot(cond) }

type whenNot func() bool

func (c whenNot) Arm(w costack.Waker) {
	if !c() {
		w.Wake()
		return
	}
	w.WakeWhen(func() bool { return !c() })
}

func (c whenNot) String() string { return "yield.WhenNot(" + funcName(c) + ")" }

// funcName names a predicate for a description: its symbol, such as
// "main.(*enemy).seesPlayer-fm" or "main.run.func3".
func funcName[F ~func() bool](f F) string {
	if fn := runtime.FuncForPC(reflect.ValueOf(f).Pointer()); fn != nil {
		return fn.Name()
	}
	return "?"
}

// Phase suspends t until the next occurrence of phase p of the tick: later
// in this tick if p is still to come, else in the next tick (see
// costack.Task.YieldTo). Phase(t, costack.EndOfFrame) is Unity's
// WaitForEndOfFrame; Phase(t, costack.FixedUpdate) its WaitForFixedUpdate.
func Phase(t *costack.Task, p costack.Phase) { t.YieldTo(p) }

package costack

import (
	"sync/atomic"
	"unsafe"

	"github.com/costack-dev/costack/internal/running"
	"github.com/costack-dev/costack/sharedstack"
)

// A Task is one coroutine run by a [Scheduler]: a game entity's behaviour,
// an actor, a script. Its body is a plain function that waits with
// [Task.Yield] and [Task.Wait] (and the helpers of package yield); between
// waits it runs uninterrupted, on a goroutine of the scheduler.
//
// The methods Yield, Wait and Apply are for the task's own body. Done, Err,
// Cancel and Scheduler may be called from anywhere. *Task is also a
// [Waiter]: waiting on a task ends when that task ends.
type Task struct {
	// c is the coroutine. It is a named field, not embedded, so that the
	// methods of running.Co are not promoted into Task's API. It must stay
	// the first field: currentTask finds the Task from its running.Co.
	c     core
	sched *Scheduler
	// w is the worker running the task in the current tick.
	w    *worker
	body func(t *Task)
	// sink is the task's own wait; its gen identifies the current wait.
	sink sink
	// state is stateRunning, stateArming, stateSatisfied or stateWaiting.
	state atomic.Uint32
	// idx is the task's position in the scheduler's registry.
	idx   int32
	flags taskFlags
	// endFrame is the frame in which the task ended (its low 32 bits: a
	// join compares it with the current frame); written before done.
	endFrame uint32
	// extra is allocated on first need, under sched.mu.
	extra atomic.Pointer[taskExtra]
}

// taskFlags are the task's atomic flags.
type taskFlags struct{ v atomic.Uint32 }

const (
	flagCancelled uint32 = 1 << iota
	flagDone
	// flagQueued is set while the task is on a ready list, so that it is
	// never on two (a Cancel can race with the wake or Yield that queued
	// it).
	flagQueued
)

func (f *taskFlags) has(b uint32) bool { return f.v.Load()&b != 0 }

// set sets b and reports whether it was set already.
func (f *taskFlags) set(b uint32) (was bool) { return f.v.Or(b)&b != 0 }

func (f *taskFlags) clear(b uint32) { f.v.And(^b) }

// taskExtra holds what most tasks never need.
type taskExtra struct {
	err     error    // set before done
	joiners []Waker  // under sched.mu
	onDone  []func() // the task's goroutine only
}

const (
	stateRunning   uint32 = iota // not in a wait
	stateArming                  // Wait is calling Arm
	stateSatisfied               // woken while arming: Wait does not suspend
	stateWaiting                 // suspended in Wait
)

// taskTag marks the running.Co of a Task.
const taskTag = 1

// CurrentTask returns the task whose body is calling, or nil when the
// caller is not a task body (or is a coroutine that a task body resumed).
// Waiters and event sources use it to find the scheduler they run in, e.g.
// to defer an effect to the end of the tick with Apply.
func CurrentTask() *Task { return currentTask() }

func currentTask() *Task {
	c := running.Current()
	if c == nil || c.Tag != taskTag {
		return nil
	}
	// c is t.c.Co of a Task, whose first field is t.c.
	return (*Task)(unsafe.Add(unsafe.Pointer(c), -int(unsafe.Offsetof(core{}.Co))))
}

// extLocked returns t's extra state, allocating it; sched.mu is held.
func (t *Task) extLocked() *taskExtra {
	x := t.extra.Load()
	if x == nil {
		x = new(taskExtra)
		t.extra.Store(x)
	}
	return x
}

// taskBody is a Task as the engine sees it (sharedstack.Body), without
// adding Run and Ended to Task's API.
type taskBody Task

func (b *taskBody) Started() { b.c.BodyStarted() }

// CheckYield and Resumed are Task's own business (Task.Yield, Task.Wait).
func (b *taskBody) CheckYield() {}
func (b *taskBody) Resumed()    {}

func (b *taskBody) Run() {
	t := (*Task)(b)
	t.body(t)
}

func (b *taskBody) Ended() { b.c.Ended() }

// suspend gives control back to the worker running the task.
func (t *Task) suspend() {
	if t.c.co.Yield() {
		t.c.co.Unwind()
	}
}

// Yield suspends the task until the next tick. It must be called by the
// task's own body. Yield is the cheapest wait: it costs an append.
func (t *Task) Yield() {
	t.c.CheckYield()
	if !t.flags.has(flagCancelled) && !t.flags.set(flagQueued) {
		w := t.w
		w.next = append(w.next, t)
	}
	// A cancelled task is closed by its worker as soon as it suspends.
	t.suspend()
}

// Wait suspends the task until waiter's condition holds (see [Waiter] for
// how waiters end a wait); the task then resumes on the next tick, or at
// once if the condition held while the wait was being armed. It must be
// called by the task's own body. If the task is cancelled or closed while it
// waits, Wait does not return: the body unwinds, running its deferred calls.
func (t *Task) Wait(waiter Waiter) {
	t.c.CheckYield()
	if t.flags.has(flagCancelled) {
		t.suspend() // closed by the worker; does not return
	}
	gen := t.sink.gen.Load()
	t.state.Store(stateArming)
	waiter.Arm(Waker{s: &t.sink, gen: gen})
	// No defer here (a yield with a pending defer record is costlier for
	// the engine): endWait runs on both ways out, return and unwind.
	if t.state.CompareAndSwap(stateArming, stateWaiting) || t.flags.has(flagCancelled) {
		// A cancelled task is closed by its worker as soon as it suspends.
		if t.c.co.Yield() {
			t.endWait(gen)
			t.c.co.Unwind()
		}
	}
	t.endWait(gen)
}

// endWait ends the wait with generation gen, however it ended: it makes
// every Waker of the wait stale and runs the OnDone functions.
func (t *Task) endWait(gen uint32) {
	t.sink.gen.CompareAndSwap(gen, gen+1)
	t.state.Store(stateRunning)
	if x := t.extra.Load(); x != nil && len(x.onDone) > 0 {
		fns := x.onDone
		x.onDone = nil
		for _, fn := range fns {
			fn()
		}
	}
}

func (t *Task) onWaitDone(fn func()) {
	t.sched.mu.Lock()
	x := t.extLocked()
	t.sched.mu.Unlock()
	x.onDone = append(x.onDone, fn)
}

// woken is called once the gen of the task's own wait has been moved on by
// a Wake: the wait is over.
func (t *Task) woken() {
	if t.state.CompareAndSwap(stateArming, stateSatisfied) {
		return
	}
	if !t.flags.set(flagQueued) {
		t.sched.enqueue(t)
	}
}

// Arm makes *Task a Waiter: the wait ends when t ends (returns, panics, is
// cancelled or closed). Waiting on a task that ended before the current tick
// does not suspend; a task that ends during the current tick (whether
// before or after the wait is armed) ends the wait at the next tick. So the
// frame a join ends in does not depend on the order tasks run in, nor on
// the number of workers.
func (t *Task) Arm(w Waker) {
	s := t.sched
	s.mu.Lock()
	if t.flags.has(flagDone) {
		s.mu.Unlock()
		if s.ticking.Load() && t.endFrame == uint32(s.frame) && w.Task() != nil && w.Task().sched == s {
			w.WakeAtFrame(s.frame + 1)
			return
		}
		w.Wake()
		return
	}
	x := t.extLocked()
	// Drop joiners whose wait ended another way, so that a task waited on
	// with timeouts again and again does not grow its list forever.
	if len(x.joiners) >= 8 && len(x.joiners) == cap(x.joiners) {
		x.joiners = compactWakers(x.joiners)
	}
	x.joiners = append(x.joiners, w)
	s.mu.Unlock()
}

// compactWakers removes the wakers that are no longer pending, in place.
func compactWakers(ws []Waker) []Waker {
	kept := ws[:0]
	for _, w := range ws {
		if w.Pending() {
			kept = append(kept, w)
		}
	}
	clear(ws[len(kept):])
	return kept
}

// Done reports whether the task has ended: its body returned or panicked,
// or it was cancelled or closed. It is safe for concurrent use.
func (t *Task) Done() bool { return t.flags.has(flagDone) }

// Err returns nil while the task runs and after it returned, was cancelled
// or closed; after its body (or a deferred call run while closing it)
// panicked, a *PanicError. Read it once Done reports true.
func (t *Task) Err() error {
	x := t.extra.Load()
	if !t.flags.has(flagDone) || x == nil {
		return nil
	}
	return x.err
}

// Cancel asks for the task to be closed at the next opportunity: if it is
// waiting, at the next tick; if it is running (it cancelled itself, or
// another goroutine did), as soon as it next yields or waits; if it has not
// started, at the next tick, without its body ever running. Closing unwinds
// the body through its pending Wait or Yield, running its deferred calls.
// Cancel is safe for concurrent use; cancelling an ended task does nothing.
func (t *Task) Cancel() {
	if t.flags.has(flagDone) || t.flags.set(flagCancelled) {
		return
	}
	// End the current wait, if any, so that the task is queued.
	gen := t.sink.gen.Load()
	if t.sink.gen.CompareAndSwap(gen, gen+1) {
		t.woken()
	}
}

// Scheduler returns the scheduler running the task.
func (t *Task) Scheduler() *Scheduler { return t.sched }

// Apply defers fn to the end of the current tick: fn runs on the goroutine
// calling Tick after every task of the tick has yielded or ended, in the
// order the Apply calls would have been made with one worker. It is how a
// task body changes state it shares with other tasks when the scheduler
// runs several workers; with one worker it is merely deferred. It must be
// called by the task's own body.
func (t *Task) Apply(fn func()) {
	if currentTask() != t {
		panic("costack: Task.Apply called outside the task's own body")
	}
	t.w.applies = append(t.w.applies, fn)
}

// armFrame, armTime and armPoll file a waker with the worker running the
// task; the scheduler takes them over at the end of the tick.
func (t *Task) armFrame(w Waker, frame uint64) {
	t.w.frames = append(t.w.frames, timer{at: int64(frame), w: w})
}

func (t *Task) armTime(w Waker, at int64) {
	t.w.times = append(t.w.times, timer{at: at, w: w})
}

func (t *Task) armPoll(w Waker, cond func() bool) {
	t.w.polls = append(t.w.polls, poll{w: w, cond: cond})
}

// resumeOn runs the task on worker w until it suspends or ends; a cancelled
// task is closed instead.
func (t *Task) resumeOn(w *worker) {
	t.flags.clear(flagQueued)
	if t.flags.has(flagDone) {
		return // woken from another goroutine as it ended
	}
	t.w = w
	if !t.flags.has(flagCancelled) {
		outcome, p := t.c.resume()
		if outcome == sharedstack.NoStack {
			// The task's frames do not fit in the worker's stack: it
			// cannot run again. It ends with the error; what the engine
			// holds for it is freed with it, its deferred calls do not
			// run.
			t.finish(&sharedstack.Panic{Value: stackLimitError(&t.c.co)})
			return
		}
		if outcome != sharedstack.Yielded {
			t.finish(p)
			return
		}
		if !t.flags.has(flagCancelled) {
			return
		}
	}
	t.closeNow()
}

// closeNow closes a suspended (or never started) task on the calling
// goroutine.
func (t *Task) closeNow() {
	o, p := t.c.close()
	if o == sharedstack.NoStack {
		p = &sharedstack.Panic{Value: stackLimitError(&t.c.co)}
	}
	t.finish(p)
}

// finish records the end of the task and wakes the tasks waiting for it.
func (t *Task) finish(p *sharedstack.Panic) {
	t.body = nil
	s := t.sched
	s.mu.Lock()
	if p != nil {
		t.extLocked().err = panicError(p)
	}
	t.endFrame = uint32(s.frame)
	t.flags.set(flagDone)
	var joiners []Waker
	if x := t.extra.Load(); x != nil {
		joiners, x.joiners = x.joiners, nil
	}
	s.unregisterLocked(t)
	s.mu.Unlock()
	s.live.Add(-1)
	WakeAll(joiners)
}

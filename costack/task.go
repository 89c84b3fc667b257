package costack

import (
	"context"
	"errors"
	"runtime/pprof"
	"sync/atomic"
	"time"

	"github.com/costack-dev/costack/internal/engine"
)

// A Task is one coroutine run by a [Scheduler]: a game entity's behaviour,
// an actor, a script, a connection's handler. Its body is a plain function
// that waits with [Task.Yield], [Task.YieldTo] and [Task.Wait] (and the
// helpers of package yield); between waits it runs uninterrupted, on a
// goroutine of the scheduler.
//
// Tasks form a tree: a task started by a task body is its child (unless
// started Detached), and cancelling a task cancels its descendants, which
// are closed before it, innermost first. A task that returns leaves its
// children running: they pass to its parent.
//
// The methods Yield, YieldTo, Wait and Apply are for the task's own body.
// Done, Err, Cancel, Context, String and Scheduler may be called from
// anywhere. *Task is also a [Waiter]: waiting on a task ends when that task
// ends.
type Task struct {
	// c is the coroutine. It is a named field, not embedded, so that the
	// methods of core are not promoted into Task's API. It must stay the
	// first field: the Task is the owner of its engine coroutine
	// (engine.Coroutine.InitOwned), and currentTask finds it as the
	// engine's current Body.
	c core
	// The fields the inner loop touches (w, flags, phase) follow c, in the
	// same cache lines as the coroutine's hot state.

	// flags: see flagCancelled and the rest. A task with none set takes
	// the fast path of worker.runAll.
	flags atomic.Uint32
	// state is stateRunning, stateArming, stateSatisfied or stateWaiting.
	state atomic.Uint32
	// phase is the task's home phase, as a phase order.
	phase uint8
	// target is where the task goes when it suspends outside a wait (see
	// worker.queueYielded), written by its body just before.
	target uint8
	// w is the worker running the task in the current phase.
	w     *worker
	sched *Scheduler
	body  func(t *Task)
	// sink is the task's own wait: its gen is odd while the task is in a
	// wait (between Wait's start and the end of that wait), and each Waker
	// holds the gen of its wait.
	sink sink
	// endFrame is the frame in which the task ended (its low 32 bits: a
	// join compares it with the current frame); written before flagDone.
	endFrame uint32
	// group is the task's group, fixed at Go.
	group *Group
	// parent is the task's parent in the task tree, under sched.mu.
	parent *Task
	// extra is allocated on first need, under sched.mu.
	extra atomic.Pointer[taskExtra]
	// waitingOn is the Waiter of the current wait, for String; written by
	// the body, read where no body runs (see Task.String).
	waitingOn Waiter
	id        uint64
}

// Task flags. flagDone duplicates the coroutine's Dead status, which is
// not safe to read from other goroutines; the others are the scheduler's.
const (
	flagCancelled uint32 = 1 << iota
	flagDone
	// flagPaused: the task's group is paused (set on every member).
	flagPaused
	// flagHeld: the task is on its group's held list (under sched.mu).
	flagHeld
	// flagLabels: the task has pprof labels, set around its resumes.
	flagLabels
)

// taskExtra holds what most tasks never need.
type taskExtra struct {
	err          error    // set before done
	joiners      []Waker  // under sched.mu
	onDone       []func() // the task's goroutine only
	children     []*Task  // under sched.mu; may hold ended ones
	liveChildren int
	ctx          context.Context // Context, once asked for
	cancel       context.CancelCauseFunc
	name         string
	labels       []string        // label pairs given with Labels
	profCtx      context.Context // pprof labels: task=name and labels
}

func (x *taskExtra) setLabels(name string, labels []string, profile bool) {
	x.name, x.labels = name, labels
	if !profile {
		return
	}
	kv := labels
	if name != "" {
		kv = append([]string{"task", name}, labels...)
	}
	x.profCtx = pprof.WithLabels(context.Background(), pprof.Labels(kv...))
}

const (
	stateRunning   uint32 = iota // not in a wait
	stateArming                  // Wait is calling Arm
	stateSatisfied               // woken while arming: Wait does not suspend
	stateWaiting                 // suspended in Wait
)

var (
	// ErrCancelled is the cause of a task's Context once the task was
	// cancelled or closed, and the error TaskOf.Result returns for a task
	// that ended so without returning.
	ErrCancelled = errors.New("costack: task cancelled")
	// ErrNotDone is the error TaskOf.Result returns before the task ended.
	ErrNotDone = errors.New("costack: task has not ended")
	// errEnded is the cause of a task's Context once the task ended.
	errEnded = errors.New("costack: task ended")
)

// CurrentTask returns the task whose body is calling, or nil when the
// caller is not a task body (or is a coroutine that a task body resumed).
// Waiters and event sources use it to find the scheduler they run in, e.g.
// to defer an effect to the end of the tick with Apply.
func CurrentTask() *Task { return currentTask() }

func currentTask() *Task {
	b, _ := engine.Current().(*taskBody)
	return (*Task)(b)
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

// taskBody is a Task as the engine sees it (engine.Body), without
// adding Run and Started to Task's API.
type taskBody Task

func (b *taskBody) Started() {
	// On the portable engine the body has a goroutine of its own: label
	// it once (worker.runAll labels the worker, which runs the body on the
	// native engine).
	if b.flags.Load()&flagLabels != 0 {
		pprof.SetGoroutineLabels(b.extra.Load().profCtx)
	}
}

func (b *taskBody) Run() {
	t := (*Task)(b)
	t.body(t)
}

// checkBody panics unless the caller is t's body, on the goroutine running
// it: before anything of a worker is touched.
func (t *Task) checkBody() {
	t.c.co.CheckYield()
	if !t.c.co.IsCurrent() {
		panic("costack: Task.Yield or Task.Wait from another goroutine than the task's body")
	}
}

// suspend gives control back to the worker running the task.
func (t *Task) suspend() {
	if t.c.co.Yield() {
		t.c.co.Unwind()
	}
}

// Yield suspends the task until the next tick, where it resumes in its
// home phase. It must be called by the task's own body. Yield is the
// cheapest wait: it is small enough to be inlined into the body, so that
// no frame of it is in the suspended image, and the worker queues the task
// once it has suspended.
func (t *Task) Yield() {
	t.target = t.phase
	// The engine calls taskBody.CheckYield, checks the goroutine, and
	// unwinds a closed body from here.
	engine.YieldOrUnwind(&t.c.co)
}

// Wait suspends the task until waiter's condition holds (see [Waiter] for
// how waiters end a wait); the task then resumes on the next tick in its
// home phase, or at once if the condition held while the wait was being
// armed. It must be called by the task's own body. If the task is cancelled
// or closed while it waits, Wait does not return: the body unwinds, running
// its deferred calls.
func (t *Task) Wait(waiter Waiter) {
	t.checkBody()
	if t.flags.Load()&flagCancelled != 0 {
		t.suspend() // closed by the worker; does not return
	}
	gen := t.sink.gen.Add(1) // odd: in a wait
	t.state.Store(stateArming)
	t.waitingOn = waiter
	waiter.Arm(Waker{s: &t.sink, gen: gen})
	// No defer here (a yield with a pending defer record is costlier for
	// the engine): endWait runs on both ways out, return and unwind.
	if t.state.CompareAndSwap(stateArming, stateWaiting) || t.flags.Load()&flagCancelled != 0 {
		// A cancelled task is closed by its worker as soon as it suspends.
		if t.c.co.Yield() {
			t.endWait(gen)
			t.c.co.Unwind()
		}
	}
	t.endWait(gen)
}

// endWait ends the wait with generation gen, however it ended: it makes
// every Waker of the wait stale (gen even again) and runs the OnDone
// functions.
func (t *Task) endWait(gen uint32) {
	t.sink.gen.CompareAndSwap(gen, gen+1)
	t.state.Store(stateRunning)
	t.waitingOn = nil
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
// a Wake: the wait is over. Only the party whose compare-and-swap moved it
// calls woken, once per wait, so a task is never queued twice.
func (t *Task) woken() {
	if t.state.CompareAndSwap(stateArming, stateSatisfied) {
		return
	}
	t.sched.enqueue(t)
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
	if t.flags.Load()&flagDone != 0 {
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
func (t *Task) Done() bool { return t.flags.Load()&flagDone != 0 }

// Cancelled reports whether the task was cancelled (by Cancel, its own or
// an ancestor's, or its group's). It is safe for concurrent use.
func (t *Task) Cancelled() bool { return t.flags.Load()&flagCancelled != 0 }

// Err returns nil while the task runs and after it returned, was cancelled
// or closed; after its body (or a deferred call run while closing it)
// panicked, a *PanicError; for a task of GoResult, the error its body
// returned. Read it once Done reports true.
func (t *Task) Err() error {
	x := t.extra.Load()
	if t.flags.Load()&flagDone == 0 || x == nil {
		return nil
	}
	return x.err
}

// setErr records the error the body returned (GoResult), before it ends.
func (t *Task) setErr(err error) {
	t.sched.mu.Lock()
	t.extLocked().err = err
	t.sched.mu.Unlock()
}

// Context returns a context that is done once the task is cancelled or
// ends, whichever comes first; its cause (context.Cause) is ErrCancelled
// for a cancelled or closed task. Pass it to calls that should stop when
// the task does: interop.Block passes it on to its blocking calls. It is
// allocated on first use and safe for concurrent use.
func (t *Task) Context() context.Context {
	s := t.sched
	s.mu.Lock()
	defer s.mu.Unlock()
	x := t.extLocked()
	if x.ctx == nil {
		x.ctx, x.cancel = context.WithCancelCause(context.Background())
		switch f := t.flags.Load(); {
		case f&flagCancelled != 0:
			x.cancel(ErrCancelled)
		case f&flagDone != 0:
			x.cancel(errEnded)
		}
	}
	return x.ctx
}

// Cancel asks for the task and its descendants to be closed at the next
// opportunity: if it is waiting, at the next tick; if it is running (it
// cancelled itself, or another goroutine did), as soon as it next yields or
// waits; if it has not started, at the next tick, without its body ever
// running; if its group is paused, at the next tick all the same. Closing
// unwinds the body through its pending Wait or Yield, running its deferred
// calls; a task's live descendants are closed before it, innermost first.
// The tasks' contexts are done at once. Cancel is safe for concurrent use;
// cancelling an ended or cancelled task does nothing.
func (t *Task) Cancel() {
	if t.flags.Load()&(flagDone|flagCancelled) != 0 {
		return
	}
	s := t.sched
	s.mu.Lock()
	tree := t.markCancelledLocked(nil)
	var cancels []context.CancelCauseFunc
	requeued := false
	for _, k := range tree {
		x := k.extra.Load()
		if x != nil && x.cancel != nil {
			cancels = append(cancels, x.cancel)
		}
		if k.flags.Load()&flagHeld != 0 {
			// Parked by its paused group: back on a ready list, to be
			// closed there.
			k.flags.And(^flagHeld)
			s.next[k.phase] = append(s.next[k.phase], k)
			requeued = true
		}
	}
	interrupt := requeued && s.wakeRunLocked()
	s.mu.Unlock()
	if interrupt {
		s.src.Interrupt()
	}
	for _, c := range cancels {
		c(ErrCancelled)
	}
	// End the current wait of each, if any, so that it is queued. Only an
	// odd gen is a wait in progress: a task that is running or already
	// queued is closed by its worker once it suspends.
	for _, k := range tree {
		if gen := k.sink.gen.Load(); gen&1 == 1 && k.sink.gen.CompareAndSwap(gen, gen+1) {
			k.woken()
		}
	}
}

// markCancelledLocked flags t and its live descendants that are not
// cancelled yet, and appends them to tree, parents first; sched.mu is
// held.
func (t *Task) markCancelledLocked(tree []*Task) []*Task {
	if t.flags.Load()&(flagDone|flagCancelled) != 0 {
		return tree
	}
	t.flags.Or(flagCancelled)
	tree = append(tree, t)
	if x := t.extra.Load(); x != nil && x.liveChildren > 0 {
		for _, c := range x.children {
			tree = c.markCancelledLocked(tree)
		}
	}
	return tree
}

// Scheduler returns the scheduler running the task.
func (t *Task) Scheduler() *Scheduler { return t.sched }

// Group returns the task's group, or nil.
func (t *Task) Group() *Group { return t.group }

// Now returns the time on the task's clock: its group's (see Group.Now),
// or, for a task in no group, the scheduler's Now. Time waits of the task
// (yield.For, Waker.WakeAtTime) are measured on it.
func (t *Task) Now() time.Duration {
	if g := t.group; g != nil {
		return g.nowAt(t.sched.now)
	}
	return t.sched.now
}

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

// armFrame, armTime, armRealtime and armPoll file a waker with the worker
// running the task; the scheduler takes them over at the end of the phase.
func (t *Task) armFrame(w Waker, frame uint64) {
	t.w.frames = append(t.w.frames, timer{at: int64(frame), w: w})
}

func (t *Task) armTime(w Waker, at int64) {
	t.w.times = append(t.w.times, timer{at: at, w: w})
}

func (t *Task) armRealtime(w Waker, at int64) {
	t.w.realtimes = append(t.w.realtimes, timer{at: at, w: w})
}

func (t *Task) armPoll(w Waker, cond func() bool) {
	t.w.polls = append(t.w.polls, poll{w: w, cond: cond})
}

// step resumes the task once and deals with how the resume ended.
func (t *Task) step() {
	outcome, p := t.c.resume()
	t.resumed(outcome, p)
}

// resumed deals with how a resume ended. A task that suspended in a wait
// is queued by whoever ends the wait; one that yielded is queued here, on
// its worker: by then it is suspended, so no other party can queue it
// (Cancel only flags a task not in a wait), and the append needs no atomic
// operation.
func (t *Task) resumed(outcome engine.Outcome, p *engine.Panic) {
	switch outcome {
	case engine.Yielded:
	case engine.NoStack:
		// The task's frames do not fit in the worker's stack: it cannot
		// run again. It ends with the error; what the engine holds for it
		// is freed with it, its deferred calls do not run.
		t.finish(&engine.Panic{Value: stackLimitError(&t.c.co)})
		return
	default:
		t.finish(p)
		return
	}
	if t.flags.Load()&flagCancelled != 0 {
		t.closeCancelled()
		return
	}
	if t.state.Load() != stateRunning {
		return // in a wait
	}
	t.w.queueYielded(t)
}

// resumeFlagged is worker.runAll's path for a task with flags: ended (woken from
// another goroutine as it ended, or closed while queued), cancelled or
// paused. (Labels alone take runAll's fast path.)
func (t *Task) resumeFlagged(w *worker, f uint32) {
	switch {
	case f&flagDone != 0:
		return
	case f&flagCancelled != 0:
		t.w = w
		t.closeCancelled()
		return
	case f&flagPaused != 0:
		w.held = append(w.held, t)
		return
	}
	t.w = w
	t.step()
}

// closeCancelled closes a cancelled, suspended task on its worker, unless
// it has live children: they must be closed first, so the tree is closed
// at the end of the phase, where no body runs (Scheduler.merge).
func (t *Task) closeCancelled() {
	s := t.sched
	s.mu.Lock()
	x := t.extra.Load()
	hasChildren := x != nil && x.liveChildren > 0
	s.mu.Unlock()
	if hasChildren {
		t.w.closing = append(t.w.closing, t)
		return
	}
	t.closeNow()
}

// closeNow closes a suspended (or never started) task on the calling
// goroutine.
func (t *Task) closeNow() {
	o, p := t.c.close()
	if o == engine.NoStack {
		p = &engine.Panic{Value: stackLimitError(&t.c.co)}
	}
	t.finish(p)
}

// finish records the end of the task, takes it out of the task tree and
// its group, and wakes the tasks waiting for it.
func (t *Task) finish(p *engine.Panic) {
	t.body = nil
	t.waitingOn = nil
	s := t.sched
	s.mu.Lock()
	x := t.extra.Load()
	if p != nil {
		x = t.extLocked()
		x.err = panicError(p)
	}
	t.endFrame = uint32(s.frame)
	t.flags.Or(flagDone)
	var joiners []Waker
	var cancel context.CancelCauseFunc
	if x != nil {
		joiners, x.joiners = x.joiners, nil
		cancel = x.cancel
	}
	s.unlinkLocked(t)
	s.mu.Unlock()
	s.live.Add(-1)
	if cancel != nil {
		if t.flags.Load()&flagCancelled != 0 {
			cancel(ErrCancelled)
		} else {
			cancel(errEnded)
		}
	}
	WakeAll(joiners)
	if s.onEnd != nil || p != nil {
		t.w.ended = append(t.w.ended, t)
	}
}

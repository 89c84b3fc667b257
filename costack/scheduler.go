package costack

import (
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/costack-dev/costack/internal/gls"
)

// A Scheduler runs many [Task]s in frames, the way a game loop runs its
// entities: the loop calls [Scheduler.Tick] once per frame, and each Tick
// resumes every task whose wait is satisfied, once per phase it waits for,
// and returns when all of them have yielded or ended. A server with no frame
// rate calls [Scheduler.Run] instead, which ticks whenever a task is ready.
//
// # Phases
//
// A tick runs its tasks in phases, in this order: [FixedUpdate] zero or
// more times (one per fixed step of scheduler time accumulated, see
// FixedStep), then [Update], [LateUpdate] and [EndOfFrame]. A task resumes
// in its home phase (Update unless it was started with InPhase) after
// Yield and after any wait; [Task.YieldTo] suspends it until the next
// occurrence of a given phase, later in this tick if that phase is still
// to come, else in the next tick.
//
// # Time
//
// The scheduler keeps its own clock: Frame counts ticks and Now is the sum
// of their durations (FrameDuration per Tick, or d per TickDt(d)). Waits on
// time use this clock, never the wall clock, so a simulation runs the same
// whether it is paused, slowed down, or run faster than real time. A
// task in a [Group] waits on its group's clock instead, which stops while
// the group is paused and runs at the group's time scale. Real-time waits
// (Waker.WakeAtRealtime) read the scheduler's [Clock] (the wall clock
// unless WithClock says otherwise) and ignore pauses and time scales. In
// [Scheduler.Run], each tick advances Now by the real time elapsed, read
// from the Clock.
//
// # Cost
//
// A waiting task costs nothing per tick until its wait can end: Yield puts
// the task on next tick's list, frame waits go into a wheel of frame buckets
// (and a heap for waits further than a few seconds ahead), time and
// real-time waits into heaps (one per group with time waits), and event
// waits (signals, mailboxes, other tasks, Wake from other goroutines) are
// found through the event. Predicates (Waker.WakeWhen, yield.Until) are the
// exception: they are evaluated once per tick. A tick's own cost beyond the
// resumes is a few list operations per phase and per worker, plus one
// check per group with time waits; pausing, resuming or cancelling a group
// costs time proportional to its size.
//
// # Order
//
// With one worker, resumption order is deterministic. Within each phase,
// a tick resumes, in this order: the tasks made ready for it during the
// previous tick or phase by task bodies — by yielding, by Go, by waking
// them (Wake, a task they joined ending) — in the order of those calls;
// then those woken at the end of the previous tick by Apply functions
// (signals fired by bodies) and, between ticks, by the game loop, in the
// order of the wakes; then, for the home phase, the tasks of groups
// resumed since the previous tick, and the waits that are due at the start
// of the tick: frame waits (in the order they were armed), time waits
// (earliest deadline first, ties in a fixed order; the scheduler's, then
// each group's in the order the groups got their first time wait),
// real-time waits (likewise) and the predicates that now hold (in the order
// they were armed). Only wakes from other goroutines (such as
// interop.Block's) make the order depend on timing.
//
// # Workers
//
// With Workers(n), n > 1, each phase's ready tasks are split into n
// contiguous parts, one per worker goroutine (the goroutine calling Tick is
// one of them), each of which is one shared stack. Task bodies then run in
// parallel, so a body may touch only its own entity and values no other task
// touches in the same phase; anything shared goes through [Task.Apply]
// (deferred to the end of the tick and run in a fixed order), channels,
// mailboxes, or other synchronisation. The scheduler itself — Go, Wait,
// Wake, Cancel, groups, the waits and signals of package yield — is safe to
// use from bodies on any worker. What the tasks of a worker yield, arm,
// start or wake is collected per worker and merged in worker order at the
// end of each phase; a join on a task that ends during the tick, and a
// signal fired by a body, take effect at the end of the tick. So every task
// runs in the same frames and phases whatever the number of workers, and
// when bodies touch only their own entities (and share through Apply), the
// results are the same too: a simulation is deterministic for a given
// seed. The order within a phase is that of one worker, except among tasks
// woken by a task of another worker.
//
// # Goroutines
//
// Tick, TickDt, Run and Close must be called from one goroutine at a time,
// and not from a task body or an Apply function. Frame, Now and FixedStep
// may be called from task bodies and from the goroutine calling Tick; Go,
// Len, WriteTasks, Task.Cancel, Task.Done, Task.Context, Task.String, the
// methods of Group but Now, and Waker.Wake from any goroutine (a task made
// ready from another goroutine interrupts Run's sleep).
//
// Task bodies run on the worker goroutines (or, on the portable engine, on
// goroutines of their own that run only while a worker waits for them), so
// runtime.Goexit in a body — t.FailNow in a test — ends a worker: do not.
// A panic in a body ends its task (see Task.Err and OnTaskEnd); a panic in
// an Apply function, a WakeWhen predicate or an OnTaskEnd function
// propagates out of Tick.
type Scheduler struct {
	frameDur  time.Duration
	fixedStep time.Duration
	maxFixed  int
	nworkers  int
	clock     Clock
	src       EventSource
	onEnd     func(t *Task, err error)
	labels    bool // ProfileLabels
	// epoch is the Clock's time at NewScheduler: real-time waits are kept
	// as offsets from it.
	epoch time.Time

	// Written by the goroutine driving the scheduler, between phases.
	frame    uint64
	now      time.Duration
	fixedAcc time.Duration
	// drive is held by Tick, Run and Close for their duration, so that no
	// two of them overlap; ticking is set while a tick runs (and during
	// Close, whose deferred calls may start tasks as bodies do).
	drive   atomic.Bool
	ticking atomic.Bool
	closed  bool
	// tickMu is held for each tick and by Close: what reads the state of
	// suspended tasks from another goroutine (WriteTasks, Task.String)
	// takes it to know that no body runs.
	tickMu sync.Mutex
	// serialG is the goroutine driving the scheduler while it runs code
	// outside the parallel part of a tick (Apply functions, OnTaskEnd,
	// closing task trees), or 0.
	serialG atomic.Uintptr

	// mu guards next, the task tree (roots, the children of tasks, their
	// parents), the members and held lists of groups, the joiner lists of
	// tasks, groupChanges, nextID, sleeping and sleeper.
	mu sync.Mutex
	// next holds the tasks ready for each phase of the next tick, by
	// phase order (see phaseOrder).
	next      [numPhases][]*Task
	roots     []*Task // tasks with no live parent; may hold ended ones
	liveRoots int
	// groupChanges lists the groups whose Pause, Resume or SetTimeScale
	// takes effect at the start of the next tick.
	groupChanges []*Group
	nextID       uint64
	live         atomic.Int64
	// sleeping is set while Run sleeps in src, on goroutine sleeper (see
	// wakeRunLocked).
	sleeping bool
	sleeper  uintptr

	// The rest belongs to the goroutine driving the scheduler.

	// cur holds the tasks ready for each phase of the current tick;
	// fixedAgain those that wait for the next fixed step of this tick.
	cur         [numPhases][]*Task
	fixedAgain  []*Task
	wheel       [wheelSize][]Waker
	far         timerHeap // frame waits beyond the wheel
	times       timerHeap // time waits of tasks in no group
	realtimes   timerHeap // real-time waits, in ns since epoch
	timedGroups []*Group  // groups with time waits
	polls       []poll
	fire        []Waker

	workers []*worker
	started bool
	tickWG  sync.WaitGroup
	exitWG  sync.WaitGroup
}

// A SchedulerOption configures a Scheduler.
type SchedulerOption func(*Scheduler)

// Workers sets the number of worker goroutines running each phase's tasks
// (default 1: they all run on the goroutine calling Tick). See the
// Scheduler documentation for what task bodies may touch when n > 1.
func Workers(n int) SchedulerOption {
	if n < 1 {
		panic("costack: Workers(n) with n < 1")
	}
	return func(s *Scheduler) { s.nworkers = n }
}

// FrameDuration sets the scheduler time one Tick advances (default 1/60 s).
func FrameDuration(d time.Duration) SchedulerOption {
	if d < 0 {
		panic("costack: negative FrameDuration")
	}
	return func(s *Scheduler) { s.frameDur = d }
}

// FixedStep sets the step of the FixedUpdate phase (default: the frame
// duration) and the most steps one tick runs (default 8). Each tick adds
// its duration to an accumulator and runs FixedUpdate once per whole step
// in it, as Unity's fixed timestep and Ebitengine's fixed TPS do; when a
// long tick would need more than maxPerTick steps, the extra whole steps
// are dropped (the simulation slows down rather than spiralling).
func FixedStep(step time.Duration, maxPerTick int) SchedulerOption {
	if step <= 0 || maxPerTick < 1 {
		panic("costack: FixedStep needs step > 0 and maxPerTick >= 1")
	}
	return func(s *Scheduler) { s.fixedStep, s.maxFixed = step, maxPerTick }
}

// OnTaskEnd registers fn to be called once for every task that ends
// (returns, panics, is cancelled or closed), with the task and its Err, on
// the goroutine driving the scheduler: at the end of the phase the task
// ended in, in the order tasks ended (with one worker), or in Close. It is
// how a program learns of task failures without polling Task.Err. Without
// it, a task that panics is logged (log.Printf, with its stack); with it,
// nothing is logged.
func OnTaskEnd(fn func(t *Task, err error)) SchedulerOption {
	return func(s *Scheduler) { s.onEnd = fn }
}

// ProfileLabels makes the scheduler label the goroutine running each named
// or labelled task's body with the task's pprof labels (task=name and
// those given with Labels) while the body runs, so that CPU profiles
// attribute samples to tasks (go tool pprof -tagfocus task=enemy). It
// costs two label switches per resume of such a task (see
// BenchmarkSchedulerLabels), so it is off by default. The goroutine
// calling Tick has no labels after a labelled task ran on it.
func ProfileLabels(on bool) SchedulerOption {
	return func(s *Scheduler) { s.labels = on }
}

// NewScheduler returns a scheduler with no tasks, at frame 0 and time 0.
// With Workers(n > 1), Close must be called to stop its worker goroutines.
func NewScheduler(opts ...SchedulerOption) *Scheduler {
	s := &Scheduler{frameDur: time.Second / 60, nworkers: 1, clock: wallClock{}, maxFixed: 8}
	for _, o := range opts {
		o(s)
	}
	registerScheduler(s) // for WriteProfile (registry.go)
	if s.src == nil {
		s.src = newChanSource()
	}
	if s.fixedStep == 0 {
		s.fixedStep = s.frameDur
		if s.fixedStep == 0 {
			s.fixedStep = time.Second / 60
		}
	}
	s.epoch = s.clock.Now()
	s.workers = make([]*worker, s.nworkers)
	for i := range s.workers {
		s.workers[i] = &worker{s: s}
	}
	return s
}

// Go starts a task running body, configured by opts (a name, a group, a
// home phase...; see TaskOption). The task first runs on the next Tick (a
// task started during a tick does not run in that tick), in its home
// phase, unless Eager runs it at once. Started by a task body of the same scheduler, it is that task's
// child unless Detached is given: cancelling the parent cancels it. Go may
// be called from any goroutine.
func (s *Scheduler) Go(body func(t *Task), opts ...TaskOption) *Task {
	if body == nil {
		panic("costack: Scheduler.Go with a nil body")
	}
	var spec taskSpec
	for _, o := range opts {
		o(&spec)
	}
	t := &Task{sched: s, body: body, phase: phaseOrder[spec.phase]}
	t.c.co.InitOwned((*taskBody)(t), unsafe.Sizeof(*t))
	var parent *Task
	w := (*worker)(nil)
	if cur := currentTask(); cur != nil && cur.sched == s {
		if s.ticking.Load() {
			w = cur.w
		}
		if !spec.detached {
			parent = cur
		}
	}
	if spec.group != nil && spec.group.s != s {
		panic("costack: Scheduler.Go with a Group of another scheduler")
	}
	s.live.Add(1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.live.Add(-1)
		panic("costack: Scheduler.Go after Close")
	}
	s.nextID++
	t.id = s.nextID
	if spec.name != "" || len(spec.labels) > 0 {
		t.extLocked().setLabels(spec.name, spec.labels, s.labels)
		if s.labels {
			t.flags.Or(flagLabels)
		}
	}
	g := spec.group
	if g == nil && parent != nil {
		g = parent.group
	}
	if g != nil {
		t.group = g
		g.addLocked(t)
	}
	if parent != nil && parent.flags.Load()&flagDone == 0 {
		t.parent = parent
		px := parent.extLocked()
		px.children = append(px.children, t)
		px.liveChildren++
		if parent.flags.Load()&flagCancelled != 0 {
			t.flags.Or(flagCancelled) // born into a cancelled tree
		}
	} else {
		s.roots = append(s.roots, t)
		s.liveRoots++
	}
	interrupt := false
	if w == nil {
		s.next[t.phase] = append(s.next[t.phase], t)
		interrupt = s.wakeRunLocked()
	}
	s.mu.Unlock()
	if interrupt {
		s.src.Interrupt()
	}
	if w != nil {
		if spec.eager && t.flags.Load()&^flagLabels == 0 {
			w.runNested(t, currentTask())
			return t
		}
		w.next[t.phase] = append(w.next[t.phase], t)
	}
	return t
}

// unlinkLocked takes an ended task out of the task tree, handing its live
// children to its parent (or making them roots): a task that returns
// leaves its children running. s.mu is held.
func (s *Scheduler) unlinkLocked(t *Task) {
	heir := t.parent
	if x := t.extra.Load(); x != nil && x.liveChildren > 0 {
		for _, c := range x.children {
			if c.flags.Load()&flagDone != 0 {
				continue
			}
			c.parent = heir
			if heir != nil {
				hx := heir.extLocked()
				hx.children = append(hx.children, c)
				hx.liveChildren++
			} else {
				s.roots = append(s.roots, c)
				s.liveRoots++
			}
		}
	}
	if x := t.extra.Load(); x != nil {
		x.children, x.liveChildren = nil, 0
	}
	if p := t.parent; p != nil {
		px := p.extLocked()
		px.liveChildren--
		px.children = compactTasks(px.children, px.liveChildren)
	} else {
		s.liveRoots--
		s.roots = compactTasks(s.roots, s.liveRoots)
	}
	t.parent = nil
	if g := t.group; g != nil {
		g.removeLocked()
	}
}

// compactTasks drops the ended tasks from ts once they are most of it, so
// that keeping ended tasks in lists costs O(1) amortised per task.
func compactTasks(ts []*Task, live int) []*Task {
	if len(ts) < 16 || len(ts) <= 2*live {
		return ts
	}
	kept := ts[:0]
	for _, t := range ts {
		if t.flags.Load()&flagDone == 0 {
			kept = append(kept, t)
		}
	}
	clear(ts[len(kept):])
	return kept
}

// liveLocked returns the live tasks of ts, in order; s.mu is held.
func liveLocked(ts []*Task) []*Task {
	var out []*Task
	for _, t := range ts {
		if t.flags.Load()&flagDone == 0 {
			out = append(out, t)
		}
	}
	return out
}

// enqueue puts a woken task on the list of its home phase for the next
// tick.
func (s *Scheduler) enqueue(t *Task) {
	if w := s.localWorker(); w != nil {
		w.next[t.phase] = append(w.next[t.phase], t)
		return
	}
	s.mu.Lock()
	s.next[t.phase] = append(s.next[t.phase], t)
	interrupt := s.wakeRunLocked()
	s.mu.Unlock()
	if interrupt {
		s.src.Interrupt()
	}
}

// localWorker returns the worker whose task is calling, during a tick, or
// nil.
func (s *Scheduler) localWorker() *worker {
	if !s.ticking.Load() {
		return nil
	}
	if t := currentTask(); t != nil && t.sched == s {
		return t.w
	}
	return nil
}

// wakeBatch wakes root wakers of tasks of s, with one lock.
func (s *Scheduler) wakeBatch(ws []Waker) {
	w := s.localWorker()
	if w == nil {
		s.mu.Lock()
	}
	for _, k := range ws {
		if !k.s.gen.CompareAndSwap(k.gen, k.gen+1) {
			continue
		}
		t := taskOfSink(k.s)
		if t.state.CompareAndSwap(stateArming, stateSatisfied) {
			continue
		}
		if w != nil {
			w.next[t.phase] = append(w.next[t.phase], t)
		} else {
			s.next[t.phase] = append(s.next[t.phase], t)
		}
	}
	if w == nil {
		interrupt := s.wakeRunLocked()
		s.mu.Unlock()
		if interrupt {
			s.src.Interrupt()
		}
	}
}

// Frame reports the number of ticks run so far.
func (s *Scheduler) Frame() uint64 { return s.frame }

// Now reports scheduler time: the sum of the durations of the ticks run so
// far.
func (s *Scheduler) Now() time.Duration { return s.now }

// FixedStep reports the step of the FixedUpdate phase: the scheduler time
// each fixed step stands for, by which a physics step integrates.
func (s *Scheduler) FixedStep() time.Duration { return s.fixedStep }

// Clock returns the scheduler's Clock (see WithClock).
func (s *Scheduler) Clock() Clock { return s.clock }

// Len reports the number of live tasks: started and not yet ended.
func (s *Scheduler) Len() int { return int(s.live.Load()) }

// Close closes every task (those that never ran end without running; the
// others unwind through their pending wait, running their deferred calls),
// children before their parents, on the calling goroutine, and stops the
// worker goroutines. Tasks started by deferred calls during Close are
// closed too. Close of a closed scheduler does nothing; Go, Tick and Run
// after Close panic.
func (s *Scheduler) Close() {
	if !s.drive.CompareAndSwap(false, true) {
		panic("costack: Scheduler.Close called during a tick, Run or Close")
	}
	defer s.drive.Store(false)
	s.tickMu.Lock()
	defer s.tickMu.Unlock()
	s.ticking.Store(true) // deferred calls run here may start tasks
	defer s.ticking.Store(false)
	s.serialG.Store(goroutineID())
	defer s.serialG.Store(0)
	for s.live.Load() > 0 {
		s.mu.Lock()
		roots := liveLocked(s.roots)
		s.mu.Unlock()
		if len(roots) == 0 {
			panic("costack: internal error: live tasks outside the task tree")
		}
		for _, t := range roots {
			s.closeTree(t)
		}
	}
	s.mu.Lock()
	s.closed = true
	s.next = [numPhases][]*Task{}
	s.roots = nil
	s.groupChanges = nil
	s.mu.Unlock()
	s.cur, s.fixedAgain = [numPhases][]*Task{}, nil
	for i := range s.wheel {
		s.wheel[i] = nil
	}
	s.far, s.times, s.realtimes, s.polls, s.timedGroups = nil, nil, nil, nil, nil
	for _, w := range s.workers {
		w.reset()
		if w.start != nil {
			close(w.start)
			w.start = nil
		}
	}
	s.exitWG.Wait()
}

// closeTree closes t's live descendants, innermost first and siblings in
// the order they were started, then t, on the goroutine driving the
// scheduler while no body runs. Tasks started by the deferred calls of the
// closed ones are closed too.
func (s *Scheduler) closeTree(t *Task) {
	for t.flags.Load()&flagDone == 0 {
		s.mu.Lock()
		var kids []*Task
		if x := t.extra.Load(); x != nil && x.liveChildren > 0 {
			kids = liveLocked(x.children)
		}
		s.mu.Unlock()
		if len(kids) == 0 {
			w := s.workers[0]
			t.w = w
			t.closeNow()
			s.reportEnded(w)
			return
		}
		for _, k := range kids {
			s.closeTree(k)
		}
	}
}

// goroutineID identifies the calling goroutine (see serialG).
func goroutineID() uintptr { return gls.ID() }

// inSerial reports whether the caller is the goroutine driving the
// scheduler, outside the parallel part of a tick.
func (s *Scheduler) inSerial() bool {
	g := s.serialG.Load()
	return g != 0 && g == gls.ID()
}

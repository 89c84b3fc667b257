package costack

import (
	"sync"
	"sync/atomic"
	"time"
)

// A Scheduler runs many [Task]s in frames, the way a game loop runs its
// entities: the loop calls [Scheduler.Tick] once per frame, and each Tick
// resumes every task whose wait is satisfied, once, and returns when all of
// them have yielded or ended.
//
// # Time
//
// The scheduler keeps its own clock: Frame counts ticks and Now is the sum
// of their durations (FrameDuration per Tick, or d per TickDt(d)). Waits on
// time use this clock, never the wall clock, so a simulation runs the same
// whether it is paused, slowed down, or run faster than real time. A
// program with no frame rate, such as a server, calls [Scheduler.Run]
// instead of Tick: it ticks only when a task is ready, and each of its
// ticks advances Now by the real time elapsed, read from the scheduler's
// [Clock].
//
// # Cost
//
// A waiting task costs nothing per tick until its wait can end: Yield puts
// the task on next tick's list, frame waits go into a wheel of frame buckets
// (and a heap for waits further than a few seconds ahead), time waits into a
// heap, and event waits (signals, other tasks, Wake from other goroutines)
// are found through the event. Predicates (Waker.WakeWhen, yield.Until) are
// the exception: they are evaluated once per tick.
//
// # Order
//
// With one worker, resumption order is deterministic. A tick resumes, in
// this order: the tasks that task bodies made ready during the previous
// tick — by yielding, by Go, by waking them (Wake, a task they joined
// ending) — in the order of those calls; then those woken at the end of the
// previous tick by Apply functions (signals fired by bodies) and, between
// ticks, by the game loop, in the order of the wakes; then, at the start of
// the tick, the frame waits that are due (in the order they were armed), the
// time waits that are due (earliest deadline first, ties in a fixed order),
// and the predicates that now hold (in the order they were armed). Only
// wakes from other goroutines (such as interop.Block's) make the order
// depend on timing.
//
// # Workers
//
// With Workers(n), n > 1, each tick's ready tasks are split into n
// contiguous parts, one per worker goroutine (the goroutine calling Tick is
// one of them), each of which is one shared stack. Task bodies then run in
// parallel, so a body may touch only its own entity and values no other task
// touches in the same tick; anything shared goes through [Task.Apply]
// (deferred to the end of the tick and run in a fixed order), channels, or
// other synchronisation. The scheduler itself — Go, Wait, Wake, Cancel, the
// waits and signals of package yield — is safe to use from bodies on any
// worker. What the tasks of a worker yield, arm, start or wake is collected
// per worker and merged in worker order at the end of the tick; a join on a
// task that ends during the tick, and a signal fired by a body, take effect
// at the end of the tick. So every task runs in the same frames whatever the
// number of workers, and when bodies touch only their own entities (and
// share through Apply), the results are the same too: a simulation is
// deterministic for a given seed. The order within a frame is that of one
// worker, except among tasks woken by a task of another worker.
//
// # Goroutines
//
// Tick, TickDt, Run and Close must be called from one goroutine at a time,
// and not from a task body or an Apply function. Frame and Now may be
// called from task bodies and from the goroutine calling Tick; Go, Len,
// Task.Cancel, Task.Done and Waker.Wake from any goroutine (a task made
// ready from another goroutine interrupts Run's sleep).
//
// Task bodies run on the worker goroutines (or, on the portable engine, on
// goroutines of their own that run only while a worker waits for them), so
// runtime.Goexit in a body — t.FailNow in a test — ends a worker: do not.
// A panic in a body ends its task (see Task.Err); a panic in an Apply
// function or a WakeWhen predicate propagates out of Tick.
type Scheduler struct {
	frameDur time.Duration
	nworkers int

	clock Clock
	src   EventSource

	frame uint64
	now   time.Duration
	// drive is held by Tick, Run and Close for their duration, so that no
	// two of them overlap; ticking is set while a tick runs.
	drive   atomic.Bool
	ticking atomic.Bool
	closed  bool

	// mu guards queue, tasks, sleeping and the joiner lists of tasks.
	mu    sync.Mutex
	queue []*Task // ready for the next tick
	tasks []*Task // every live task
	live  atomic.Int64
	// sleeping is set while Run sleeps in src, on goroutine sleeper (see
	// wakeRunLocked).
	sleeping bool
	sleeper  uintptr

	spare []*Task // the previous tick's ready list, for reuse
	wheel [wheelSize][]Waker
	far   timerHeap // frame waits beyond the wheel
	times timerHeap // time waits
	polls []poll
	fire  []Waker

	workers []*worker
	started bool
	tickWG  sync.WaitGroup
	exitWG  sync.WaitGroup
}

// wheelSize is the number of frame buckets: frame waits up to this many
// frames ahead cost an append; further ones go into a heap.
const wheelSize = 256

type timer struct {
	at int64
	w  Waker
}

type poll struct {
	w    Waker
	cond func() bool
}

// worker is one goroutine running tasks in a tick, and what those tasks
// produced for the scheduler, merged at the end of the tick.
type worker struct {
	s       *Scheduler
	chunk   []*Task
	start   chan struct{}
	next    []*Task // yielded or woken during the tick
	frames  []timer
	times   []timer
	polls   []poll
	applies []func()
}

// A SchedulerOption configures a Scheduler.
type SchedulerOption func(*Scheduler)

// Workers sets the number of worker goroutines running each tick's tasks
// (default 1: they all run on the goroutine calling Tick). See the
// Scheduler documentation for what task bodies may touch when n > 1.
func Workers(n int) SchedulerOption {
	return func(s *Scheduler) {
		if n < 1 {
			panic("costack: Workers(n) with n < 1")
		}
		s.nworkers = n
	}
}

// FrameDuration sets the scheduler time one Tick advances (default 1/60 s).
func FrameDuration(d time.Duration) SchedulerOption {
	return func(s *Scheduler) {
		if d < 0 {
			panic("costack: negative FrameDuration")
		}
		s.frameDur = d
	}
}

// NewScheduler returns a scheduler with no tasks, at frame 0 and time 0.
// With Workers(n > 1), Close must be called to stop its worker goroutines.
func NewScheduler(opts ...SchedulerOption) *Scheduler {
	s := &Scheduler{frameDur: time.Second / 60, nworkers: 1, clock: wallClock{}}
	for _, o := range opts {
		o(s)
	}
	if s.src == nil {
		s.src = newChanSource()
	}
	s.workers = make([]*worker, s.nworkers)
	for i := range s.workers {
		s.workers[i] = &worker{s: s}
	}
	return s
}

// Go starts a task running body. The task first runs on the next Tick (a
// task started during a tick does not run in that tick). Go may be called
// from task bodies.
func (s *Scheduler) Go(body func(t *Task)) *Task {
	if body == nil {
		panic("costack: Scheduler.Go with a nil body")
	}
	t := &Task{sched: s, body: body}
	t.c.Tag = taskTag
	t.sink.task = t
	t.flags.set(flagQueued)
	t.c.co.Init((*taskBody)(t))
	s.live.Add(1)
	w := s.localWorker()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.live.Add(-1)
		panic("costack: Scheduler.Go after Close")
	}
	t.idx = int32(len(s.tasks))
	s.tasks = append(s.tasks, t)
	interrupt := false
	if w == nil {
		s.queue = append(s.queue, t)
		interrupt = s.wakeRunLocked()
	}
	s.mu.Unlock()
	if interrupt {
		s.src.Interrupt()
	}
	if w != nil {
		w.next = append(w.next, t)
	}
	return t
}

// unregisterLocked removes t from the registry; s.mu is held.
func (s *Scheduler) unregisterLocked(t *Task) {
	i := int(t.idx)
	if i < 0 || i >= len(s.tasks) || s.tasks[i] != t {
		return
	}
	last := len(s.tasks) - 1
	s.tasks[i] = s.tasks[last]
	s.tasks[i].idx = int32(i)
	s.tasks[last] = nil
	s.tasks = s.tasks[:last]
	t.idx = -1
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

// enqueue puts a woken task on the list for the next tick.
func (s *Scheduler) enqueue(t *Task) {
	if w := s.localWorker(); w != nil {
		w.next = append(w.next, t)
		return
	}
	s.mu.Lock()
	s.queue = append(s.queue, t)
	interrupt := s.wakeRunLocked()
	s.mu.Unlock()
	if interrupt {
		s.src.Interrupt()
	}
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
		t := k.s.task
		if t.state.CompareAndSwap(stateArming, stateSatisfied) || t.flags.set(flagQueued) {
			continue
		}
		if w != nil {
			w.next = append(w.next, t)
		} else {
			s.queue = append(s.queue, t)
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

// Tick runs one frame: it advances scheduler time by the frame duration,
// then resumes once every task whose wait is satisfied, and returns when all
// of them have yielded or ended. A task that panics ends with Err set; the
// tick goes on.
func (s *Scheduler) Tick() { s.TickDt(s.frameDur) }

// TickDt is Tick advancing scheduler time by d instead of the frame
// duration. The frame count still advances by one.
func (s *Scheduler) TickDt(d time.Duration) {
	if !s.drive.CompareAndSwap(false, true) {
		panic("costack: Scheduler.Tick called during a tick, Run or Close (from a task body, or from two goroutines)")
	}
	defer s.drive.Store(false)
	if s.closed {
		panic("costack: Scheduler.Tick after Close")
	}
	s.tick(d)
}

// tick runs one frame advancing scheduler time by d; the caller holds
// s.drive.
func (s *Scheduler) tick(d time.Duration) {
	s.ticking.Store(true)
	defer s.ticking.Store(false)
	s.frame++
	s.now += d
	s.fireDue()

	s.mu.Lock()
	ready := s.queue
	s.queue = s.spare[:0]
	s.mu.Unlock()

	s.run(ready)

	clear(ready)
	s.spare = ready[:0]
	s.merge()
	s.apply()
}

// fireDue wakes the frame waits, time waits and predicates due this tick.
func (s *Scheduler) fireDue() {
	fire := s.fire[:0]
	slot := &s.wheel[s.frame%wheelSize]
	fire = append(fire, *slot...)
	clear(*slot)
	*slot = (*slot)[:0]
	for len(s.far) > 0 && uint64(s.far[0].at) <= s.frame {
		fire = append(fire, s.far.pop().w)
	}
	for len(s.times) > 0 && s.times[0].at <= int64(s.now) {
		fire = append(fire, s.times.pop().w)
	}
	if len(s.polls) > 0 {
		kept := s.polls[:0]
		for _, p := range s.polls {
			switch {
			case !p.w.Pending():
			case p.cond():
				fire = append(fire, p.w)
			default:
				kept = append(kept, p)
			}
		}
		clear(s.polls[len(kept):])
		s.polls = kept
	}
	WakeAll(fire)
	clear(fire)
	s.fire = fire[:0]
}

// run resumes the ready tasks on the workers.
func (s *Scheduler) run(ready []*Task) {
	n := len(s.workers)
	if n == 1 || len(ready) < 2*n {
		s.workers[0].runAll(ready)
		return
	}
	s.startWorkers()
	per := (len(ready) + n - 1) / n
	for i, w := range s.workers {
		lo, hi := min(i*per, len(ready)), min((i+1)*per, len(ready))
		w.chunk = ready[lo:hi]
	}
	s.tickWG.Add(n - 1)
	for _, w := range s.workers[1:] {
		w.start <- struct{}{}
	}
	w0 := s.workers[0]
	w0.runAll(w0.chunk)
	w0.chunk = nil
	s.tickWG.Wait()
}

func (s *Scheduler) startWorkers() {
	if s.started {
		return
	}
	s.started = true
	for _, w := range s.workers[1:] {
		w.start = make(chan struct{})
		s.exitWG.Add(1)
		go w.loop()
	}
}

func (w *worker) loop() {
	defer w.s.exitWG.Done()
	for range w.start {
		w.runAll(w.chunk)
		w.chunk = nil
		w.s.tickWG.Done()
	}
}

func (w *worker) runAll(ts []*Task) {
	for _, t := range ts {
		t.resumeOn(w)
	}
}

// merge takes over, in worker order, what the workers' tasks produced.
func (s *Scheduler) merge() {
	for _, w := range s.workers {
		if len(w.next) > 0 {
			s.mu.Lock()
			s.queue = append(s.queue, w.next...)
			s.mu.Unlock()
			clear(w.next)
			w.next = w.next[:0]
		}
		for _, tm := range w.frames {
			s.fileFrame(tm)
		}
		clear(w.frames)
		w.frames = w.frames[:0]
		for _, tm := range w.times {
			s.times.push(tm)
		}
		clear(w.times)
		w.times = w.times[:0]
		s.polls = append(s.polls, w.polls...)
		clear(w.polls)
		w.polls = w.polls[:0]
	}
}

// fileFrame puts a frame wait into the wheel or, if it is further ahead
// than the wheel reaches, into the far heap.
func (s *Scheduler) fileFrame(tm timer) {
	at := uint64(tm.at)
	if at <= s.frame {
		at = s.frame + 1
	}
	if at-s.frame <= wheelSize {
		slot := &s.wheel[at%wheelSize]
		*slot = append(*slot, tm.w)
		return
	}
	tm.at = int64(at)
	s.far.push(tm)
}

// apply runs the functions tasks passed to Apply during the tick.
func (s *Scheduler) apply() {
	for _, w := range s.workers {
		if len(w.applies) == 0 {
			continue
		}
		fns := w.applies
		w.applies = nil
		for _, fn := range fns {
			fn()
		}
	}
}

// Frame reports the number of ticks run so far.
func (s *Scheduler) Frame() uint64 { return s.frame }

// Now reports scheduler time: the sum of the durations of the ticks run so
// far.
func (s *Scheduler) Now() time.Duration { return s.now }

// Len reports the number of live tasks: started and not yet ended.
func (s *Scheduler) Len() int { return int(s.live.Load()) }

// Close closes every task (those that never ran end without running; the
// others unwind through their pending wait, running their deferred calls),
// on the calling goroutine, and stops the worker goroutines. Tasks started
// by deferred calls during Close are closed too. Close of a closed scheduler
// does nothing; Go and Tick after Close panic.
func (s *Scheduler) Close() {
	if !s.drive.CompareAndSwap(false, true) {
		panic("costack: Scheduler.Close called during a tick, Run or Close")
	}
	defer s.drive.Store(false)
	s.ticking.Store(true) // tasks closed here count as in a tick
	defer s.ticking.Store(false)
	for {
		s.mu.Lock()
		ts := append([]*Task(nil), s.tasks...)
		s.mu.Unlock()
		if len(ts) == 0 {
			break
		}
		for _, t := range ts {
			if !t.flags.has(flagDone) {
				t.w = s.workers[0]
				t.closeNow()
			}
		}
	}
	s.mu.Lock()
	s.closed = true
	s.queue = nil
	s.mu.Unlock()
	for i := range s.wheel {
		s.wheel[i] = nil
	}
	s.far, s.times, s.polls, s.spare = nil, nil, nil, nil
	for _, w := range s.workers {
		w.next, w.frames, w.times, w.polls, w.applies = nil, nil, nil, nil, nil
		if w.start != nil {
			close(w.start)
			w.start = nil
		}
	}
	s.exitWG.Wait()
}

// timerHeap is a binary min-heap of timers by at. Equal keys come out in an
// order fixed by the sequence of pushes and pops, so it is deterministic.
type timerHeap []timer

func (h *timerHeap) push(tm timer) {
	*h = append(*h, tm)
	a := *h
	i := len(a) - 1
	for i > 0 {
		p := (i - 1) / 2
		if a[p].at <= a[i].at {
			break
		}
		a[p], a[i] = a[i], a[p]
		i = p
	}
}

func (h *timerHeap) pop() timer {
	a := *h
	top := a[0]
	last := len(a) - 1
	a[0] = a[last]
	a[last] = timer{}
	a = a[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(a) {
			break
		}
		m := l
		if r := l + 1; r < len(a) && a[r].at < a[l].at {
			m = r
		}
		if a[i].at <= a[m].at {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return top
}

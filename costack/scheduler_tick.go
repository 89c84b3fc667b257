package costack

import (
	"context"
	"log"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/costack-dev/costack/internal/engine"
)

// worker is one goroutine running tasks in a phase, and what those tasks
// produced for the scheduler, merged at the end of the phase.
type worker struct {
	s     *Scheduler
	chunk []*Task
	start chan struct{}
	// phase is the order of the phase running; lastStep is set during the
	// last fixed step of a tick.
	phase    uint8
	lastStep bool
	// next and cur: the tasks made ready for each phase of the next tick
	// and of this tick; fixedAgain: for the next fixed step of this tick.
	next       [numPhases][]*Task
	cur        [numPhases][]*Task
	fixedAgain []*Task
	held       []*Task // found paused: for their groups' held lists
	closing    []*Task // cancelled with live children: close the tree
	ended      []*Task // for OnTaskEnd, or to log their panic
	frames     []timer
	times      []timer
	realtimes  []timer
	polls      []poll
	applies    []func()
}

func (w *worker) reset() {
	*w = worker{s: w.s, start: w.start}
}

// Tick runs one frame: it advances scheduler time by the frame duration,
// then runs the phases, resuming once in each every task ready for it, and
// returns when all of them have yielded or ended. A task that panics ends
// with Err set; the tick goes on.
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
	if d < 0 {
		panic("costack: Scheduler.TickDt with a negative duration")
	}
	s.tick(d)
}

// tick runs one frame advancing scheduler time by d; the caller holds
// s.drive.
func (s *Scheduler) tick(d time.Duration) {
	s.tickMu.Lock()
	defer s.tickMu.Unlock()
	s.ticking.Store(true)
	defer s.ticking.Store(false)
	s.frame++
	// Group changes take effect before the tick's time passes: a group
	// paused since the last tick does not see this tick's time.
	s.applyGroupChanges()
	s.now += d
	s.fireDue()

	steps := time.Duration(0)
	s.fixedAcc += d
	if n := s.fixedAcc / s.fixedStep; n > time.Duration(s.maxFixed) {
		steps = time.Duration(s.maxFixed)
		s.fixedAcc %= s.fixedStep
	} else {
		steps = n
		s.fixedAcc -= n * s.fixedStep
	}

	s.mu.Lock()
	for o := range s.next {
		if len(s.cur[o]) == 0 {
			s.cur[o], s.next[o] = s.next[o], s.cur[o]
		} else {
			// FixedUpdate tasks left over by a tick with no fixed step.
			s.cur[o] = append(s.cur[o], s.next[o]...)
			clear(s.next[o])
			s.next[o] = s.next[o][:0]
		}
	}
	s.mu.Unlock()

	for i := range steps {
		s.runPhase(orderFixed, i == steps-1)
	}
	s.runPhase(orderUpdate, false)
	s.runPhase(orderLate, false)
	s.runPhase(orderEnd, false)
	s.apply()
}

// runPhase resumes the tasks ready for the phase of order o.
func (s *Scheduler) runPhase(o uint8, lastStep bool) {
	ready := s.cur[o]
	if len(ready) == 0 {
		return
	}
	for _, w := range s.workers {
		w.phase, w.lastStep = o, lastStep
	}
	s.run(ready) // each worker clears its part of ready once it has run it
	s.merge()
	if o == orderFixed {
		s.cur[o], s.fixedAgain = s.fixedAgain, ready[:0]
	} else {
		s.cur[o] = ready[:0]
	}
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

// runAll is the scheduler's inner loop. Its budget: a tick costs at most
// 1.2x a bare loop of Coroutine.Resume calls over as many coroutines
// (BenchmarkSchedulerTick). For a task with no flag set that yields, it
// reads the task's flags, state and target (in the cache lines of the
// coroutine's own state), writes its worker only when that changed, does
// no atomic read-modify-write and takes no lock (see Task.Yield and
// Task.resumed), and returns through no frame but the engine's after the
// switch: every frame returned through after a switch is a mispredicted
// return, which is why core.resume is written out here, as in
// Coroutine.Resume. Keep it so.
func (w *worker) runAll(ts []*Task) {
	// Each worker clears its part of the ready list (so that the list does
	// not keep ended tasks alive), in parallel.
	defer clear(ts)
	// Most tasks yield back into this phase's next list: room for all of
	// them at once, not by doublings (the first tick after a spawn of 100k
	// tasks spent a tenth of its time growing it); a no-op once the lists
	// have reached their size.
	w.next[w.phase] = slices.Grow(w.next[w.phase], len(ts))
	for _, t := range ts {
		f := t.flags.Load()
		if f&^flagLabels != 0 {
			t.resumeFlagged(w, f)
			continue
		}
		if t.w != w {
			t.w = w
		}
		if f != 0 {
			// The worker's goroutine carries the task's labels while the
			// body runs on it (native engine), and none after.
			pprof.SetGoroutineLabels(t.extra.Load().profCtx)
		}
		// core.resume, written out: the switch is called from this frame.
		var outcome engine.Outcome
		var p *engine.Panic
		if _, ok := t.c.co.Acquire(); ok {
			outcome, p = t.c.co.ResumeAcquired()
			if outcome == engine.Yielded || outcome == engine.NoStack {
				t.c.co.Release()
			}
		} else {
			outcome = engine.Busy
		}
		if f != 0 {
			pprof.SetGoroutineLabels(context.Background())
		}
		t.resumed(outcome, p)
	}
}

// runNested runs t's first slice at once (Eager), nested in the body of
// starter, the task running on this worker, which waits in Go meanwhile:
// what runAll does for one task, the starter's profile labels put back
// after.
func (w *worker) runNested(t, starter *Task) {
	t.w = w
	labels := t.flags.Load()&flagLabels != 0
	if labels {
		pprof.SetGoroutineLabels(t.extra.Load().profCtx)
	}
	t.step()
	if labels {
		ctx := context.Background()
		if starter.flags.Load()&flagLabels != 0 {
			ctx = starter.extra.Load().profCtx
		}
		pprof.SetGoroutineLabels(ctx)
	}
}

// merge takes over, in worker order, what the workers' tasks produced in a
// phase, on the goroutine driving the scheduler.
func (s *Scheduler) merge() {
	// Trees of cancelled tasks first: their deferred calls may start or
	// wake tasks, which the lists below then take.
	for _, w := range s.workers {
		if len(w.closing) == 0 {
			continue
		}
		closing := w.closing
		w.closing = nil
		s.serialG.Store(goroutineID())
		for _, t := range closing {
			s.closeTree(t)
		}
		s.serialG.Store(0)
	}
	s.mu.Lock()
	for _, w := range s.workers {
		for o := range w.next {
			switch {
			case len(w.next[o]) == 0:
			case len(s.next[o]) == 0:
				// Take the worker's list as it is (with one worker, every
				// tick): no copy of a list of N tasks on this goroutine.
				s.next[o], w.next[o] = w.next[o], s.next[o][:0]
			default:
				s.next[o] = append(s.next[o], w.next[o]...)
				clear(w.next[o])
				w.next[o] = w.next[o][:0]
			}
			if len(w.cur[o]) > 0 {
				s.cur[o] = append(s.cur[o], w.cur[o]...)
				clear(w.cur[o])
				w.cur[o] = w.cur[o][:0]
			}
		}
		if len(w.fixedAgain) > 0 {
			s.fixedAgain = append(s.fixedAgain, w.fixedAgain...)
			clear(w.fixedAgain)
			w.fixedAgain = w.fixedAgain[:0]
		}
		for _, t := range w.held {
			s.holdLocked(t)
		}
		clear(w.held)
		w.held = w.held[:0]
	}
	s.mu.Unlock()
	for _, w := range s.workers {
		for _, tm := range w.frames {
			s.fileFrame(tm)
		}
		clear(w.frames)
		w.frames = w.frames[:0]
		for _, tm := range w.times {
			if g := tm.w.Task().group; g != nil {
				g.pushTimer(tm)
			} else {
				s.times.push(tm)
			}
		}
		clear(w.times)
		w.times = w.times[:0]
		for _, tm := range w.realtimes {
			s.realtimes.push(tm)
		}
		clear(w.realtimes)
		w.realtimes = w.realtimes[:0]
		s.polls = append(s.polls, w.polls...)
		clear(w.polls)
		w.polls = w.polls[:0]
		s.reportEnded(w)
	}
}

// reportEnded calls OnTaskEnd for the tasks that ended on w (or logs their
// panic), in the order they ended, on the goroutine driving the scheduler.
func (s *Scheduler) reportEnded(w *worker) {
	if len(w.ended) == 0 {
		return
	}
	ended := w.ended
	w.ended = nil
	prev := s.serialG.Swap(goroutineID())
	defer s.serialG.Store(prev)
	for _, t := range ended {
		err := t.Err()
		if s.onEnd != nil {
			s.onEnd(t, err)
			continue
		}
		if pe, ok := err.(*PanicError); ok {
			log.Printf("costack: task %s panicked: %v\n%s", t.label(), pe.Value, pe.Stack)
		}
	}
}

// fireDue wakes the frame, time and real-time waits and the predicates
// due this tick.
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
	if len(s.timedGroups) > 0 {
		kept := s.timedGroups[:0]
		for _, g := range s.timedGroups {
			if !g.paused {
				now := int64(g.nowAt(s.now))
				for len(g.times) > 0 && g.times[0].at <= now {
					fire = append(fire, g.times.pop().w)
				}
			}
			if len(g.times) > 0 {
				kept = append(kept, g)
			} else {
				g.timed = false
			}
		}
		clear(s.timedGroups[len(kept):])
		s.timedGroups = kept
	}
	if len(s.realtimes) > 0 {
		now := int64(s.clock.Now().Sub(s.epoch))
		for len(s.realtimes) > 0 && s.realtimes[0].at <= now {
			fire = append(fire, s.realtimes.pop().w)
		}
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

// apply runs the functions tasks passed to Apply during the tick.
func (s *Scheduler) apply() {
	s.serialG.Store(goroutineID())
	defer s.serialG.Store(0)
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

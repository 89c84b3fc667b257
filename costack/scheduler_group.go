package costack

import (
	"math"
	"time"
)

// A Group is a set of tasks handled together, like a tag or layer in a
// game engine's coroutine library: the enemies of a level, the tasks of a
// UI screen. A group can be paused and resumed, given a time scale, and
// cancelled, each in time proportional to its size; its tasks' time waits
// (yield.For) run on the group's clock, which stands still while the group
// is paused and runs at its time scale. Frame waits and real-time waits
// are not scaled; a paused group's tasks do not run at all, whatever their
// waits, until it is resumed.
//
// A task joins a group when started, with InGroup (or Group.Go); a task
// started by a task body joins its parent's group unless given another. A
// task belongs to one group for its life.
//
// Pause, Resume and SetTimeScale may be called from any goroutine,
// including task bodies, and take effect at the start of the next tick,
// so that every task of a tick sees the same state of the group whatever
// the order tasks run in and the number of workers. Cancel takes effect as
// Task.Cancel does.
type Group struct {
	s    *Scheduler
	name string

	// Under s.mu.
	members    []*Task // may hold ended tasks (see compactTasks)
	live       int
	held       []*Task // ready tasks parked while paused
	wantPaused bool
	wantScale  float64
	changed    bool // on s.groupChanges

	// Written by the goroutine driving the scheduler at the start of a
	// tick (applyGroupChanges), under s.mu; read by task bodies and by
	// that goroutine.
	paused bool
	scale  float64
	// The group's clock read base at scheduler time since.
	base, since time.Duration
	times       timerHeap // time waits, in group time
	timed       bool      // on s.timedGroups
}

// NewGroup returns a new, empty group of s, running at time scale 1. name
// is for humans: Task.String and WriteTasks show it.
func (s *Scheduler) NewGroup(name string) *Group {
	return &Group{s: s, name: name, scale: 1, wantScale: 1, since: s.now}
}

// Name returns the group's name.
func (g *Group) Name() string { return g.name }

// Go starts a task in g: s.Go(body, InGroup(g), opts...).
func (g *Group) Go(body func(t *Task), opts ...TaskOption) *Task {
	return g.s.Go(body, append([]TaskOption{InGroup(g)}, opts...)...)
}

// Len reports the number of live tasks in the group.
func (g *Group) Len() int {
	g.s.mu.Lock()
	defer g.s.mu.Unlock()
	return g.live
}

// Tasks returns the group's live tasks, in the order they were started.
func (g *Group) Tasks() []*Task {
	g.s.mu.Lock()
	defer g.s.mu.Unlock()
	return liveLocked(g.members)
}

// Pause stops the group from the next tick on: its tasks are not resumed
// (a task whose wait ends is kept ready for when the group resumes) and
// its clock stands still. Pausing a paused group does nothing.
func (g *Group) Pause() { g.change(func() { g.wantPaused = true }) }

// Resume undoes Pause from the next tick on: the group's tasks that became
// ready while it was paused run in that tick, and its clock goes on from
// where it stopped.
func (g *Group) Resume() { g.change(func() { g.wantPaused = false }) }

// Paused reports whether the group is paused, or will be from the next
// tick on (the last Pause or Resume called).
func (g *Group) Paused() bool {
	g.s.mu.Lock()
	defer g.s.mu.Unlock()
	return g.wantPaused
}

// SetTimeScale sets how fast the group's clock runs against scheduler
// time from the next tick on: 1 is normal speed, 0.5 half speed, 0 stands
// still (the tasks still run: only their time waits stop). f must be
// finite and >= 0.
func (g *Group) SetTimeScale(f float64) {
	if f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		panic("costack: Group.SetTimeScale needs a finite scale >= 0")
	}
	g.change(func() { g.wantScale = f })
}

// TimeScale reports the group's time scale, or the one it will have from
// the next tick on.
func (g *Group) TimeScale() float64 {
	g.s.mu.Lock()
	defer g.s.mu.Unlock()
	return g.wantScale
}

// Now returns the time on the group's clock: the scheduler time its tasks
// have lived through while it was not paused, scaled by its time scale.
// Like Scheduler.Now, call it from task bodies or the goroutine driving the
// scheduler.
func (g *Group) Now() time.Duration { return g.nowAt(g.s.now) }

// Cancel cancels every live task of the group (see Task.Cancel), and their
// descendants.
func (g *Group) Cancel() {
	for _, t := range g.Tasks() {
		t.Cancel()
	}
}

func (g *Group) change(fn func()) {
	s := g.s
	s.mu.Lock()
	fn()
	if !g.changed {
		g.changed = true
		s.groupChanges = append(s.groupChanges, g)
	}
	interrupt := s.wakeRunLocked()
	s.mu.Unlock()
	if interrupt {
		s.src.Interrupt()
	}
}

// nowAt returns the group's clock at scheduler time now.
func (g *Group) nowAt(now time.Duration) time.Duration {
	switch {
	case g.paused:
		return g.base
	case g.scale == 1:
		return g.base + now - g.since
	}
	return g.base + time.Duration(float64(now-g.since)*g.scale)
}

// dueAt returns the scheduler time at which the group's clock reads at, or
// false if it does not advance.
func (g *Group) dueAt(at time.Duration) (time.Duration, bool) {
	if g.paused || g.scale == 0 {
		return 0, false
	}
	if g.scale == 1 {
		return g.since + at - g.base, true
	}
	return g.since + time.Duration(math.Ceil(float64(at-g.base)/g.scale)), true
}

func (g *Group) pushTimer(tm timer) {
	g.times.push(tm)
	if !g.timed {
		g.timed = true
		g.s.timedGroups = append(g.s.timedGroups, g)
	}
}

// addLocked adds a new task to the group; s.mu is held.
func (g *Group) addLocked(t *Task) {
	g.members = append(g.members, t)
	g.live++
	if g.paused {
		t.flags.Or(flagPaused)
	}
}

// removeLocked accounts for the end of a member; s.mu is held.
func (g *Group) removeLocked() {
	g.live--
	g.members = compactTasks(g.members, g.live)
}

// holdLocked parks a ready task that its worker found paused; s.mu is
// held. A task cancelled meanwhile goes back to a ready list, to be closed.
func (s *Scheduler) holdLocked(t *Task) {
	f := t.flags.Load()
	if f&flagCancelled == 0 && f&flagPaused != 0 {
		t.flags.Or(flagHeld)
		t.group.held = append(t.group.held, t)
		return
	}
	s.next[t.phase] = append(s.next[t.phase], t)
}

// applyGroupChanges makes the Pause, Resume and SetTimeScale calls made
// since the last tick take effect, at the start of a tick, before its time
// advances: O(size) for a group paused or resumed.
func (s *Scheduler) applyGroupChanges() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.groupChanges) == 0 {
		return
	}
	for _, g := range s.groupChanges {
		g.changed = false
		g.base, g.since = g.nowAt(s.now), s.now
		g.scale = g.wantScale
		if g.wantPaused == g.paused {
			continue
		}
		g.paused = g.wantPaused
		if g.paused {
			for _, t := range g.members {
				t.flags.Or(flagPaused)
			}
			continue
		}
		for _, t := range g.members {
			t.flags.And(^flagPaused)
		}
		for _, t := range g.held {
			if t.flags.Load()&flagHeld != 0 {
				t.flags.And(^flagHeld)
				s.next[t.phase] = append(s.next[t.phase], t)
			}
		}
		clear(g.held)
		g.held = g.held[:0]
	}
	clear(s.groupChanges)
	s.groupChanges = s.groupChanges[:0]
}

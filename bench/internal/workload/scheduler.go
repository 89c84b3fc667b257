package workload

import "github.com/costack-dev/costack/costack"

// The game-entity body as scheduler tasks, for the scheduler rows of the
// report: the same loop as coEntity (three float locals, one integration
// step per resume, one call below the body), storing the position where
// coEntity yields it.

//go:noinline
func taskEntity(t *costack.Task, out *float64) {
	x, v, a := 0.0, 1.0, -9.81
	for {
		v += a * entityDT
		x += v * entityDT
		*out = x
		t.Yield()
	}
}

//go:noinline
func phasedEntity(t *costack.Task, out *float64) {
	x, v, a := 0.0, 1.0, -9.81
	step := func() {
		v += a * entityDT
		x += v * entityDT
		*out = x
	}
	for {
		step()
		t.YieldTo(costack.Update)
		step()
		t.YieldTo(costack.LateUpdate)
		step()
		t.YieldTo(costack.FixedUpdate)
	}
}

// StartEntityTasks starts n tasks on s running the game-entity body, each
// resumed once per tick in its home phase.
func StartEntityTasks(s *costack.Scheduler, n int, opts ...costack.TaskOption) {
	out := make([]float64, n)
	for i := range n {
		p := &out[i]
		s.Go(func(t *costack.Task) { taskEntity(t, p) }, opts...)
	}
}

// StartPhasedEntityTasks starts n tasks on s that run the entity step in
// FixedUpdate, Update and LateUpdate of every tick: three resumes per
// tick (with the default fixed step of one frame).
func StartPhasedEntityTasks(s *costack.Scheduler, n int) {
	out := make([]float64, n)
	for i := range n {
		p := &out[i]
		s.Go(func(t *costack.Task) { phasedEntity(t, p) }, costack.InPhase(costack.FixedUpdate))
	}
}

// BareEntities returns a tick over n costack coroutines running the game
// entity, resumed in a plain loop (the core table's tick row), and the
// function that closes them.
func BareEntities(n int) (tick func(), closeAll func()) {
	p := &costackPop{}
	p.Reserve(n)
	p.Add(n)
	return func() { p.Tick() }, p.Close
}

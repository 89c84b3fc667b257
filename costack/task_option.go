package costack

// A TaskOption configures a task started with Scheduler.Go (or GoResult,
// Group.Go).
type TaskOption func(*taskSpec)

type taskSpec struct {
	name     string
	labels   []string
	group    *Group
	detached bool
	eager    bool
	phase    Phase
}

// Named names the task: Task.String, WriteTasks and OnTaskEnd show the
// name, and, with ProfileLabels, CPU profiles label the task's samples
// with task=name.
func Named(name string) TaskOption {
	return func(s *taskSpec) { s.name = name }
}

// Labels gives the task pprof labels, as key, value pairs: with
// ProfileLabels, while its body runs, the goroutine running it carries
// them (and task=name for a named task), so that CPU profiles attribute
// its samples (go tool pprof -tagfocus). An odd number of strings panics.
func Labels(keyValues ...string) TaskOption {
	if len(keyValues)%2 != 0 {
		panic("costack: Labels needs key, value pairs")
	}
	kv := append([]string(nil), keyValues...)
	return func(s *taskSpec) { s.labels = kv }
}

// InGroup puts the task in group g (see Group). A task started by a task
// body without InGroup joins its parent's group.
func InGroup(g *Group) TaskOption {
	if g == nil {
		panic("costack: InGroup(nil)")
	}
	return func(s *taskSpec) { s.group = g }
}

// Detached makes a task started by a task body a root of the task tree
// instead of the body's child: cancelling the starter does not cancel it.
func Detached() TaskOption {
	return func(s *taskSpec) { s.detached = true }
}

// InPhase sets the task's home phase (default Update): the phase it first
// runs in and resumes in after Yield and after every wait. A physics task
// lives in FixedUpdate, a camera in LateUpdate.
func InPhase(p Phase) TaskOption {
	p.check("InPhase")
	return func(s *taskSpec) { s.phase = p }
}

// Eager runs the task at once, inside Go, until its first yield or wait
// (or its end), when Go is called by a task body of the same scheduler
// during a tick — as Unity's StartCoroutine runs a coroutine, and as Go's
// runtime runs a new goroutine next. The starter waits meanwhile (it is
// Normal: the new task runs nested in its body, on its worker). From then on
// the task is scheduled as any other: after a Yield it runs in the next
// tick, in its home phase. A tree of tasks that spawn eagerly and end
// without waiting long runs depth first, with only the tasks on the current
// path alive at once (skynet). Called elsewhere (from outside the
// scheduler's tasks), or for a task born cancelled, Eager changes nothing:
// the task first runs on the next Tick.
func Eager() TaskOption {
	return func(s *taskSpec) { s.eager = true }
}

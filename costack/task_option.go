package costack

// A TaskOption configures a task started with Scheduler.Go (or GoResult,
// Group.Go).
type TaskOption func(*taskSpec)

type taskSpec struct {
	name     string
	labels   []string
	group    *Group
	detached bool
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

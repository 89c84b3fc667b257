package costack

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/costack-dev/costack/internal/engine"
)

// Name returns the name the task was started with (Named), or "".
func (t *Task) Name() string {
	if x := t.extra.Load(); x != nil {
		return x.name
	}
	return ""
}

// ID returns the task's number: 1 for the first task its scheduler
// started, 2 for the second, and so on.
func (t *Task) ID() uint64 { return t.id }

// label is "name#id" ("task#id" for an unnamed task).
func (t *Task) label() string {
	name := t.Name()
	if name == "" {
		name = "task"
	}
	return name + "#" + strconv.FormatUint(t.id, 10)
}

// String describes the task for logs and debuggers: "name#id" and its
// state, e.g. "enemy#12 waiting for yield.After(2s)", "loader#3 ready",
// "boss#7 ended: costack: coroutine panicked: ...". It is safe to call
// from any goroutine; it names what the task waits for when no task body
// can be running concurrently — from the task's own body, from the
// goroutine driving the scheduler (between ticks, in Apply functions and
// OnTaskEnd), and from any goroutine while no tick runs — and says only
// "waiting" otherwise.
func (t *Task) String() string {
	s := t.sched
	switch {
	case currentTask() == t:
		return t.label() + " running"
	case s.inSerial():
		return t.describe(true)
	case s.tickMu.TryLock():
		defer s.tickMu.Unlock()
		return t.describe(true)
	}
	return t.describe(false)
}

// describe is String's text; exact says that no body can run, so that the
// task's plain fields may be read.
func (t *Task) describe(exact bool) string {
	var b strings.Builder
	b.WriteString(t.label())
	f := t.flags.Load()
	switch {
	case f&flagDone != 0:
		b.WriteString(" ended")
		var pe *PanicError
		if err := t.Err(); errors.As(err, &pe) {
			fmt.Fprintf(&b, ": panicked: %v", pe.Value)
		} else if err != nil {
			fmt.Fprintf(&b, ": %v", err)
		} else if f&flagCancelled != 0 {
			b.WriteString(" (cancelled)")
		}
		return b.String()
	case f&flagCancelled != 0:
		b.WriteString(" cancelled")
	case t.sink.gen.Load()&1 == 1:
		b.WriteString(" waiting")
		if exact && t.waitingOn != nil {
			b.WriteString(" for ")
			b.WriteString(describeWaiter(t.waitingOn))
		}
	case f&flagHeld != 0:
		b.WriteString(" paused")
	case exact && !t.c.co.Started():
		b.WriteString(" new")
	case exact && t.c.co.Phase() == engine.Running:
		b.WriteString(" running")
	default:
		b.WriteString(" ready")
	}
	if g := t.group; g != nil && f&flagDone == 0 {
		fmt.Fprintf(&b, " [group %s]", g.name)
	}
	return b.String()
}

// describeWaiter names a Waiter: a task by its label, a fmt.Stringer by
// its String, anything else by its type.
func describeWaiter(w Waiter) string {
	switch v := w.(type) {
	case *Task:
		return "task " + v.label()
	case fmt.Stringer:
		return v.String()
	}
	return fmt.Sprintf("%T", w)
}

// WriteTasks writes a line per live task to w, for a debug page or a log:
// the task tree (children indented under their parent, in the order they
// were started), each task's name, id, state, what it waits for, and its
// group. It waits for the tick in progress to end, if any, so that it sees
// every task suspended. Call it from any goroutine but a task body (an
// Apply function or OnTaskEnd may call it). WriteTaskStacks adds each
// task's stack.
func (s *Scheduler) WriteTasks(w io.Writer) error { return s.writeTasks(w, "WriteTasks", false) }

// WriteTaskStacks is WriteTasks with each task's stack (as Task.Stack, its
// header left out) under its line: where in its body every task waits.
func (s *Scheduler) WriteTaskStacks(w io.Writer) error {
	return s.writeTasks(w, "WriteTaskStacks", true)
}

// taskLine is a live task and its depth in the task tree.
type taskLine struct {
	t     *Task
	depth int
}

// liveTasks lists the live tasks, each parent before its children, in the
// order they were started.
func (s *Scheduler) liveTasks() []taskLine {
	var lines []taskLine
	s.mu.Lock()
	defer s.mu.Unlock()
	var walk func(ts []*Task, depth int)
	walk = func(ts []*Task, depth int) {
		for _, t := range ts {
			if t.flags.Load()&flagDone != 0 {
				continue
			}
			lines = append(lines, taskLine{t, depth})
			if x := t.extra.Load(); x != nil && x.liveChildren > 0 {
				walk(x.children, depth+1)
			}
		}
	}
	walk(s.roots, 0)
	return lines
}

func (s *Scheduler) writeTasks(w io.Writer, name string, stacks bool) error {
	if t := currentTask(); t != nil && t.sched == s {
		panic("costack: Scheduler." + name + " called from a task body")
	}
	var err error
	s.withTickHeld(func() { err = s.writeTaskLines(w, stacks) })
	return err
}

// writeTaskLines is writeTasks with no tick in progress.
func (s *Scheduler) writeTaskLines(w io.Writer, stacks bool) error {
	lines := s.liveTasks()
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%d tasks at frame %d\n", len(lines), s.frame)
	for _, l := range lines {
		indent := strings.Repeat("  ", l.depth)
		bw.WriteString(indent)
		bw.WriteString(l.t.describe(true))
		bw.WriteByte('\n')
		if stacks {
			frames, _ := l.t.c.co.Frames()
			writeFrames(bw, frames, indent+"    ")
		}
	}
	return bw.Flush()
}

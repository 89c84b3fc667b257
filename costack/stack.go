package costack

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"strings"
)

// Stack returns the trace of a suspended coroutine in the format of
// runtime.Stack: a header line naming its status, then for each frame the
// function and an indented file:line, innermost first, from the call that
// yielded (Yielder.Yield, a wait) to the body. For a coroutine that is
// running, normal or dead, or fresh (its body has not started), only the
// header, which says so.
//
// On the native engine the frames are read from the saved image; on the
// portable engine the coroutine's goroutine records them. The coroutine
// is held while they are read: a Resume or Close from another goroutine
// meanwhile reports it running. It costs nothing until it is called.
func (c *Coroutine[In, Out]) Stack() []byte { return c.state().stack("coroutine") }

// Stack is the task's trace, as Coroutine.Stack, with a header naming the
// task ("name#id [status]:"). It waits for the tick in progress to end, if
// any, as WriteTasks does; called from the task's own body it gives the
// header only (the task is running), from another task's body of the
// same scheduler it panics.
func (t *Task) Stack() []byte {
	s := t.sched
	if cur := currentTask(); cur != nil && cur.sched == s {
		if cur != t {
			panic("costack: Task.Stack of another task called from a task body")
		}
		return t.c.stack(t.label())
	}
	var b []byte
	s.withTickHeld(func() { b = t.c.stack(t.label()) })
	return b
}

// stack formats the coroutine's trace, its header starting with what.
func (c *core) stack(what string) []byte {
	var b bytes.Buffer
	frames, ok := c.co.Frames()
	status := c.status().String()
	switch {
	case ok:
		status = Suspended.String()
	case status == Suspended.String() && !c.co.Started():
		status = "fresh"
	}
	fmt.Fprintf(&b, "%s [%s]:\n", what, status)
	writeFrames(&b, frames, "")
	return b.Bytes()
}

// writeFrames writes frames as runtime.Stack does, each line after
// indent; the frames that run a body (the Run methods of the engine's
// Body: the state's, a task's) are left out.
func writeFrames(w io.Writer, frames []runtime.Frame, indent string) {
	for _, f := range bodyFrames(frames) {
		fmt.Fprintf(w, "%s%s(...)\n%s\t%s:%d", indent, f.Function, indent, f.File, f.Line)
		if f.Func != nil && f.PC >= f.Entry {
			fmt.Fprintf(w, " +%#x", f.PC-f.Entry)
		}
		fmt.Fprintln(w)
	}
}

// bodyFrames cuts frames at the first that runs a body: the Run methods
// of the engine's Body (the state's, a task's).
func bodyFrames(frames []runtime.Frame) []runtime.Frame {
	for i, f := range frames {
		if strings.HasPrefix(f.Function, statePrefix) || f.Function == taskRun {
			return frames[:i]
		}
	}
	return frames
}

// statePrefix is the prefix of the names of the state's methods (Run
// among them), whatever its type arguments; taskRun names taskBody.Run.
var statePrefix, taskRun = func() (string, string) {
	name := runtime.FuncForPC(reflect.ValueOf(describeWaiter).Pointer()).Name()
	pkg := name[:strings.LastIndex(name, ".")+1]
	return pkg + "(*state[", pkg + "(*taskBody).Run"
}()

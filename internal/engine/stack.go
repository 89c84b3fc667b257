package engine

import (
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
)

// Frames returns the call stack of a suspended coroutine, innermost first:
// from the call that yielded up to the body's function, without the
// engine's own frames — what runtime.CallersFrames would give had the body
// called runtime.Callers at its yield. It reports false, and no frames,
// when the coroutine is not suspended (fresh, running, normal, finished,
// or held by another goroutine).
//
// The coroutine is held while its frames are read: a Resume or Close
// meanwhile waits for them (Acquire), and Phase still says Suspended. On the native engine they
// are read from the saved image's return addresses; on the portable engine
// the coroutine's goroutine records them, running only the engine's code.
// Nothing of this costs anything until it is called.
func (c *Coroutine) Frames() ([]runtime.Frame, bool) {
	pcs, ok := c.Callers()
	if !ok {
		return nil, false
	}
	return UserFrames(pcs), true
}

// Callers is Frames before symbolization: the return addresses of a
// suspended coroutine's frames, innermost first, the engine's included
// (UserFrames leaves them out). A caller that symbolizes many coroutines
// does so once per distinct stack.
func (c *Coroutine) Callers() ([]uintptr, bool) { return c.AppendCallers(nil) }

// AppendCallers is Callers appending to buf (from buf[:0]): a caller that
// reads many coroutines reuses one buffer.
func (c *Coroutine) AppendCallers(buf []uintptr) ([]uintptr, bool) {
	if !atomic.CompareAndSwapUint32(&c.n.phase, uint32(Suspended), uint32(inspected)) {
		return nil, false
	}
	var pcs []uintptr
	if c.n.runsPortable() {
		pcs = append(buf[:0], c.n.portState().callers()...)
	} else {
		pcs = c.n.appendCallers(buf[:0])
	}
	atomic.StoreUint32(&c.n.phase, uint32(Suspended))
	return pcs, true
}

// enginePrefix is the prefix of this package's function names.
var enginePrefix = func() string {
	name := runtime.FuncForPC(reflect.ValueOf(IsUnwind).Pointer()).Name()
	return name[:strings.LastIndex(name, ".")+1]
}()

// UserFrames symbolizes pcs from Callers (innermost first) and keeps the
// frames between the engine's: those of the yield (innermost) and those
// that run the body (outermost: run and, on the portable engine, the
// goroutine's start).
func UserFrames(pcs []uintptr) []runtime.Frame {
	if len(pcs) == 0 {
		return nil
	}
	var out []runtime.Frame
	it := runtime.CallersFrames(pcs)
	inner := true
	for {
		f, more := it.Next()
		engine := strings.HasPrefix(f.Function, enginePrefix)
		switch {
		case engine && inner:
		case engine:
			return out
		default:
			inner = false
			out = append(out, f)
		}
		if !more {
			return out
		}
	}
}

// callersMax bounds the frames a portable coroutine's goroutine records
// for Frames (runtime.Stack prints at most 100 per goroutine; a deeper
// stack is cut at its outer end, as there).
const callersMax = 1 << 16

// stackRequest is a Frames call on a portable coroutine: its goroutine is
// woken to record its own return addresses, and yields again.
type stackRequest struct {
	pcs []uintptr
}

// callers has the suspended coroutine's goroutine record its stack: a
// switch there and back, like a resume whose yield comes at once, in which
// only the engine runs (see answerStackRequests).
func (p *portable) callers() []uintptr {
	req := new(stackRequest)
	p.req = req
	syncLock(p.coro)
	p.next()
	return req.pcs
}

// answerStackRequests runs on the coroutine's goroutine as it wakes in a
// yield: while the wake-up is a stack request, not a resume, it records
// the stack and yields again.
func (p *portable) answerStackRequests() {
	for p.req != nil {
		req := p.req
		p.req = nil
		buf := make([]uintptr, 64)
		for {
			n := runtime.Callers(1, buf)
			if n < len(buf) || len(buf) >= callersMax {
				req.pcs = buf[:n]
				break
			}
			buf = make([]uintptr, 2*len(buf))
		}
		syncLock(p.coro)
		p.yield(struct{}{})
	}
}

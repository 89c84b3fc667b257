package engine

import (
	"iter"
	"unsafe"
)

// portable runs a coroutine on the runtime's coroutine switch, through
// iter.Pull: the body runs on a goroutine of its own that only ever runs
// while the resumer is blocked in next, so control passes back and forth
// exactly as on the native engine.
//
// Thread lock state follows control across every switch, as on the native
// engine (portable_lock.go): each switch first records the switcher's lock
// state in the runtime's coro (syncLock).
type portable struct {
	next  func() (struct{}, bool)
	yield func(struct{}) bool
	// coro is next's runtime coro, whose lock record syncLock keeps.
	coro *runtimeCoro
	// woke is how many cgo callbacks the body's goroutine was inside of
	// when it last woke (callbackDepth): a yield from deeper is a yield
	// from inside a callback the body made.
	woke uint32
	// req is a pending Frames request (stack.go).
	req *stackRequest
	// host is set while a native coroutine moves to this state and has
	// not yet been resumed on its goroutine (native_host.go).
	host *hostMove
}

// resume runs the body on its goroutine until it yields or ends. It
// reports false if it did not resume it: a native coroutine moving here
// whose image did not fit in its new goroutine's stack (NoStack); it
// stays as it was, to be tried again.
func (p *portable) resume(c *Coroutine) (resumed bool) {
	if p.next == nil {
		// The sequence never stops early: Close unwinds the body by resuming
		// it, so stop is only needed if the body never started, and then
		// next was never created. The thread lock probe runs before the
		// first coro is made.
		_ = portableLocks()
		p.next, _ = iter.Pull(func(yield func(struct{}) bool) {
			p.yield = yield
			p.woke = callbackDepth()
			// The body's end is a switch too (coroexit, after this
			// function returns), made in whatever lock state the body
			// left this goroutine in.
			defer p.handBack()
			if p.host != nil {
				hostRun(c, p) // continue the native image here
				return
			}
			run(c)
		})
		p.coro = coroOf(p.next)
	}
	syncLock(p.coro)
	// If the body calls runtime.Goexit, next propagates it to this
	// goroutine, as the contract asks: Resume then never returns to undo
	// its push, which is done here as the exit goes on.
	returned := false
	defer func() {
		if !returned {
			c.n.pop()
		}
	}()
	p.next()
	returned = true
	if p.host != nil {
		// The move was not made (hostRun): the goroutine has ended.
		p.next, p.yield = nil, nil
		return false
	}
	return true
}

// handBack records the body goroutine's lock state for its last switch.
func (p *portable) handBack() { syncLock(p.coro) }

func (p *portable) suspend(c *Coroutine) {
	// Only the body's goroutine, through this very coroutine (not a copy
	// of it), may yield: its record says both (startedHere).
	if goroutines.Get().current.Load() != &c.n {
		panic(msgOtherGoroutine)
	}
	if callbackDepth() > p.woke {
		panic(msgCgo)
	}
	if strictOn() {
		strictCheck()
	}
	syncLock(p.coro)
	// yield returns false only after stop, which this engine never calls.
	p.yield(struct{}{})
	if p.req != nil {
		p.answerStackRequests() // the wake-up was Frames, not a resume
	}
	p.woke = callbackDepth()
}

// portableStack is the smallest stack the runtime gives a goroutine. The
// portable engine cannot see the stack of its coroutine's goroutine, so its
// footprint is a lower bound.
const portableStack = 2048

func (p *portable) footprint() int {
	n := int(unsafe.Sizeof(*p))
	if p.next != nil {
		n += portableStack
	}
	return n
}

func (p *portable) release() {
	// coro stays: the body's goroutine hands back with it after the body
	// has ended (handBack), and next's closure holds it anyway.
	p.next, p.yield = nil, nil
}

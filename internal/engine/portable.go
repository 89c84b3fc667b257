package engine

import (
	"iter"
	"sync/atomic"
	"unsafe"

	"github.com/costack-dev/costack/internal/gls"
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
	// g and rec are the body's goroutine (gls.ID) and its record
	// (current.go), set as it starts: a yield checks that it is made there
	// without a lookup.
	g   uintptr
	rec *goroutine
	// req is a pending Frames request (stack.go).
	req *stackRequest
	// host is set while a native coroutine moves to this state and has
	// not yet been resumed on its goroutine (native_host.go).
	host *hostMove
	// woke is how many cgo callbacks the body's goroutine was inside of
	// when it last woke (lockOf's internal count): a yield from deeper is
	// a yield from inside a callback the body made. The resumer records
	// it, as the body's goroutine takes over its thread lock and with it
	// that count.
	woke uint32
}

// portableResume and portableSuspend are the portable engine's side of
// enter and yieldSwitch, which branch to them for a coroutine that has
// portable state. Each is the whole of its side's switch, in one frame:
// every return made after a goroutine switch is a mispredicted one.

// portableResume runs the body on its goroutine until it yields or ends,
// or reports NoStack if it did not resume it: a native coroutine moving
// here whose image did not fit in its new goroutine's stack; it stays as
// it was, to be tried again. The coroutine stays held either way unless it
// finished: the caller releases it.
func portableResume(n *native) {
	p := n.portState()
	n.linkParent()
	if p.next == nil {
		p.start(coroutineOf(n))
	}
	s := lockOf()
	recordState(p.coro, s)
	p.woke = s.internal
	// If the body calls runtime.Goexit, next propagates it to this
	// goroutine, as the contract asks, and does not return: the body's
	// goroutine unlinks the parent then (handBack).
	p.next()
	n.unlinkParent()
	switch {
	case p.host != nil:
		// The move was not made (hostRun): the goroutine has ended.
		p.next, p.yield = nil, nil
		n.outcome = NoStack
	case atomic.LoadUint32(&n.phase) != uint32(Finished):
		n.outcome = Yielded
	}
}

// start makes the body's goroutine, which starts at the first switch.
func (p *portable) start(c *Coroutine) {
	// The sequence never stops early: Close unwinds the body by resuming
	// it, so stop is only needed if the body never started, and then next
	// was never created. The thread lock probe runs before the first coro
	// is made.
	_ = portableLocks()
	p.next, _ = iter.Pull(func(yield func(struct{}) bool) {
		p.yield = yield
		p.g, p.rec = gls.ID(), goroutines.Get()
		returned := false
		defer p.handBack(&c.n, &returned)
		if p.host != nil {
			hostRun(c, p) // continue the native image here
		} else {
			run(c)
		}
		returned = true
	})
	p.coro = coroOf(p.next)
}

// handBack ends the body's goroutine. If the body did not return
// (runtime.Goexit), the resumer exits without returning to portableResume,
// so its unlinkParent is made here, before the resumer's deferred calls
// run. Then it records the goroutine's lock state for its last switch
// (coroexit, after this function returns), made in whatever lock state
// the body left it in.
func (p *portable) handBack(n *native, returned *bool) {
	if !*returned {
		n.unlinkParent()
	}
	syncLock(p.coro)
}

// portableSuspend switches back to the resumer, unless the coroutine is
// being closed, once the yield has passed the checks the native engine
// makes too (its goroutine, cgo callbacks and, in strict mode, the rest).
func portableSuspend(n *native) {
	n.checkYield()
	if !n.closing {
		p := n.portState()
		// Only the body's goroutine, through this very coroutine (not a
		// copy of it), may yield: its record says both (startedHere).
		if gls.ID() != p.g || p.rec.current.Load() != n {
			panic(msgOtherGoroutine)
		}
		s := lockOf()
		if s.internal > p.woke {
			panic(msgCgo)
		}
		if strictOn() {
			strictCheck()
		}
		recordState(p.coro, s)
		// yield returns false only after stop, which this engine never
		// calls.
		p.yield(struct{}{})
		if p.req != nil {
			p.answerStackRequests() // the wake-up was Frames, not a resume
		}
	}
	yieldClosing(n)
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

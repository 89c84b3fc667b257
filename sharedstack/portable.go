package sharedstack

import (
	"iter"
	"unsafe"

	"github.com/costack-dev/costack/internal/gls"
)

// portable runs a coroutine on the runtime's coroutine switch, through
// iter.Pull: the body runs on a goroutine of its own that only ever runs
// while the resumer is blocked in next, so control passes back and forth
// exactly as on the native engine.
type portable struct {
	next  func() (struct{}, bool)
	yield func(struct{}) bool
	// bodyG is the body's goroutine (gls.ID), the only one that may yield,
	// and co the coroutine, the only one that may (not a copy of it).
	bodyG uintptr
	co    *Coroutine
}

func (p *portable) resume(c *Coroutine) {
	if p.next == nil {
		// The sequence never stops early: Close unwinds the body by resuming
		// it, so stop is only needed if the body never started, and then
		// next was never created.
		p.next, _ = iter.Pull(func(yield func(struct{}) bool) {
			p.yield = yield
			p.bodyG, p.co = gls.ID(), c
			run(c)
		})
	}
	// If the body calls runtime.Goexit, next propagates it to this
	// goroutine, as the contract asks.
	p.next()
}

func (p *portable) suspend(c *Coroutine) {
	if c.n.phase != active {
		panic("costack: Yield of a coroutine that is not running")
	}
	if gls.ID() != p.bodyG || c != p.co {
		panic(msgOtherGoroutine)
	}
	// yield returns false only after stop, which this engine never calls.
	p.yield(struct{}{})
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
	p.next, p.yield, p.co = nil, nil, nil
}

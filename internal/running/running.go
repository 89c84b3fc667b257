// Package running keeps track of which coroutine is running on which
// goroutine: the bookkeeping behind costack's statuses (running, normal),
// its Yield misuse checks, and interop's no-yield guard.
package running

import "github.com/costack-dev/costack/internal/gls"

// Statuses, as costack.Status reports them.
const (
	Suspended uint8 = iota
	Running
	Normal
	Dead
)

// Co is the engine-independent state of one coroutine.
type Co struct {
	Status uint8
	// Tag is the owner's: costack marks the Co of a scheduler task with it,
	// to find the task from Current. It fits in Status's padding.
	Tag uint8
	// noYield counts calls in progress in this coroutine's body that must
	// not yield (interop.Call).
	noYield int32
	// parent is the coroutine that resumed this one, and resumer the cell
	// of the goroutine that did, while this one is on the stack (between
	// Enter and Exit). Which goroutine runs the body is the engine's
	// business: each refuses a yield from another one.
	parent  *Co
	resumer *goroutine
}

type goroutine struct {
	// current is the innermost coroutine on the stack of this goroutine
	// whose body is running, or nil. It is a plain pointer except under the
	// race detector (see current_race.go).
	current currentCo
}

var goroutines gls.Table[goroutine]

// Current returns the innermost running coroutine on the calling goroutine,
// or nil when the caller is not inside a coroutine body.
func Current() *Co { return goroutines.Get().current.load() }

// Enter marks c as running on the calling goroutine (the resumer), and the
// coroutine that was running there, if any, as normal.
func (c *Co) Enter() {
	g := goroutines.Get()
	parent := g.current.load()
	if parent != nil {
		parent.Status = Normal
	}
	c.parent, c.resumer = parent, g
	c.Status = Running
	g.current.store(c)
}

// Exit undoes Enter once the resume has ended; status is c's new status. It
// may be called on another goroutine than Enter's, while the resumer waits
// for the body (the portable engine calls Body.Ended on the body's own
// goroutine), and must be called exactly once per Enter.
func (c *Co) Exit(status uint8) {
	c.resumer.current.store(c.parent)
	if c.parent != nil {
		c.parent.Status = Running
	}
	c.parent, c.resumer = nil, nil
	c.Status = status
}

// Entered reports whether c is between Enter and Exit.
func (c *Co) Entered() bool { return c.resumer != nil }

// BodyStarted is called by the body's bottom frame, on the goroutine that
// runs the body. On the native engine that is the resumer, already marked
// by Enter; on the portable engine it is the coroutine's own goroutine.
func (c *Co) BodyStarted() { goroutines.Get().current.store(c) }

// BodyEnded is called when the body's bottom frame ends, on the goroutine
// that ran the body last (it may not be the one that started it).
func (c *Co) BodyEnded() {
	if g := goroutines.Get(); g.current.load() == c {
		g.current.store(nil)
	}
}

// CheckYield panics unless c may yield now: it must be running (not
// resuming another coroutine) and not inside a no-yield call. (That it is
// on the goroutine that runs its body, the engine checks next.)
func (c *Co) CheckYield() {
	switch {
	case c.Status == Normal:
		panic("costack: Yield of a coroutine that is resuming another coroutine: a Yielder must be used only by its own coroutine's body")
	case c.Status == Suspended:
		panic("costack: Yield of a suspended coroutine: a Yielder must not be kept past its body")
	case c.Status == Dead:
		panic("costack: Yield of a dead coroutine: a Yielder must not be kept past its body")
	case c.noYield != 0:
		panic("costack: Yield inside interop.Call: code run by interop.Call must not yield")
	}
}

// NoYield runs fn with yielding forbidden for the coroutine running on the
// calling goroutine (if any). Coroutines that fn resumes may yield.
func NoYield(fn func()) {
	c := Current()
	if c == nil {
		fn()
		return
	}
	c.noYield++
	defer func() { c.noYield-- }()
	fn()
}

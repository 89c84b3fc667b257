package sharedstack

import (
	"errors"
	"fmt"
	"runtime/debug"
	"unsafe"
)

// Outcome says how a Resume ended.
type Outcome uint8

const (
	// Yielded: the body called Yield and is suspended.
	Yielded Outcome = iota + 1
	// Returned: the body returned, or was unwound by Close.
	Returned
	// Panicked: the body panicked; Resume returned the panic.
	Panicked
)

// Panic is a panic that ended a coroutine body: its value and the stack of
// the panicking coroutine at the moment it was recovered.
type Panic struct {
	Value any
	Stack []byte
}

// phase is where a coroutine is in its life.
type phase uint8

const (
	fresh     phase = iota // created, body not started
	active                 // the body is on a stack: running, or resuming another coroutine
	suspended              // the body is suspended in Yield
	finished               // the body has returned, panicked, been closed or exited
)

// Coroutine is an engine-level coroutine. It transfers control only; it is
// not safe for concurrent use, and the caller (package costack) keeps the
// rules about who may resume and yield it.
type Coroutine struct {
	body    Body
	impl    impl
	phase   phase
	closing bool
	outcome Outcome
	// closedWhenDropped: the owner closes the coroutine if it is dropped
	// while suspended (NewBody), so the engine need not register a cleanup
	// of its own for what it holds.
	closedWhenDropped bool
	panic             *Panic
}

// Body is what a coroutine runs.
type Body interface {
	// Run is the body itself.
	Run()
	// Ended is called when Run has ended in any way (returned, panicked,
	// been unwound by Close, or runtime.Goexit), on the goroutine that ran
	// it last, before Resume or Close returns.
	Ended()
}

// funcBody adapts a plain function.
type funcBody func()

func (f funcBody) Run()   { f() }
func (f funcBody) Ended() {}

// New returns a suspended coroutine that runs body on the engine chosen by
// selectEngine. Nothing runs until the first Resume.
func New(body func()) *Coroutine {
	if body == nil {
		panic("sharedstack: New with a nil body")
	}
	return NewBody(funcBody(body))
}

// NewBody is New for a Body, for owners that need to know when the body
// ends on the goroutine that ran it and that close every coroutine they
// drop while it is suspended (package costack does, through a cleanup of
// its own). Unlike New, the engine then registers no cleanup of its own: a
// coroutine of NewBody dropped while suspended and never closed keeps its
// saved state until the process exits.
func NewBody(body Body) *Coroutine {
	c := newOn(selectOnce().active, body)
	c.closedWhenDropped = true
	return c
}

// NewOn is New on a given engine kind; it fails when that engine is not
// available in this process. It exists so that tests can run one program on
// both engines in a single process.
func NewOn(k Kind, body func()) (*Coroutine, error) {
	if body == nil {
		panic("sharedstack: New with a nil body")
	}
	return newBodyOn(k, funcBody(body))
}

// NewBodyOn is NewBody on a given engine kind.
func NewBodyOn(k Kind, body Body) (*Coroutine, error) {
	c, err := newBodyOn(k, body)
	if c != nil {
		c.closedWhenDropped = true
	}
	return c, err
}

func newBodyOn(k Kind, body Body) (*Coroutine, error) {
	if k == Portable {
		return newOn(portableEngine, body), nil
	}
	if err := Available(Native); err != nil {
		return nil, err
	}
	return newOn(nativeEngine, body), nil
}

func newOn(e *engine, body Body) *Coroutine {
	if body == nil {
		panic("sharedstack: New with a nil body")
	}
	return &Coroutine{body: body, impl: e.newImpl()}
}

// errUnwind is the value Yield panics with to unwind a coroutine that is
// being closed. The bottom frame (run) recovers it; a body that recovers it
// itself and yields again is unwound again.
var errUnwind = errors.New("sharedstack: coroutine closed")

// IsUnwind reports whether a recovered panic value is the one Close uses to
// unwind a suspended coroutine.
func IsUnwind(v any) bool { return v == errUnwind }

// Resume runs the coroutine until it yields or its body ends. It must not be
// called on a finished coroutine or one whose body is on a stack.
//
// If the body calls runtime.Goexit, Resume does not return: the body's
// deferred calls run, the coroutine is finished, and the calling goroutine
// exits as it would have had the body been a plain call.
func (c *Coroutine) Resume() (Outcome, *Panic) {
	switch c.phase {
	case active:
		panic("sharedstack: Resume of a coroutine that is running")
	case finished:
		panic("sharedstack: Resume of a finished coroutine")
	}
	c.phase = active
	c.impl.resume(c)
	return c.settle()
}

// settle reads the outcome after impl.resume returned.
func (c *Coroutine) settle() (Outcome, *Panic) {
	if c.phase == finished {
		c.impl.release()
		return c.outcome, c.panic
	}
	c.phase = suspended
	return Yielded, nil
}

// Yield suspends the running coroutine c and returns when it is resumed. It
// must be called from c's body while c is the innermost running coroutine on
// this goroutine; package costack checks that before calling.
//
// closing reports that c is being closed (it may have been closed while
// suspended, or be yielding again after a recovered unwind): the caller must
// then call Unwind instead of returning to the body.
func (c *Coroutine) Yield() (closing bool) {
	if !c.closing {
		c.impl.suspend(c)
	}
	return c.closing
}

// Unwind panics with the value that only the coroutine's bottom frame
// recovers, so that the body unwinds running its deferred calls. A body that
// recovers it itself and yields again is unwound again.
func (c *Coroutine) Unwind() { panic(errUnwind) }

// Close ends a coroutine that is suspended in Yield, running its pending
// deferred calls innermost first. A fresh coroutine becomes finished without
// running. It returns a non-nil *Panic if a deferred call panicked.
func (c *Coroutine) Close() *Panic {
	switch c.phase {
	case fresh:
		c.phase = finished
		c.outcome = Returned
		c.body = nil
		c.impl.release()
		return nil
	case finished:
		return nil
	case active:
		panic("sharedstack: Close of a coroutine that is running")
	}
	c.closing = true
	c.phase = active
	c.impl.resume(c)
	_, p := c.settle()
	return p
}

// Finished reports whether the body has ended.
func (c *Coroutine) Finished() bool { return c.phase == finished }

// Footprint reports the bytes the engine holds for c: the Coroutine itself
// and the engine's saved state.
func (c *Coroutine) Footprint() int {
	return int(unsafe.Sizeof(*c)) + c.impl.footprint()
}

// run is the bottom frame of every coroutine: the engine calls it, as a
// nested call, on the first resume. When it returns the coroutine is
// finished, whatever the body did. It keeps no locals (the deferred call is
// a method, not a closure), so it adds little to every suspended image.
func (c *Coroutine) run() {
	defer c.ended()
	c.body.Run()
	c.outcome = Returned
}

// ended is run's deferred call. It calls recover itself, as recover only
// works when called directly by the deferred function.
func (c *Coroutine) ended() {
	c.body.Ended()
	if c.outcome == Returned {
		c.finish(Returned, nil)
		return
	}
	r := recover()
	switch {
	case r == errUnwind:
		c.finish(Returned, nil)
	case r != nil:
		// The panicking frames are still on the stack while a deferred
		// call runs, so this trace shows the coroutine's frames.
		c.finish(Panicked, &Panic{Value: r, Stack: debug.Stack()})
	default:
		// runtime.Goexit: nothing can stop it. Mark the coroutine
		// finished; the engine lets the exit continue into the resumer.
		c.finish(Returned, nil)
	}
}

func (c *Coroutine) finish(o Outcome, p *Panic) {
	c.phase = finished
	c.outcome = o
	c.panic = p
	c.body = nil
}

// String describes the coroutine for debugging.
func (c *Coroutine) String() string {
	return fmt.Sprintf("sharedstack.Coroutine{phase: %d, closing: %v}", c.phase, c.closing)
}

// Started reports whether the body has begun to run.
func (c *Coroutine) Started() bool { return c.phase != fresh }

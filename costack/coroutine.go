package costack

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/costack-dev/costack/internal/running"
	"github.com/costack-dev/costack/sharedstack"
)

// Status is where a coroutine is in its life.
type Status uint8

const (
	// Suspended: created and not yet resumed, or suspended in Yield.
	Suspended Status = iota
	// Running: its body is executing.
	Running
	// Normal: its body has resumed another coroutine and waits for it to
	// yield or end.
	Normal
	// Dead: its body returned, panicked, exited or was closed.
	Dead
)

func (s Status) String() string {
	switch s {
	case Suspended:
		return "suspended"
	case Running:
		return "running"
	case Normal:
		return "normal"
	case Dead:
		return "dead"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

var (
	// ErrDead is returned by Resume of a coroutine whose body has returned,
	// panicked, exited or been closed.
	ErrDead = errors.New("costack: resume of a dead coroutine")
	// ErrRunning is returned by Resume and Close of a coroutine that is
	// running or normal, such as a coroutine resuming itself.
	ErrRunning = errors.New("costack: coroutine is running")
)

// PanicError is the error Resume and Close return when a coroutine body (or,
// for Close, one of its deferred calls) panics. The coroutine is then dead.
type PanicError struct {
	// Value is the value the body panicked with.
	Value any
	// Stack is the trace of the panicking coroutine's goroutine, taken while
	// the coroutine's frames were still on it.
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("costack: coroutine panicked: %v", e.Value)
}

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// core is the part of a coroutine that does not depend on its value types.
// The engine's coroutine is embedded: a coroutine is one allocation (plus
// its handle).
//
// co is the first field, and core is the first field of the coroutine's
// state: the engine is told the state's size (InitOwned) and does not
// retain the suspended frames' pointers into it, as the state is kept
// reachable by the handle, then by the handle's finalizer.
type core struct {
	co sharedstack.Coroutine
	running.Co
}

// Started implements sharedstack.Body for every body.
func (c *core) Started() { c.BodyStarted() }

// Resumed implements sharedstack.Body: nothing to do (the engine checks
// which goroutine may yield).
func (c *core) Resumed() {}

// Ended implements sharedstack.Body for every body: it runs on the
// goroutine that ran the body last, however the body ended (returned,
// panicked, closed, or runtime.Goexit, which never returns to resume), and
// ends the resume that was running it.
func (c *core) Ended() {
	c.BodyEnded()
	c.Exit(running.Dead)
}

// Coroutine is a stackful coroutine whose body receives values of type In
// from Resume and passes values of type Out back through Yield and its
// return value.
//
// The body runs on the goroutine that calls Resume, as a nested call; while
// it is suspended, the engine holds only its saved state (see Footprint). A
// Coroutine is not safe for concurrent use: resume it from one goroutine at
// a time, although successive resumes may come from different goroutines.
type Coroutine[In, Out any] struct {
	s *state[In, Out]
}

// state is everything a coroutine's body may reach. The handle (Coroutine)
// stays outside it, so that a handle dropped while its coroutine is
// suspended can be noticed and the coroutine closed.
//
// The body function is not a field: the engine keeps it until the body
// starts (sharedstack.Coroutine.SetBodyArg), a word less per coroutine.
type state[In, Out any] struct {
	core
	in  In
	out Out
}

// Yielder is the coroutine's side of the conversation: its body calls Yield
// to pass a value out and wait for the next Resume.
type Yielder[In, Out any] struct {
	_ noCopy
	// s is the coroutine's state: a coroutine's state is allocated as its
	// Yielder (New), so that the state needs no pointer to itself to hand
	// its body a Yielder, a word less in each of millions of coroutines.
	// A named field: none of the state's methods is the Yielder's.
	s state[In, Out]
}

// noCopy makes go vet's copylocks check report a copied Yielder: a copy is
// a copy of the coroutine's state, through which Yield panics. Zero size,
// first: the state stays at the Yielder's address.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// New returns a suspended coroutine running body. Nothing runs until the
// first Resume, whose argument becomes the body's in.
//
// A coroutine that becomes unreachable while suspended in Yield is closed
// after the collector notices (through a finalizer on the handle: do not
// set one of your own), as if Close had been called: its pending deferred
// calls run, on a new goroutine, and what it held is freed. A body that
// refers to its own Coroutine keeps it reachable and is never closed this
// way: close it explicitly.
func New[In, Out any](body func(y *Yielder[In, Out], in In) Out) *Coroutine[In, Out] {
	if body == nil {
		panic("costack: New with a nil body")
	}
	s := &new(Yielder[In, Out]).s
	s.co.InitOwned(s, unsafe.Sizeof(*s))
	s.co.SetBodyArg(*(*unsafe.Pointer)(unsafe.Pointer(&body)))
	return handle(s)
}

// newOn is New on a given engine, for tests that compare the engines in one
// process.
func newOn[In, Out any](k sharedstack.Kind, body func(y *Yielder[In, Out], in In) Out) (*Coroutine[In, Out], error) {
	s := &new(Yielder[In, Out]).s
	if err := s.co.InitOn(k, s, unsafe.Sizeof(*s)); err != nil {
		return nil, err
	}
	s.co.SetBodyArg(*(*unsafe.Pointer)(unsafe.Pointer(&body)))
	return handle(s), nil
}

// handle returns the handle of a new coroutine, with a finalizer that
// closes it if it is dropped while suspended.
//
// A finalizer rather than runtime.AddCleanup because it costs less per
// coroutine, which matters with millions of them: a finalizer with a
// static function is one runtime record (56 B, off-heap), where a cleanup
// is a larger record plus two heap objects (80 B in all). The handle never
// refers to itself and the state never refers to the handle (unless the
// body does, see New), so the usual cycle caveat of finalizers does not
// apply. The finalizer keeps the state reachable until it has run, as the
// engine requires of an owner (sharedstack.Coroutine.InitOwned).
func handle[In, Out any](s *state[In, Out]) *Coroutine[In, Out] {
	c := &Coroutine[In, Out]{s: s}
	runtime.SetFinalizer(c, dropped)
	return c
}

// handleOf is what every Coroutine handle is to its finalizer, dropped: a
// plain function of an interface, so that the finalizer's function value
// is static (a generic one would be allocated per coroutine).
type handleOf interface{ core() *core }

func (c *Coroutine[In, Out]) core() *core { return &c.s.core }

// dropped closes a coroutine whose handle became unreachable while it was
// suspended.
func dropped(h handleOf) { closeDropped(h.core()) }

// closeDropped closes a dropped coroutine. The body's deferred calls are
// user code that may block, panic or even call runtime.Goexit, so they run
// on a goroutine of their own rather than on the runtime's finalizer
// goroutine.
func closeDropped(c *core) {
	if c.Status == running.Suspended && c.co.Started() {
		go c.close()
	}
}

// Run is the body as the engine sees it (sharedstack.Body). It runs on the
// goroutine that executes the body: the resumer's (native engine) or a
// goroutine of the coroutine's own (portable engine). It has no deferred
// call, which keeps it small in every suspended image: the engine calls
// Ended however the body ends.
func (s *state[In, Out]) Run() {
	// The body function, where New left it (sharedstack.SetBodyArg): read
	// in place, as a method call would keep Run from being inlined.
	body := *(*func(y *Yielder[In, Out], in In) Out)(unsafe.Add(unsafe.Pointer(s), sharedstack.BodyArgOffset))
	// s is the first field of its Yielder (New).
	s.out = body((*Yielder[In, Out])(unsafe.Pointer(s)), s.in)
}

// Resume runs the coroutine until its body yields or ends. The first
// Resume's in is the body's argument; each later one is what the pending
// Yield returns. It returns the yielded value with done == false, or the
// body's result with done == true.
//
// Resume of a dead coroutine returns ErrDead; of a running or normal one
// (one that is on the stack already), ErrRunning. If the body panics, the
// coroutine is dead and err is a *PanicError. If the body calls
// runtime.Goexit, the coroutine is dead and the calling goroutine exits too,
// as it would had the body been a plain call.
func (c *Coroutine[In, Out]) Resume(in In) (out Out, done bool, err error) {
	s := c.s
	switch Status(s.Status) {
	case Dead:
		return out, true, ErrDead
	case Running, Normal:
		return out, false, ErrRunning
	}
	s.in = in
	// core.resume, written out: a call would be one more frame to return
	// through (a mispredicted return) on every switch.
	s.Enter()
	outcome, p := s.co.Resume()
	// The handle must stay reachable while the body runs: its finalizer
	// closes a suspended coroutine and would find this one running and
	// leave it, never to be closed.
	runtime.KeepAlive(c)
	if outcome == sharedstack.Yielded {
		s.Exit(running.Suspended)
		// The body has taken in (Yield returned it) and yielded again:
		// the state must not keep it alive.
		s.in = *new(In)
		out, s.out = s.out, out
		return out, false, nil
	}
	if outcome == sharedstack.NoStack {
		s.Exit(running.Suspended)
		s.in = *new(In)
		return out, false, stackLimitError(&s.co)
	}
	// The body ended: core.Ended has exited the resume.
	out, s.out = s.out, out
	s.in = *new(In)
	if p != nil {
		// The body panicked: it has no result. s.out may hold the value
		// of a Yield that panicked (the native engine refusing it).
		out = *new(Out)
	}
	return out, true, panicError(p)
}

// resume and close run the engine coroutine, keeping the statuses of it
// and of its parent right: Exit here when it yields, core.Ended when its
// body ends (also through runtime.Goexit, which never returns here), and
// close when it is closed before its body started.
func (c *core) resume() (sharedstack.Outcome, *sharedstack.Panic) {
	c.Enter()
	outcome, p := c.co.Resume()
	if outcome == sharedstack.Yielded || outcome == sharedstack.NoStack {
		c.Exit(running.Suspended)
	}
	return outcome, p
}

// close closes the coroutine; NoStack means it could not (it is still
// suspended).
func (c *core) close() (sharedstack.Outcome, *sharedstack.Panic) {
	c.Enter()
	o, p := c.co.Close()
	if c.Entered() {
		if o == sharedstack.NoStack {
			c.Exit(running.Suspended)
		} else {
			c.Exit(running.Dead)
		}
	}
	return o, p
}

// ErrStackLimit is returned (wrapped, with the sizes) by Resume and Close
// of a suspended coroutine whose saved frames do not fit in the calling
// goroutine's stack within the runtime's limit (runtime/debug.SetMaxStack):
// growing the stack that far would be the runtime's fatal "stack
// overflow". The coroutine was not resumed and is still suspended: resume
// or close it from a goroutine with less of its stack in use, or raise the
// limit.
var ErrStackLimit = errors.New("costack: the coroutine's saved frames do not fit in this goroutine's stack within the runtime's limit (debug.SetMaxStack); it is still suspended")

func stackLimitError(co *sharedstack.Coroutine) error {
	return fmt.Errorf("%w (%d bytes of saved frames)", ErrStackLimit, co.ImageSize())
}

func panicError(p *sharedstack.Panic) error {
	if p == nil {
		return nil
	}
	return &PanicError{Value: p.Value, Stack: p.Stack}
}

// Yield passes out to the Resume that is running the coroutine, suspends the
// body, and returns the in of the Resume that continues it.
//
// Yield must be called by the coroutine's own body while it is running: a
// Yielder used after its coroutine ended, from inside another coroutine's
// body, or from another goroutine panics. If the coroutine is closed while
// suspended, Yield does not return; the body unwinds running its deferred
// calls (a deferred recover sees a value for which IsClosing is true).
//
// Yield is small enough to be inlined into the body: the engine checks the
// rules (core.CheckYield, through sharedstack.Body) and unwinds a closed
// body itself, so no frame of this package sits in a suspended image.
func (y *Yielder[In, Out]) Yield(out Out) In {
	s := &y.s
	s.out = out
	// The function, not the method: see its doc.
	sharedstack.YieldOrUnwind(&s.co)
	// Resume clears s.in once the body has yielded again.
	return s.in
}

// IsClosing reports whether a value recovered inside a coroutine body is the
// one Close uses to unwind it. A body that recovers it should return; if it
// yields again instead, it is unwound again.
func IsClosing(recovered any) bool { return sharedstack.IsUnwind(recovered) }

// Status reports where the coroutine is in its life.
func (c *Coroutine[In, Out]) Status() Status { return Status(c.s.Status) }

// Close ends a suspended coroutine: its pending Yield does not return, and
// the body unwinds, running its deferred calls innermost first. The
// coroutine is then dead. Close returns a *PanicError if a deferred call
// panicked. Closing a dead coroutine, or one that never ran (its body then
// never runs), returns nil; closing a running or normal coroutine returns
// ErrRunning.
func (c *Coroutine[In, Out]) Close() error {
	s := c.s
	switch Status(s.Status) {
	case Dead:
		return nil
	case Running, Normal:
		return ErrRunning
	}
	o, p := s.close()
	runtime.KeepAlive(c) // as in Resume
	if o == sharedstack.NoStack {
		return stackLimitError(&s.co)
	}
	s.in, s.out = *new(In), *new(Out)
	return panicError(p)
}

// Footprint reports the bytes the engine holds for the coroutine right now:
// for a suspended coroutine, its saved state and bookkeeping, not the objects
// its body refers to.
func (c *Coroutine[In, Out]) Footprint() int {
	s := c.s
	if Status(s.Status) == Dead {
		return sizeofState[In, Out]()
	}
	// The engine's Coroutine is inside the state.
	return sizeofState[In, Out]() + s.co.Footprint() - int(unsafe.Sizeof(s.co))
}

// Engine describes the engine that runs coroutines in this process. It
// begins with "native" or "portable", followed by a detail in parentheses,
// e.g. "portable (race detector)".
func Engine() string { return sharedstack.Engine() }

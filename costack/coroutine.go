package costack

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/costack-dev/costack/internal/engine"
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

// core is the part of a coroutine that does not depend on its value types:
// the engine's coroutine, the first field of the coroutine's state (and of
// a Task), which is its owner (engine.Coroutine.InitOwned): the
// engine is told the state's size and does not retain the suspended
// frames' pointers into it, as the state is kept reachable by its handle
// (or scheduler), then by the handle's finalizer and the registry.
type core struct {
	co engine.Coroutine
}

// status is where the coroutine is in its life, read from the engine's one
// record of it.
func (c *core) status() Status {
	switch c.co.Phase() {
	case engine.Running:
		return Running
	case engine.Normal:
		return Normal
	case engine.Finished:
		return Dead
	}
	return Suspended // fresh or suspended
}

// busy is the error of a Resume or Close that could not take the
// coroutine.
func (c *core) busy() error {
	if c.co.Finished() {
		return ErrDead
	}
	return ErrRunning
}

// Coroutine is a stackful coroutine whose body receives values of type In
// from Resume and passes values of type Out back through Yield and its
// return value.
//
// The body runs on the goroutine that calls Resume, as a nested call; while
// it is suspended, the engine holds only its saved state (see Footprint).
//
// A Coroutine is used through the pointer New returns, never copied: a copy
// (go vet's copylocks check reports one) panics on use, since only that
// pointer keeps the coroutine alive. Resume and Close are safe to call from
// several goroutines at once in the sense that they cannot corrupt the
// coroutine: exactly one takes it, the others get ErrRunning (or ErrDead);
// successive resumes may come from different goroutines.
type Coroutine[In, Out any] struct {
	_ noCopy
	s *state[In, Out]
	// self is the handle's own address: a copy of the handle has another
	// one (state checks). A uintptr, not a pointer: a copy would keep
	// the original handle alive, and its coroutine would never be closed.
	self uintptr
}

// state is everything a coroutine's body may reach. The handle (Coroutine)
// stays outside it, so that a handle dropped while its coroutine is
// suspended can be noticed and the coroutine closed.
type state[In, Out any] struct {
	core
	body func(y *Yielder[In, Out], in In) Out
	in   In
	out  Out
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

// noCopy makes go vet's copylocks check report a copied Yielder or
// Coroutine. Zero size, first: the state stays at the Yielder's address.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// New returns a suspended coroutine running body. Nothing runs until the
// first Resume, whose argument becomes the body's in.
//
// A coroutine that becomes unreachable while suspended in Yield is closed
// after the collector notices, as if Close had been called: its pending
// deferred calls run, on a goroutine of this package's, and what it held
// is freed (see drop.go: a finalizer on the handle, attached only once the
// coroutine has stayed suspended across a collection; do not set one of
// your own). A
// body that refers to its own Coroutine keeps it reachable and is never
// closed this way: close it explicitly.
func New[In, Out any](body func(y *Yielder[In, Out], in In) Out) *Coroutine[In, Out] {
	if body == nil {
		panic("costack: New with a nil body")
	}
	s := &new(Yielder[In, Out]).s
	s.body = body
	s.co.InitOwned(s, unsafe.Sizeof(*s))
	return handle(s)
}

// newOn is New on a given engine, for tests that compare the engines in one
// process.
func newOn[In, Out any](k engine.Kind, body func(y *Yielder[In, Out], in In) Out) (*Coroutine[In, Out], error) {
	s := &new(Yielder[In, Out]).s
	s.body = body
	if err := s.co.InitOn(k, s, unsafe.Sizeof(*s)); err != nil {
		return nil, err
	}
	return handle(s), nil
}

func handle[In, Out any](s *state[In, Out]) *Coroutine[In, Out] {
	c := &Coroutine[In, Out]{s: s}
	c.self = uintptr(unsafe.Pointer(c))
	return c
}

// state returns the coroutine's state, or panics if c is not the handle
// New returned.
func (c *Coroutine[In, Out]) state() *state[In, Out] {
	if c.self != uintptr(unsafe.Pointer(c)) {
		panic(msgCopiedHandle)
	}
	return c.s
}

const msgCopiedHandle = "costack: use of a Coroutine that is not the one New returned (a copy, or a zero Coroutine): keep and use the *Coroutine New returned"

// Started implements engine.Body: nothing to do.
func (s *state[In, Out]) Started() {}

// Run is the body as the engine sees it (engine.Body). It runs on the
// goroutine that executes the body: the resumer's (native engine) or a
// goroutine of the coroutine's own (portable engine). It has no deferred
// call and is inlined into its instantiation wrapper, which keeps it small
// in every suspended image.
func (s *state[In, Out]) Run() {
	// s is the first field of its Yielder (New).
	s.out = s.body((*Yielder[In, Out])(unsafe.Pointer(s)), s.in)
}

// Resume runs the coroutine until its body yields or ends. The first
// Resume's in is the body's argument; each later one is what the pending
// Yield returns. It returns the yielded value with done == false, or the
// body's result with done == true.
//
// Resume of a dead coroutine returns ErrDead; of a running or normal one
// (one that is on the stack already, or being resumed by another
// goroutine), ErrRunning. If the body panics, the coroutine is dead and err
// is a *PanicError. If the body calls runtime.Goexit, the coroutine is dead
// and the calling goroutine exits too, as it would had the body been a
// plain call. If its saved frames do not fit in this goroutine's stack
// within the runtime's limit, err wraps ErrStackLimit and the coroutine is
// still suspended.
func (c *Coroutine[In, Out]) Resume(in In) (out Out, done bool, err error) {
	s := c.state()
	from, ok := s.co.Acquire()
	if !ok {
		return out, s.co.Finished(), s.busy()
	}
	// The coroutine is the caller's until it yields or ends: what its body
	// receives is written now, not before (another goroutine may have been
	// running it).
	s.in = in
	// The engine's ResumeAcquired is inlined here: its switch is called
	// from this frame, one frame less to return through (a mispredicted
	// return) on every switch.
	outcome, p := s.co.ResumeAcquired()
	// The handle stays reachable while the body runs: its finalizer would
	// find the coroutine running and leave it, never to be closed.
	runtime.KeepAlive(c)
	if outcome == engine.Yielded {
		if from == engine.Fresh {
			suspendedFirst(c) // see drop.go
		}
		// The body has taken in (Yield returned it) and yielded again:
		// the state must not keep it alive.
		s.in = *new(In)
		out, s.out = s.out, out
		s.co.Release() // last: another goroutine may resume it at once
		return out, false, nil
	}
	s.in = *new(In)
	if outcome == engine.NoStack {
		err = stackLimitError(&s.co)
		s.co.Release()
		return out, false, err
	}
	out, s.out = s.out, out
	s.body = nil // what the body refers to is no longer the coroutine's
	if p != nil {
		// The body panicked: it has no result. s.out may hold the value
		// of a Yield that panicked (the native engine refusing it).
		out = *new(Out)
	}
	return out, true, panicError(p)
}

// resume takes and runs the engine coroutine (a task's: see worker.runAll
// for the hot path); Busy if it could not take it.
func (c *core) resume() (engine.Outcome, *engine.Panic) {
	if _, ok := c.co.Acquire(); !ok {
		return engine.Busy, nil
	}
	o, p := c.co.ResumeAcquired()
	if o == engine.Yielded || o == engine.NoStack {
		c.co.Release()
	}
	return o, p
}

// close closes the engine coroutine; NoStack means it could not (it is
// still suspended), Busy that it is running, normal or finished.
func (c *core) close() (engine.Outcome, *engine.Panic) { return c.co.Close() }

// ErrStackLimit is returned (wrapped, with the sizes) by Resume and Close
// of a suspended coroutine whose saved frames do not fit in the calling
// goroutine's stack within the runtime's limit (runtime/debug.SetMaxStack):
// growing the stack that far would be the runtime's fatal "stack
// overflow". The coroutine was not resumed and is still suspended: resume
// or close it from a goroutine with less of its stack in use, or raise the
// limit.
var ErrStackLimit = errors.New("costack: the coroutine's saved frames do not fit in this goroutine's stack within the runtime's limit (debug.SetMaxStack); it is still suspended")

func stackLimitError(co *engine.Coroutine) error {
	return fmt.Errorf("%w (%d bytes of saved frames)", ErrStackLimit, co.ImageSize())
}

func panicError(p *engine.Panic) error {
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
// rules (core.CheckYield, through engine.Body) and unwinds a closed
// body itself, so no frame of this package sits in a suspended image.
func (y *Yielder[In, Out]) Yield(out Out) In {
	s := &y.s
	s.out = out
	// The function, not the method: see its doc.
	engine.YieldOrUnwind(&s.co)
	// Resume clears s.in once the body has yielded again.
	return s.in
}

// IsClosing reports whether a value recovered inside a coroutine body is the
// one Close uses to unwind it. A body that recovers it should return; if it
// yields again instead, it is unwound again.
func IsClosing(recovered any) bool { return engine.IsUnwind(recovered) }

// Status reports where the coroutine is in its life. It is safe for
// concurrent use.
func (c *Coroutine[In, Out]) Status() Status { return c.state().status() }

// Close ends a suspended coroutine: its pending Yield does not return, and
// the body unwinds, running its deferred calls innermost first. The
// coroutine is then dead. Close returns a *PanicError if a deferred call
// panicked. Closing a dead coroutine, or one that never ran (its body then
// never runs), returns nil; closing a running or normal coroutine returns
// ErrRunning; a coroutine whose saved frames do not fit in this
// goroutine's stack (see Resume) is not closed, and Close returns an error
// wrapping ErrStackLimit.
func (c *Coroutine[In, Out]) Close() error {
	s := c.state()
	o, p := s.close()
	runtime.KeepAlive(c) // as in Resume
	switch o {
	case engine.Busy:
		if s.co.Finished() {
			return nil // dead already: whoever ended it cleared the state
		}
		return ErrRunning
	case engine.NoStack:
		return stackLimitError(&s.co)
	}
	// Only this call closed it (any other gets Busy): the state is ours.
	s.in, s.out, s.body = *new(In), *new(Out), nil
	return panicError(p)
}

// Footprint reports the bytes the engine holds for the coroutine right now:
// for a suspended coroutine, its saved state and bookkeeping, not the objects
// its body refers to.
func (c *Coroutine[In, Out]) Footprint() int {
	s := c.state()
	if s.co.Finished() {
		return sizeofState[In, Out]()
	}
	// The engine's Coroutine is inside the state.
	return sizeofState[In, Out]() + s.co.Footprint() - int(unsafe.Sizeof(s.co))
}

// Engine describes the engine that runs coroutines in this process. It
// begins with "native" or "portable", followed by a detail in parentheses,
// e.g. "portable (race detector)".
func Engine() string { return engine.Engine() }

// NoYield runs fn with yielding forbidden for the coroutine running on the
// calling goroutine, if any: a Yield (or a task's wait) of that coroutine
// reached while fn runs panics, naming interop.Call, which is built on it.
// Coroutines that fn creates or resumes may yield to fn as usual. Outside a
// coroutine body NoYield simply calls fn.
func NoYield(fn func()) { engine.NoYield(fn) }

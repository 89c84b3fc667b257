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
	// NoStack: the coroutine was not resumed, and is still suspended: its
	// saved frames do not fit in the resuming goroutine's stack within the
	// runtime's limit (debug.SetMaxStack). It can be resumed from a
	// shallower place, or with a higher limit.
	NoStack

	// The engine's notes to run while the body is being continued (see
	// run): no outcome of Resume.
	noRoom      Outcome = 255 // the stack must grow first
	needReloc   Outcome = 254 // the saved image must be relocated first
	brokenFrame Outcome = 253 // run's frame is not where the walk measured it
)

// Panic is a panic that ended a coroutine body: its value and the stack of
// the panicking coroutine at the moment it was recovered.
type Panic struct {
	Value any
	Stack []byte
}

// phase is where a coroutine is in its life.
type phase uint8

// The order matters: enter accepts exactly the phases below active.
const (
	fresh     phase = iota // created, body not started
	suspended              // the body is suspended in Yield
	active                 // the body is on a stack: running, or resuming another coroutine
	finished               // the body has returned, panicked, been closed or exited
)

// Coroutine is an engine-level coroutine. It transfers control only; it is
// not safe for concurrent use, and the caller (package costack) keeps the
// rules about who may resume and yield it.
//
// The zero Coroutine is not usable: make one with New or NewOn, or embed one
// in an object of your own and set it up with Init, InitOwned or InitOn
// (package costack does, so that a coroutine is a single allocation).
type Coroutine struct {
	// n is the native engine's state. It is the first field: the engine's
	// assembly and its Go code reach the Coroutine from n at offset 0 (see
	// coroutineOf).
	n native
	// bodyTab is the method table (itab) of the Body, whose value is this
	// Coroutine's owner: a pointer to the object that begins with it (see
	// Init). The interface's data word is therefore c itself, and is not
	// stored: millions of coroutines save a word each (body).
	bodyTab unsafe.Pointer
}

// bodyOutOfLine is body, not inlined: run's frame, which is in every
// suspended image, would otherwise hold the interface value built by body
// (and body's panic call), 40 bytes more.
//
//go:noinline
func (c *Coroutine) bodyOutOfLine() Body { return c.body() }

// iface is the layout of a non-empty interface value (runtime.iface): its
// method table, then its data word.
type iface struct {
	tab  unsafe.Pointer
	data unsafe.Pointer
}

// body returns the coroutine's Body: its method table and, as the data
// word, the Coroutine (the owner's address; see bodyTab).
func (c *Coroutine) body() Body {
	if c.bodyTab == nil {
		panic("sharedstack: use of a Coroutine that was never set up (New or Init)")
	}
	return *(*Body)(unsafe.Pointer(&iface{c.bodyTab, unsafe.Pointer(c)}))
}

// Where a coroutine is in its life (phase, closing, unwinds) and how its
// body ended (outcome, and the panic in aux) are fields of the native state
// (native.go; native_none.go where there is no native engine), in padding
// there.

// coroutineOf returns the Coroutine whose native state is n.
func coroutineOf(n *native) *Coroutine { return (*Coroutine)(unsafe.Pointer(n)) }

// n must stay the first field of Coroutine (coroutineOf).
var _ [0]struct{} = [unsafe.Offsetof(Coroutine{}.n)]struct{}{}

// Body is what a coroutine runs.
type Body interface {
	// Started is called first, on the goroutine that runs the body.
	Started()
	// CheckYield is called by every yield before the coroutine suspends,
	// on the yielding goroutine: it panics if the owner's rules forbid the
	// yield. Resumed is called after the body continues, on the goroutine
	// that runs it now, by the portable engine only (on the native engine
	// that is the resumer's goroutine).
	CheckYield()
	Resumed()
	// Run is the body itself. Its frame stays in every suspended image
	// (native engine): keeping it small and inlinable (a call of the
	// user's function) saves bytes and, for a generic Run, the frame of
	// its instantiation wrapper.
	Run()
	// Ended is called when Run has ended in any way (returned, panicked,
	// been unwound by Close, or runtime.Goexit), on the goroutine that ran
	// it last, before Resume or Close returns. It is not called for a
	// coroutine closed before it started.
	Ended()
}

// funcCoroutine is the owner of a coroutine of New: a plain function.
type funcCoroutine struct {
	c Coroutine // first: the Body's value is the coroutine's owner (Init)
	f func()
}

func (o *funcCoroutine) Started()    {}
func (o *funcCoroutine) CheckYield() {}
func (o *funcCoroutine) Resumed()    {}
func (o *funcCoroutine) Run()        { o.f() }
func (o *funcCoroutine) Ended()      {}

// New returns a suspended coroutine that runs body on the engine chosen by
// selectEngine. Nothing runs until the first Resume. If the coroutine is
// dropped while suspended, what the engine holds for it is freed after the
// collector notices; its pending deferred calls do not run.
func New(body func()) *Coroutine {
	if body == nil {
		panic("sharedstack: New with a nil body")
	}
	o := &funcCoroutine{f: body}
	o.c.init(selectOnce().active.kind, o)
	return &o.c
}

// NewOn is New on a given engine kind; it fails when that engine is not
// available in this process. It exists so that tests can run one program on
// both engines in a single process.
func NewOn(k Kind, body func()) (*Coroutine, error) {
	if body == nil {
		panic("sharedstack: New with a nil body")
	}
	if err := Available(k); err != nil {
		return nil, err
	}
	o := &funcCoroutine{f: body}
	o.c.init(k, o)
	return &o.c, nil
}

// Init sets up c, which must be a zero Coroutine, to run body on the
// engine chosen by selectEngine. It is New for owners that embed the
// Coroutine in an object of their own, and that need to know when the body
// ends on the goroutine that ran it (Body.Ended). As with New, what the
// engine holds is freed if c is dropped while suspended.
//
// body must be the owner: a pointer to the object whose first field is c
// (possibly nested: c's address is the object's), for which Init panics
// otherwise. The engine keeps only body's method table.
func (c *Coroutine) Init(body Body) {
	_ = c.InitOn(selectOnce().active.kind, body, 0) // the active engine is always available
}

// InitOwned is Init for an owner object of ownerSize bytes whose first
// field is c (package costack's coroutine state). The owner promises two
// things:
//
//   - It closes the coroutine if it drops it while suspended (costack
//     does, through a finalizer on its handle, so that the body's deferred
//     calls run). The engine then registers no cleanup of its own: a coroutine of
//     InitOwned dropped while suspended and never closed keeps its saved
//     state until the process exits.
//   - The owner object stays reachable, by other means than the suspended
//     coroutine's frames, for as long as the coroutine can be resumed or
//     closed. The engine then does not retain the frames' pointers into
//     the owner (there are many: the body's receiver, its yielder), which
//     keeps a suspended coroutine's retention list short.
func (c *Coroutine) InitOwned(body Body, ownerSize uintptr) {
	_ = c.InitOn(selectOnce().active.kind, body, ownerSize)
}

// InitOn is Init (ownerSize 0) or InitOwned on a given engine kind; it
// fails when that engine is not available in this process.
func (c *Coroutine) InitOn(k Kind, body Body, ownerSize uintptr) error {
	if err := Available(k); err != nil {
		return err
	}
	if ownerSize != 0 && (ownerSize < unsafe.Sizeof(*c) || ownerSize > 1<<30) {
		panic("sharedstack: InitOwned with an owner that cannot begin with the Coroutine")
	}
	c.init(k, body)
	// An owner closes the coroutine if it drops it while suspended, so
	// the engine registers no cleanup of its own (see yieldPrepare).
	c.n.ownerLen = uint32(ownerSize)
	return nil
}

func (c *Coroutine) init(k Kind, body Body) {
	if body == nil {
		panic("sharedstack: New with a nil body")
	}
	if c.bodyTab != nil || c.n.phase != fresh {
		panic("sharedstack: Init of a coroutine already in use")
	}
	b := (*iface)(unsafe.Pointer(&body))
	if b.data != unsafe.Pointer(c) {
		panic("sharedstack: Init with a body that is not the coroutine's owner (a pointer to the object whose first field is the Coroutine)")
	}
	c.bodyTab = b.tab
	if k == Portable {
		c.n.setPortState(new(portable))
	}
}

// msgOtherGoroutine is the panic of a yield on another goroutine than the
// one running the body (both engines check it).
const msgOtherGoroutine = "costack: Yield from another goroutine than the one running the coroutine's body, or through a copy of its Yielder"

// SetBodyArg keeps p in c for its owner until the body has ended (BodyArg
// returns it): a word the owner need not keep itself, in each of
// millions of coroutines (package costack keeps its body function here).
// Only for a coroutine of InitOwned, before its first Resume.
func (c *Coroutine) SetBodyArg(p unsafe.Pointer) {
	if c.n.ownerLen == 0 || c.n.phase != fresh {
		panic("sharedstack: SetBodyArg on a coroutine that is not owned, or not fresh")
	}
	c.n.aux = p
}

// BodyArg returns what SetBodyArg kept, while the body has not ended.
func (c *Coroutine) BodyArg() unsafe.Pointer { return c.n.aux }

// BodyArgOffset is where in a Coroutine the word of SetBodyArg is: an owner
// whose generic code must stay small (package costack's Run, which must be
// inlined into its instantiation wrapper, where no method of this package
// is) reads it there without a call.
const BodyArgOffset = unsafe.Offsetof(Coroutine{}.n) + unsafe.Offsetof(Coroutine{}.n.aux)

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
//
// Resume is small enough to be inlined, and calls the switch (enter)
// directly: on the native engine a round trip returns through one frame
// less, and every return after a switch is a mispredicted one.
func (c *Coroutine) Resume() (Outcome, *Panic) {
	enter(&c.n) // checks and sets the phase (active, then suspended or finished) and the outcome
	if c.n.phase == finished {
		return c.n.outcome, (*Panic)(c.n.aux)
	}
	return c.n.outcome, nil // Yielded, or NoStack
}

// badResume is called by enter when the coroutine is active or finished.
func badResume(n *native) {
	if n.phase == active {
		panic("sharedstack: Resume of a coroutine that is running")
	}
	panic("sharedstack: Resume of a finished coroutine")
}

// portableResume and portableSuspend are the portable engine's side of
// enter and yieldSwitch, which branch to them for a coroutine that has
// portable state.
func portableResume(n *native) {
	c := coroutineOf(n)
	n.portState().resume(c)
	if n.phase != finished {
		n.phase, n.outcome = suspended, Yielded
	}
}

func portableSuspend(n *native) {
	c := coroutineOf(n)
	c.body().CheckYield()
	if !c.n.closing {
		c.n.portState().suspend(c)
		c.body().Resumed()
	}
	yieldClosing(n)
}

// yieldClosing is called by a yield that finds its coroutine being closed,
// at the yield or when resumed: YieldOrUnwind unwinds the body here, Yield
// returns closing to its caller.
func yieldClosing(n *native) {
	if c := coroutineOf(n); c.n.closing && c.n.unwinds {
		panic(errUnwind)
	}
}

// release frees what the engine held once the body has ended, or when a
// coroutine that never started is closed.
func (c *Coroutine) release() {
	if p := c.n.portState(); p != nil {
		p.release()
	} else {
		c.n.release()
	}
}

// Yield suspends the running coroutine c and returns when it is resumed. It
// must be called from c's body while c is the innermost running coroutine on
// this goroutine: before suspending, the engine calls Body.CheckYield, and
// checks again itself that c is running.
//
// closing reports that c is being closed (it may have been closed while
// suspended, or be yielding again after a recovered unwind): the caller must
// then call Unwind instead of returning to the body.
//
// Yield is small enough to be inlined, so that on the native engine the
// switch (yieldSwitch) is called directly from the caller's frame: a
// suspended image holds one frame less, and a resume returns through one
// frame less.
func (c *Coroutine) Yield() (closing bool) {
	c.n.unwinds = false
	yieldSwitch(&c.n) // returns at once if c is closing
	return c.n.closing
}

// YieldOrUnwind is Yield for callers that need nothing done between being
// closed and unwinding: if c is being closed, or is closed while
// suspended, the engine unwinds the body from here (as Unwind). The
// method and the function YieldOrUnwind are the same switch.
func (c *Coroutine) YieldOrUnwind() { YieldOrUnwind(c) }

// Unwind panics with the value that only the coroutine's bottom frame
// recovers, so that the body unwinds running its deferred calls. A body that
// recovers it itself and yields again is unwound again.
func (c *Coroutine) Unwind() { panic(errUnwind) }

// Close ends a coroutine that is suspended in Yield, running its pending
// deferred calls innermost first. A fresh coroutine becomes finished without
// running. It returns a non-nil *Panic if a deferred call panicked, and
// NoStack (the coroutine is left suspended, not closing) if its frames do
// not fit in this goroutine's stack (see NoStack); Returned otherwise.
func (c *Coroutine) Close() (Outcome, *Panic) {
	switch c.n.phase {
	case fresh:
		c.finish(Returned, nil)
		return Returned, nil
	case finished:
		return Returned, nil
	case active:
		panic("sharedstack: Close of a coroutine that is running")
	}
	c.n.closing = true
	if !c.n.portable && c.n.unwinds && c.n.closesWithoutUnwind() {
		// Unwinding would run nothing but run's deferred call, and the
		// yield (YieldOrUnwind) would run no code of the caller's: end the
		// body here, as run's deferred call would, without restoring the
		// image and panicking through it.
		c.body().Ended()
		c.finish(Returned, nil)
		return Returned, nil
	}
	o, p := c.Resume()
	if o == NoStack {
		c.n.closing = false
		return NoStack, nil
	}
	return Returned, p
}

// ImageSize reports the size in bytes of a suspended coroutine's saved
// frames (its image) on the native engine; 0 on the portable engine, or
// before the first yield.
func (c *Coroutine) ImageSize() int {
	if c.n.portable {
		return 0
	}
	return int(c.n.size)
}

// Finished reports whether the body has ended.
func (c *Coroutine) Finished() bool { return c.n.phase == finished }

// Footprint reports the bytes the engine holds for c: the Coroutine itself
// and the engine's saved state.
func (c *Coroutine) Footprint() int {
	n := int(unsafe.Sizeof(*c))
	if p := c.n.portState(); p != nil {
		return n + p.footprint()
	}
	return n + c.n.footprint()
}

// run is the bottom frame of every coroutine. The native engine's
// assembly (enter) calls it, as a nested call with c in its argument slot,
// on every resume; the portable engine once, on the coroutine's goroutine.
// When it returns the coroutine is finished, whatever the body did. Its
// deferred call (a method, not a closure) ends the body however it ends.
//
// Its one call, into(c), starts the body (startBody: Body.Run, after
// Started) or continues its suspended image (continueBody, the native
// engine on amd64, where run's frame is rebuilt on every resume and is not
// part of the image). The body's outermost frame returns to the PC after
// that one call either way, and the compiler keeps every slot that is
// live after it initialized on every path to it: the frame it returns
// into is valid whichever path built it.
//
// continueBody returns at once, with outcome noRoom, when the stack has no
// room for the image below this frame, and needReloc when the image was
// saved for another place: both can only be checked there, with no safe
// point before the copy (run's own prologue is one, at which the runtime
// may move the stack). run grows the stack or relocates the image
// (prepareResume) and calls it again, from the same call.
func run(c *Coroutine) {
	defer c.bodyEnded()
	into := startBody
	if c.n.size != 0 {
		into = continueBody
	} else {
		c.bodyOutOfLine().Started()
	}
	for {
		into(c)
		switch c.n.outcome {
		case noRoom, needReloc:
			c.n.outcome = 0
			if !c.n.prepareResume() {
				// Not resumed: the coroutine stays suspended, and
				// bodyEnded leaves it so.
				c.n.phase, c.n.outcome = suspended, NoStack
				return
			}
			continue
		case brokenFrame:
			c.n.outcome = 0
			panic("costack: native engine invariant broken (please report): the entry frame is not where the walk measured it")
		}
		break
	}
	c.n.outcome = Returned
}

// bodyEnded is run's deferred call. It calls recover itself, as recover
// only works when called directly by the deferred function.
func (c *Coroutine) bodyEnded() {
	if c.n.outcome == NoStack {
		return // not resumed (see run)
	}
	c.body().Ended()
	if c.n.outcome == Returned {
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

// finish records how the body ended and frees the engine's state: on the
// native engine the image was copied back before the body could end, and
// the body is past its last switch.
func (c *Coroutine) finish(o Outcome, p *Panic) {
	c.release() // before the phase changes: it reads aux as the image holder
	c.n.phase = finished
	c.n.outcome = o
	c.n.aux = unsafe.Pointer(p)
}

// String describes the coroutine for debugging.
func (c *Coroutine) String() string {
	return fmt.Sprintf("sharedstack.Coroutine{phase: %d, closing: %v}", c.n.phase, c.n.closing)
}

// Started reports whether the body has begun to run.
func (c *Coroutine) Started() bool { return c.n.phase != fresh }

package engine

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"unsafe"
)

// Outcome says how a Resume ended.
type Outcome uint8

const (
	// Yielded: the body called Yield and is suspended.
	Yielded Outcome = iota + 1
	// NoStack: the coroutine was not resumed, and is still suspended: its
	// saved frames do not fit in the resuming goroutine's stack within the
	// runtime's limit (debug.SetMaxStack). It can be resumed from a
	// shallower place, or with a higher limit.
	NoStack
	// Returned: the body returned, or was unwound by Close.
	Returned
	// Panicked: the body panicked; Resume returned the panic.
	Panicked
	// Busy: the coroutine was not resumed or closed: it is running, or
	// resuming another coroutine (Phase tells), or it has finished (for
	// Resume).
	Busy

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

// Phase is where a coroutine is in its life: the one record of it, which
// package costack's statuses are read from. It changes atomically (each
// change is made by whoever holds the coroutine: see Acquire), so it may be
// read from any goroutine.
type Phase uint32

const (
	// Fresh: made, its body not started.
	Fresh Phase = iota
	// Suspended: its body is suspended in Yield.
	Suspended
	// Running: its body is running, on the goroutine that resumed it.
	Running
	// Normal: its body has resumed another coroutine and waits for it to
	// yield or end.
	Normal
	// Finished: its body has returned, panicked, been closed or exited,
	// or it was closed before it started.
	Finished

	// inspected is a suspended coroutine whose stack Callers is reading:
	// never reported (Phase says Suspended), but held, so that no resume
	// or close starts meanwhile; Acquire and Close wait for it (a few
	// microseconds), so that a profile never makes a Resume fail.
	inspected
)

func (p Phase) String() string {
	switch p {
	case Fresh:
		return "fresh"
	case Suspended:
		return "suspended"
	case Running:
		return "running"
	case Normal:
		return "normal"
	case Finished:
		return "finished"
	}
	return fmt.Sprintf("Phase(%d)", uint32(p))
}

// Coroutine is an engine-level coroutine, embedded as the first field of
// its owner (package costack's coroutine state, a scheduler's task). It
// transfers control only: values travel through memory the owner keeps.
//
// Its life is one atomic phase. Resume and Close first take the coroutine
// (Acquire, or Close itself), an atomic compare-and-swap from Fresh or
// Suspended to Running: of two goroutines that try at once, exactly one
// gets it, the other is told Busy. The holder alone then runs it until it
// yields or ends.
type Coroutine struct {
	// n is the native engine's state. It is the first field: the engine's
	// assembly and its Go code reach the Coroutine from n at offset 0 (see
	// coroutineOf).
	n native
	// bodyTab is the method table (itab) of the Body, whose value is this
	// Coroutine's owner: a pointer to the object that begins with it (see
	// InitOwned). The interface's data word is therefore c itself, and is
	// not stored: millions of coroutines save a word each.
	bodyTab unsafe.Pointer
}

// bodyOutOfLine is body, not inlined: run's frame, which is in every
// suspended image on arm64, would otherwise hold the interface value built
// by body (and body's panic call).
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
		panic("sharedstack: use of a Coroutine that was never set up (InitOwned)")
	}
	return *(*Body)(unsafe.Pointer(&iface{c.bodyTab, unsafe.Pointer(c)}))
}

// coroutineOf returns the Coroutine whose native state is n.
func coroutineOf(n *native) *Coroutine { return (*Coroutine)(unsafe.Pointer(n)) }

// n must stay the first field of Coroutine (coroutineOf).
var _ [0]struct{} = [unsafe.Offsetof(Coroutine{}.n)]struct{}{}

// Body is what a coroutine runs: its owner, whose first field is the
// Coroutine.
type Body interface {
	// Run is the body itself. Its frame stays in every suspended image
	// (native engine): keeping it small and inlinable (a call of the
	// user's function) saves bytes and, for a generic Run, the frame of
	// its instantiation wrapper.
	Run()
	// Started is called first, on the goroutine that runs the body (on
	// the portable engine, a goroutine of the coroutine's own).
	Started()
}

// funcCoroutine is the owner of a coroutine of New: a plain function.
type funcCoroutine struct {
	c Coroutine // first: the Body's value is the coroutine's owner
	f func()
}

func (o *funcCoroutine) Started() {}
func (o *funcCoroutine) Run()     { o.f() }

// New returns a fresh coroutine that runs body on the engine chosen by
// selectEngine. Nothing runs until the first Resume. Like every coroutine
// of this package, one dropped while suspended keeps its saved frames: its
// owner must close it (package costack's handles do).
func New(body func()) *Coroutine {
	c, _ := NewOn(selectOnce().active.kind, body) // the active engine is always available
	return c
}

// NewOn is New on a given engine kind; it fails when that engine is not
// available in this process. It exists so that tests can run one program on
// both engines in a single process.
func NewOn(k Kind, body func()) (*Coroutine, error) {
	if body == nil {
		panic("sharedstack: New with a nil body")
	}
	o := &funcCoroutine{f: body}
	if err := o.c.InitOn(k, o, unsafe.Sizeof(*o)); err != nil {
		return nil, err
	}
	return &o.c, nil
}

// InitOwned sets up c, which must be a zero Coroutine, to run body on the
// engine chosen by selectEngine. body is c's owner: a pointer to the
// object, ownerSize bytes long, whose first field is c (possibly nested:
// c's address is the object's), for which InitOwned panics otherwise. The
// engine keeps only body's method table. The owner promises two things:
//
//   - It closes the coroutine if it drops it while suspended (package
//     costack does, once the collector finds its handle unreachable, so
//     that the body's deferred calls run). A coroutine dropped while
//     suspended and never closed keeps its saved frames until the process
//     exits.
//   - The owner object stays reachable, by other means than the suspended
//     coroutine's frames, for as long as the coroutine can be resumed or
//     closed. The engine then does not retain the frames' pointers into
//     the owner (there are many: the body's receiver, its yielder), which
//     keeps a suspended coroutine's retention list short.
func (c *Coroutine) InitOwned(body Body, ownerSize uintptr) {
	c.setup(selectOnce().active.kind, body, ownerSize) // the active engine is always available: no check
}

// InitOn is InitOwned on a given engine kind; it fails when that engine is
// not available in this process.
func (c *Coroutine) InitOn(k Kind, body Body, ownerSize uintptr) error {
	if err := Available(k); err != nil {
		return err
	}
	c.setup(k, body, ownerSize)
	return nil
}

// setup is InitOn on an engine known to be available (the probe's).
func (c *Coroutine) setup(k Kind, body Body, ownerSize uintptr) {
	if body == nil {
		panic("sharedstack: InitOwned with a nil body")
	}
	if ownerSize < unsafe.Sizeof(*c) || ownerSize > 1<<30 {
		panic("sharedstack: InitOwned with an owner that cannot begin with the Coroutine")
	}
	if c.bodyTab != nil || atomic.LoadUint32(&c.n.phase) != uint32(Fresh) {
		panic("sharedstack: InitOwned of a coroutine already in use")
	}
	b := (*iface)(unsafe.Pointer(&body))
	if b.data != unsafe.Pointer(c) {
		panic("sharedstack: InitOwned with a body that is not the coroutine's owner (a pointer to the object whose first field is the Coroutine)")
	}
	c.bodyTab = b.tab
	c.n.ownerLen = uint32(ownerSize)
	if k == Portable {
		c.n.setPortState(new(portable))
	}
}

// Phase reports where the coroutine is in its life. It is safe for
// concurrent use.
func (c *Coroutine) Phase() Phase {
	if p := Phase(atomic.LoadUint32(&c.n.phase)); p != inspected {
		return p
	}
	return Suspended
}

// Started reports whether the coroutine's body has begun to run (or it was
// closed before it did).
func (c *Coroutine) Started() bool { return c.Phase() != Fresh }

// Finished reports whether the coroutine has finished.
func (c *Coroutine) Finished() bool { return c.Phase() == Finished }

// Acquire takes a fresh or suspended coroutine for the caller, to Resume
// it: it becomes Running, and Acquire reports the phase it took it from
// (Fresh: this resume starts the body). It reports false, changing
// nothing, if the coroutine is running, normal or finished. Exactly one of
// several goroutines acquiring at once gets it. A coroutine whose stack is
// being read (Callers) is waited for, not refused.
func (c *Coroutine) Acquire() (from Phase, ok bool) {
	// The common case first, one atomic operation; written so that it is
	// inlined into Resume (within the inliner's budget).
	if !atomic.CompareAndSwapUint32(&c.n.phase, uint32(Suspended), uint32(Running)) {
		from, ok = c.acquireSlow()
	} else {
		from, ok = Suspended, true
	}
	return
}

// acquireSlow is Acquire when the coroutine was not suspended: fresh,
// held, finished, or being inspected (then it waits).
//
//go:noinline
func (c *Coroutine) acquireSlow() (Phase, bool) {
	for spins := 0; ; spins++ {
		p := atomic.LoadUint32(&c.n.phase)
		switch {
		case p == uint32(inspected):
			waitInspection(spins)
		case p > uint32(Suspended):
			return Phase(p), false
		case atomic.CompareAndSwapUint32(&c.n.phase, p, uint32(Running)):
			return Phase(p), true
		}
	}
}

// waitInspection waits a moment for Callers to give a coroutine back: it
// reads return addresses only (portable: records them on the coroutine's
// goroutine), so it is short; the first tries spin, later ones yield the
// processor.
func waitInspection(spins int) {
	if spins < 16 {
		return
	}
	runtime.Gosched()
}

// errUnwind is the value Yield panics with to unwind a coroutine that is
// being closed. The bottom frame (run) recovers it; a body that recovers it
// itself and yields again is unwound again.
var errUnwind = errors.New("sharedstack: coroutine closed")

// IsUnwind reports whether a recovered panic value is the one Close uses to
// unwind a suspended coroutine.
func IsUnwind(v any) bool { return v == errUnwind }

// Resume takes the coroutine (Acquire), resumes it (ResumeAcquired) and,
// if it is suspended again, releases it (Release); it returns Busy if it
// could not take it.
func (c *Coroutine) Resume() (Outcome, *Panic) {
	if _, ok := c.Acquire(); !ok {
		return Busy, nil
	}
	o, p := c.ResumeAcquired()
	if o <= NoStack {
		c.Release()
	}
	return o, p
}

// ResumeAcquired runs the coroutine, which the caller has taken
// (Acquire), until it yields or its body ends; the coroutine that was
// running on this goroutine, if any, is Normal meanwhile. It returns
// Yielded (the coroutine is suspended), Returned or Panicked (finished), or
// NoStack (not resumed: still suspended). Between Acquire and this, the
// owner may write what the body is to receive.
//
// A coroutine that is suspended again (Yielded, NoStack) is still the
// caller's: it reads what the body left for it, then gives the coroutine
// up with Release. Until then no other goroutine can take it (Acquire and
// Close report it Running).
//
// If the body calls runtime.Goexit, it does not return: the body's deferred
// calls run, the coroutine is finished, and the calling goroutine exits as
// it would have had the body been a plain call.
//
// It is small enough to be inlined, and calls the switch (enter) directly:
// on the native engine a round trip returns through one frame less, and
// every return after a switch is a mispredicted one.
func (c *Coroutine) ResumeAcquired() (Outcome, *Panic) {
	enter(&c.n)                   // the switch: runs the body until it yields or ends (and pushes and pops, see current.go)
	return c.n.outcome, c.n.ended // ended is nil unless the body has finished
}

// Release gives up a suspended coroutine that the caller holds (after
// ResumeAcquired returned Yielded or NoStack): it becomes Suspended, for
// whoever takes it next, on any goroutine. It must be the last thing the
// holder does with the coroutine and with the state it shares with the
// body: another goroutine may resume it at once.
func (c *Coroutine) Release() {
	if atomic.LoadUint32(&c.n.phase) != uint32(Running) {
		panic("sharedstack: Release of a coroutine that is not held")
	}
	atomic.StoreUint32(&c.n.phase, uint32(Suspended))
}

// yieldClosing is called by a yield that finds its coroutine being closed,
// at the yield or when resumed: YieldOrUnwind unwinds the body here, Yield
// returns closing to its caller.
func yieldClosing(n *native) {
	if c := coroutineOf(n); c.n.closing && c.n.unwinds {
		panic(errUnwind)
	}
}

// free frees what the engine held once the body has ended, or when a
// coroutine that never started is closed.
func (c *Coroutine) free() {
	if p := c.n.portState(); p != nil {
		p.release()
	} else {
		c.n.release()
	}
}

// Yield suspends the running coroutine c and returns when it is resumed. It
// must be called from c's body while c is the innermost running coroutine on
// this goroutine: the engine checks the rules first (checkYield), and that
// the yielding goroutine is the one running the body.
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

// Unwind panics with the value that only the coroutine's bottom frame
// recovers, so that the body unwinds running its deferred calls. A body that
// recovers it itself and yields again is unwound again.
func (c *Coroutine) Unwind() { panic(errUnwind) }

// Close ends a coroutine that is suspended in Yield, running its pending
// deferred calls innermost first; a fresh coroutine becomes finished
// without running. It takes the coroutine as Acquire does: it returns Busy,
// changing nothing, if the coroutine is running, normal or finished (the
// caller that closed or ended it got another outcome: exactly one does).
// It returns a non-nil *Panic if a deferred call panicked; NoStack (the
// coroutine is left suspended, not closing) if its frames do not fit in
// this goroutine's stack (see NoStack); Returned otherwise.
func (c *Coroutine) Close() (Outcome, *Panic) {
	for spins := 0; ; spins++ {
		switch p := Phase(atomic.LoadUint32(&c.n.phase)); p {
		case inspected:
			waitInspection(spins)
		case Running, Normal, Finished:
			return Busy, nil
		case Fresh:
			if atomic.CompareAndSwapUint32(&c.n.phase, uint32(Fresh), uint32(Running)) {
				c.finish(Returned, nil)
				return Returned, nil
			}
		case Suspended:
			if atomic.CompareAndSwapUint32(&c.n.phase, uint32(Suspended), uint32(Running)) {
				return c.closeAcquired()
			}
		}
	}
}

// closeAcquired is Close of a suspended coroutine the caller has taken.
func (c *Coroutine) closeAcquired() (Outcome, *Panic) {
	c.n.closing = true
	if !c.n.portable && c.n.unwinds && c.n.closesWithoutUnwind() {
		// Unwinding would run nothing but run's deferred call, and the
		// yield (YieldOrUnwind) would run no code of the caller's: end the
		// body here, as run's deferred call would, without restoring the
		// image and panicking through it.
		c.finish(Returned, nil)
		return Returned, nil
	}
	enter(&c.n)
	if c.n.outcome == NoStack {
		c.Release() // not closing any more (notResumed)
		return NoStack, nil
	}
	// A closing body cannot suspend again (Yield unwinds it again): it
	// finished.
	return Returned, c.n.ended
}

// ImageSize reports the size in bytes of a suspended coroutine's saved
// frames (its image) on the native engine; 0 on the portable engine, or
// before the first yield.
func (c *Coroutine) ImageSize() int {
	if c.n.runsPortable() {
		return 0
	}
	return int(c.n.size)
}

// Footprint reports the bytes the engine holds for c: the Coroutine itself
// and the engine's saved state.
func (c *Coroutine) Footprint() int {
	n := int(unsafe.Sizeof(*c))
	if p := c.n.portState(); p != nil {
		n += p.footprint()
	}
	if !c.n.runsPortable() {
		n += c.n.footprint() // native, or moving to a host: the image is saved
	}
	return n
}

// runsPortable reports whether the coroutine runs on the portable engine:
// it has portable state and is not moving to it from a saved native image
// (native_host.go), which Frames, ImageSize and Footprint still read.
func (n *native) runsPortable() bool {
	p := n.portState()
	return p != nil && p.host == nil
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
	if pushInRun && !c.n.portable {
		c.n.push() // amd64: run is called on every resume (see current.go)
	}
	into := startBody
	if c.n.size != 0 {
		into = continueBody
	} else {
		c.n.startedHere()
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
				c.n.outcome = NoStack // still held: the caller releases it
				c.n.notResumed()
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
	c.n.leftHere()
	c.n.popNative()
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
		// finished; the exit goes on into the resumer.
		c.finish(Returned, nil)
	}
}

// finish records how the body ended and frees the engine's state: on the
// native engine the image was copied back before the body could end, and
// the body is past its last switch.
func (c *Coroutine) finish(o Outcome, p *Panic) {
	c.free()
	c.n.outcome = o
	c.n.ended = p
	atomic.StoreUint32(&c.n.phase, uint32(Finished))
}

// String describes the coroutine for debugging.
func (c *Coroutine) String() string {
	return fmt.Sprintf("engine.Coroutine{phase: %v, closing: %v}", c.Phase(), c.n.closing)
}

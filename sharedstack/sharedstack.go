package sharedstack

import (
	"runtime"
	"strings"
	"unsafe"

	"github.com/costack-dev/costack/internal/engine"
)

// Kind names an engine implementation.
type Kind = engine.Kind

const (
	// Portable is the engine built on the runtime's coroutine switch.
	Portable = engine.Portable
	// Native is the shared-stack copying engine.
	Native = engine.Native
)

// Engine describes the engine new coroutines use: it begins with "native" or
// "portable", followed in parentheses by the platform and Go version and, for
// the portable engine, why it was chosen, e.g.
// "portable (linux/amd64 go1.26.8; race detector)".
func Engine() string { return engine.Engine() }

// Default returns the kind of engine New uses.
func Default() Kind { return engine.Default() }

// Available reports whether an engine kind can be used in this process, and
// if not, why.
func Available(k Kind) error { return engine.Available(k) }

// Stats are the native engine's counters and the memory its caches and its
// image arena hold (all zero where the native engine does not exist). The
// caches are bounded (a few MB in all) and drop what was not used for a GC
// cycle; the arena gives empty chunks back to the OS.
type Stats = engine.Stats

// ReadStats returns the engine's current Stats.
func ReadStats() Stats { return engine.ReadStats() }

// SetStrict turns strict mode on or off for the whole process: with it on,
// the portable engine refuses, with the native engine's panic, every yield
// that the native engine refuses, so that tests on the portable engine
// (every -race build) fail where a release build would. It is meant for a
// test binary's TestMain, before any coroutine runs, or the environment
// variable COSTACK_STRICT=1 does the same; it changes nothing on the
// native engine.
func SetStrict(on bool) { engine.SetStrict(on) }

// Strict reports whether strict mode is on.
func Strict() bool { return engine.Strict() }

// Outcome says how a Resume or Close ended.
type Outcome = engine.Outcome

const (
	// Yielded: the body called Yield and is suspended.
	Yielded = engine.Yielded
	// NoStack: the coroutine was not resumed, and is still suspended: its
	// saved frames do not fit in the resuming goroutine's stack within the
	// runtime's limit (debug.SetMaxStack). It can be resumed from a
	// shallower place, or with a higher limit.
	NoStack = engine.NoStack
	// Returned: the body returned, or was unwound by Close.
	Returned = engine.Returned
	// Panicked: the body panicked; Resume returned the panic.
	Panicked = engine.Panicked
	// Busy: the coroutine was not resumed or closed: it is running, or
	// resuming another coroutine (Phase tells), or it has finished (for
	// Resume).
	Busy = engine.Busy
)

// Panic is a panic that ended a coroutine body: its value and the stack of
// the panicking coroutine at the moment it was recovered.
type Panic = engine.Panic

// Phase is where a coroutine is in its life. It changes atomically, so it
// may be read from any goroutine.
type Phase = engine.Phase

const (
	// Fresh: made, its body not started.
	Fresh = engine.Fresh
	// Suspended: its body is suspended in Yield.
	Suspended = engine.Suspended
	// Running: its body is running, on the goroutine that resumed it.
	Running = engine.Running
	// Normal: its body has resumed another coroutine and waits for it to
	// yield or end.
	Normal = engine.Normal
	// Finished: its body has returned, panicked or been closed, or it was
	// closed before it started.
	Finished = engine.Finished
)

// Coroutine runs a func() body as a coroutine on the engine: it transfers
// control only (values travel through memory the caller keeps). Package
// costack builds typed coroutines, iterators and a scheduler on the same
// engine; this type is for programs and tests that want the engine alone.
//
// Unlike costack's handles, a Coroutine dropped while suspended is not
// closed for its owner: it keeps its saved frames until the process exits.
// Close it.
type Coroutine struct {
	o owner
}

// owner is the engine's view of a Coroutine: the engine coroutine first (an
// owner's address is its coroutine's), then the body it runs.
type owner struct {
	c engine.Coroutine
	f func()
}

func (o *owner) Started() {}
func (o *owner) Run()     { o.f() }

// New returns a fresh coroutine that runs body on the engine [Default]
// names. Nothing runs until the first Resume.
func New(body func()) *Coroutine {
	c, _ := NewOn(Default(), body) // the default engine is always available
	return c
}

// NewOn is New on a given engine kind; it fails when that engine is not
// available in this process (see [Available]).
func NewOn(k Kind, body func()) (*Coroutine, error) {
	if body == nil {
		panic("sharedstack: New with a nil body")
	}
	c := &Coroutine{o: owner{f: body}}
	if err := c.o.c.InitOn(k, &c.o, unsafe.Sizeof(c.o)); err != nil {
		return nil, err
	}
	return c, nil
}

// Resume runs the coroutine until its body yields or ends, on the calling
// goroutine. It returns Yielded, Returned, Panicked (with the panic),
// NoStack (not resumed; see NoStack) or Busy (not resumed: it is running,
// normal or finished).
func (c *Coroutine) Resume() (Outcome, *Panic) { return c.o.c.Resume() }

// Yield suspends c, which must be the innermost coroutine running on the
// calling goroutine (it panics otherwise), and returns when c is resumed.
// If c is closed while suspended, Yield does not return: the body unwinds,
// running its deferred calls.
func (c *Coroutine) Yield() { engine.YieldOrUnwind(&c.o.c) }

// Close ends a coroutine that is suspended, running its pending deferred
// calls innermost first; a fresh coroutine becomes finished without
// running. It returns Busy, changing nothing, if the coroutine is running,
// normal or finished; NoStack (left suspended) if its frames do not fit in
// this goroutine's stack; otherwise Returned, with a non-nil *Panic if a
// deferred call panicked.
func (c *Coroutine) Close() (Outcome, *Panic) { return c.o.c.Close() }

// Phase reports where the coroutine is in its life.
func (c *Coroutine) Phase() Phase { return c.o.c.Phase() }

// Frames returns the call stack of a suspended coroutine, innermost first,
// without the engine's frames or this package's; false if it is not
// suspended. It costs nothing until it is called.
func (c *Coroutine) Frames() ([]runtime.Frame, bool) {
	fs, ok := c.o.c.Frames()
	for len(fs) > 0 && strings.HasPrefix(fs[0].Function, pkgPrefix) {
		fs = fs[1:] // Yield, at the inner end
	}
	for len(fs) > 0 && strings.HasPrefix(fs[len(fs)-1].Function, pkgPrefix) {
		fs = fs[:len(fs)-1] // owner.Run, which called the body, at the outer end
	}
	return fs, ok
}

// pkgPrefix begins the name of every function of this package (and not
// those of its external tests, "sharedstack_test.").
const pkgPrefix = "github.com/costack-dev/costack/sharedstack."

// ImageSize reports the size in bytes of a suspended coroutine's saved
// frames on the native engine; 0 on the portable engine, or before the
// first yield.
func (c *Coroutine) ImageSize() int { return c.o.c.ImageSize() }

// Footprint reports the bytes the engine holds for c, its saved image
// included.
func (c *Coroutine) Footprint() int {
	return c.o.c.Footprint() + int(unsafe.Sizeof(*c)-unsafe.Sizeof(c.o.c))
}

// String describes the coroutine for debugging.
func (c *Coroutine) String() string { return c.o.c.String() }

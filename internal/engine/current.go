package engine

import (
	"sync/atomic"

	"github.com/costack-dev/costack/internal/gls"
)

// Which coroutine runs where. Each goroutine that runs coroutine bodies has
// a record of the innermost one running on it (current); each running
// coroutine records the one it was resumed from (native.parent), which is
// Normal meanwhile. This is the engine's whole record of who runs what:
// package costack's Running and Normal statuses, its Yield misuse checks,
// CurrentTask and interop.Call's no-yield guard are read from it.
//
// A coroutine is pushed when it is resumed and popped when it leaves the
// stack, by Go code of the engine's own:
//
//   - native engine: on the resuming goroutine, pushed by run's first step
//     (amd64, where enter calls run on every resume) or by enter (arm64);
//     popped as the last step of yieldPrepare (nothing of the coroutine
//     runs between it and the switch), or by run when its body ends or
//     cannot be resumed (bodyEnded, run's NoStack path), runtime.Goexit
//     included;
//   - portable engine: the body's own goroutine records its coroutine
//     (startedHere, until leftHere), so that code in the body finds it.
//     The resumer only links the parent around the switch (linkParent and
//     unlinkParent, by portableResume; when the body exits through
//     runtime.Goexit, which the resumer follows without returning, its
//     goroutine unlinks instead): nothing reads the resumer's own record
//     while it waits in the switch, so it is left as it is.

// goroutine is what the engine records of one goroutine.
type goroutine struct {
	// current is the innermost coroutine whose body runs on this
	// goroutine, or nil. Only the goroutine itself writes it, but a
	// goroutine's record is inherited by the next goroutine that reuses
	// its runtime g (gls), which the race detector cannot see ordered:
	// hence atomic.
	current atomic.Pointer[native]
}

var goroutines gls.Table[goroutine]

// push makes n, acquired by the caller, the current coroutine of the
// calling goroutine, and the coroutine current there before Normal.
func (n *native) push() {
	g := goroutines.Get()
	p := g.current.Load()
	n.parent = p
	if p != nil {
		atomic.StoreUint32(&p.phase, uint32(Normal))
	}
	g.current.Store(n)
}

// pop undoes push once n has yielded or ended (or was not resumed), on the
// same goroutine.
func (n *native) pop() { n.popFrom(goroutines.Get()) }

// popFrom is pop given the goroutine's record.
func (n *native) popFrom(g *goroutine) {
	p := n.parent
	g.current.Store(p)
	if p != nil {
		atomic.StoreUint32(&p.phase, uint32(Running))
	}
	n.parent = nil
}

// linkParent is push for a portable resume: the coroutine current on the
// calling goroutine becomes n's parent, Normal while n runs, and the
// goroutine's record stays as it is (see above).
func (n *native) linkParent() {
	p := goroutines.Get().current.Load()
	n.parent = p
	if p != nil {
		atomic.StoreUint32(&p.phase, uint32(Normal))
	}
}

// unlinkParent undoes linkParent once n has yielded or ended (or was not
// resumed).
func (n *native) unlinkParent() {
	if p := n.parent; p != nil {
		atomic.StoreUint32(&p.phase, uint32(Running))
	}
	n.parent = nil
}

// popNative pops n (pop) on the native engine, where the engine's code
// that calls it runs on the resumer's goroutine; on the portable engine
// portableResume unlinks the parent.
func (n *native) popNative() {
	if !n.portable {
		n.pop()
	}
}

// pushFor and notResumedFor are push and notResumed for arm64's enter,
// which calls them by symbol.
func pushFor(n *native)       { n.push() }
func notResumedFor(n *native) { n.notResumed() }

// notResumed undoes push for a coroutine that could not be resumed
// (NoStack): it stays suspended, and not closing either (Close reports
// NoStack), until its holder releases it.
func (n *native) notResumed() {
	n.closing = false
	n.pop()
}

// startedHere records n as current on the goroutine that starts its body:
// on the portable engine, the coroutine's own goroutine (on the native
// engine, the resumer's, where push did already).
func (n *native) startedHere() {
	if n.portable {
		goroutines.Get().current.Store(n)
	}
}

// leftHere is called when n's body ends, on the goroutine that ran it
// last: on the portable engine, the coroutine's own, which no longer runs
// it.
func (n *native) leftHere() {
	if n.portable {
		goroutines.Get().current.CompareAndSwap(n, nil)
	}
}

// The panics of a yield that breaks the rules (checkYield).
const (
	msgYieldNormal    = "costack: Yield of a coroutine that is resuming another coroutine: a Yielder must be used only by its own coroutine's body"
	msgYieldSuspended = "costack: Yield of a suspended coroutine: a Yielder must not be kept past its body"
	msgYieldDead      = "costack: Yield of a dead coroutine: a Yielder must not be kept past its body"
	msgYieldInCall    = "costack: Yield inside interop.Call: code run by interop.Call must not yield"
	msgNeverSetUp     = "costack: Yield of a coroutine that was never set up: a Yielder (or Task) must be the one its coroutine's body was given"
	// msgOtherGoroutine is the panic of a yield on another goroutine than
	// the one running the body (both engines check it).
	msgOtherGoroutine = "costack: Yield from another goroutine than the one running the coroutine's body, or through a copy of its Yielder"
)

// checkYield panics unless n may yield now: it must be running (not
// resuming another coroutine) and not inside a no-yield call. (That the
// yield comes from the goroutine running the body, each engine checks
// next.)
func (n *native) checkYield() {
	switch Phase(atomic.LoadUint32(&n.phase)) {
	case Normal:
		panic(msgYieldNormal)
	case Fresh:
		if coroutineOf(n).bodyTab == nil {
			panic(msgNeverSetUp)
		}
		panic(msgYieldSuspended)
	case Suspended, inspected:
		panic(msgYieldSuspended)
	case Finished:
		panic(msgYieldDead)
	}
	if n.noYield != 0 {
		panic(msgYieldInCall)
	}
}

// Current returns the owner (the Body) of the innermost coroutine whose
// body runs on the calling goroutine, or nil.
func Current() Body {
	n := goroutines.Get().current.Load()
	if n == nil {
		return nil
	}
	return coroutineOf(n).body()
}

// IsCurrent reports whether c is the innermost coroutine running on the
// calling goroutine: whether the caller is c's body.
func (c *Coroutine) IsCurrent() bool { return goroutines.Get().current.Load() == &c.n }

// CheckYield panics as a yield of c would if the rules forbid it now (see
// checkYield), for owners that must check before they touch their own
// state.
func (c *Coroutine) CheckYield() { c.n.checkYield() }

// NoYield runs fn with yielding forbidden for the coroutine running on the
// calling goroutine (if any): a yield of it inside fn panics. Coroutines
// that fn resumes may yield.
func NoYield(fn func()) {
	n := goroutines.Get().current.Load()
	if n == nil {
		fn()
		return
	}
	if n.noYield == ^uint16(0) {
		panic("costack: interop.Call nested too deep")
	}
	n.noYield++
	defer func() { n.noYield-- }()
	fn()
}

//go:build go1.26 && !go1.28 && !wasm

// Thread locking on the portable engine.
//
// The runtime's coroutine switch (runtime/coro.go, coroswitch_m) hands the
// switching goroutine's locked OS thread, if any, to the goroutine it
// switches to: lockedm and lockedg move, the M's lock counts stay, and the
// woken goroutine runs on the thread. Lock state thus follows control,
// which is what the native engine gets by running the body on its
// resumer's goroutine. But the switch first compares the switcher with the
// state the coro recorded when it was created (newcoro: the creator's M
// and that M's lockedExt and lockedInt counts, or nothing if it was not
// locked), and throws "coro: OS thread locking must match locking at
// coroutine creation" when the coro was created locked or the switcher is
// locked, unless they are equal. That check, not the hand-off, is what
// kills a body that locks its thread and yields, or a coroutine first
// resumed on a locked goroutine and later from another one.
//
// So before every switch (resume, yield, and the body's end, which is a
// switch too: coroexit) the engine writes the switcher's own lock state
// into the coro (syncLock): the check then always passes and the runtime's
// hand-off does the rest. The only reader of those fields is that check.
// The fast path, an unlocked switcher and a coro that records nothing, is
// one call of runtime.lockedOSThread and a few loads.
//
// A yield from inside a cgo callback made by the body is refused instead:
// the C frames below the callback live on the thread's system stack, which
// the resumer would go on using (returning from its own callbacks into C
// frames below them), so they cannot be suspended. The body's goroutine is
// then locked with a larger internal lock count (lockedInt, which only cgo
// callbacks, the debugger's injected calls and package initialization
// raise) than when it last woke.
//
// What is mirrored, and checked before use by probeLocks on a goroutine of
// its own (a failed check leaves the runtime's own rule in force, and
// portableLocks returns why):
//
//   - runtime.coro (runtime/coro.go): gp, f, mp, lockedExt, lockedInt,
//     the same in Go 1.26 and 1.27.
//   - The coro's place in iter.Pull's next closure (iter/iter.go, Go 1.26
//     and 1.27 identical): the function word, then the captured &pull,
//     then the captured c.
//   - runtime.m's lockedExt and lockedInt (runtime/runtime2.go): found by
//     the probe, as the adjacent pair of uint32 that holds the counts the
//     runtime itself recorded in coros made at several lock depths.
//     TestLockMirrorMatchesDWARF pins the offsets, and runtime.coro's,
//     against the DWARF of a program built like the test binary.
//   - runtime.getm (a push linkname the runtime keeps for other modules,
//     "do not remove or change the type signature") and
//     runtime.lockedOSThread (a push linkname for tests).

package engine

import (
	"errors"
	"fmt"
	"iter"
	"runtime"
	"sync"
	"unsafe"
)

// getm returns the calling goroutine's M (runtime.getm returns it as a
// uintptr; the same word, read as the pointer it is).
//
//go:linkname getm runtime.getm
func getm() unsafe.Pointer

// lockedOSThread reports whether the calling goroutine is locked to its
// OS thread (by LockOSThread, a cgo callback, or package initialization).
//
//go:linkname lockedOSThread runtime.lockedOSThread
func lockedOSThread() bool

// runtimeCoro mirrors runtime.coro.
type runtimeCoro struct {
	gp        uintptr        // guintptr: the goroutine blocked in the coro
	f         unsafe.Pointer // func(*coro)
	mp        unsafe.Pointer // *m: the creator's M if it was locked, else nil
	lockedExt uint32         // the M's LockOSThread count at creation
	lockedInt uint32         // the M's internal lock count at creation
}

// pullCoroSlot is the index of the captured coro in the words of iter.Pull's
// next closure (the function word is 0).
const pullCoroSlot = 2

// coroOf returns the runtime coro of a next function made by
// iter.Pull[struct{}].
func coroOf(next func() (struct{}, bool)) *runtimeCoro {
	words := *(**[pullCoroSlot + 1]unsafe.Pointer)(unsafe.Pointer(&next))
	return (*runtimeCoro)(words[pullCoroSlot])
}

// lockState is a goroutine's thread lock state as the runtime's switch
// compares it: its M and the M's counts, or the zero value if it is not
// locked.
type lockState struct {
	mp            unsafe.Pointer
	ext, internal uint32
}

// mLockedExtOff is the offset of lockedExt in runtime.m (lockedInt
// follows it), found by probeLocks.
var mLockedExtOff uintptr

// currentLock returns the calling goroutine's lock state. A goroutine that
// is not locked may move to another M at any instruction, but it cannot
// become locked behind its own back, so it is tested first; a locked one
// stays on its M.
func currentLock() lockState {
	if !lockedOSThread() {
		return lockState{}
	}
	return lockedState()
}

// lockedState is currentLock for a goroutine known to be locked (out of
// line, so that lockOf's unlocked fast path is inlined into the switches).
func lockedState() lockState {
	mp := getm()
	return lockState{
		mp:       mp,
		ext:      *(*uint32)(unsafe.Add(mp, mLockedExtOff)),
		internal: *(*uint32)(unsafe.Add(mp, mLockedExtOff+4)),
	}
}

// lockOf is currentLock once the mirror is in use, and the zero value
// otherwise: what syncLock records. Its internal count is the callback
// depth: how many cgo callbacks (and debugger calls, and package
// initializations) the goroutine is inside of. The portable engine's
// switches read it once for both.
func lockOf() lockState {
	if !lockMirror || !lockedOSThread() {
		return lockState{}
	}
	return lockedState()
}

// syncLock makes the coro record the calling goroutine's lock state, so
// that the switch it is about to make passes the runtime's check (see the
// file comment). Nothing between it and the switch may lock or unlock the
// thread.
func syncLock(c *runtimeCoro) { recordState(c, lockOf()) }

// recordState is syncLock given the lock state lockOf returned, with
// nothing that locks or unlocks the thread since.
func recordState(c *runtimeCoro, s lockState) {
	if lockMirror {
		setLock(c, s)
	}
}

// recordLock is syncLock without the mirror check, for the probe.
func recordLock(c *runtimeCoro) { setLock(c, currentLock()) }

// setLock writes s into the coro, unless it is recorded already (a coro
// that records no lock has zero counts: newcoro and setLock write all
// three fields together).
func setLock(c *runtimeCoro, s lockState) {
	if c.mp != s.mp || c.lockedExt != s.ext || c.lockedInt != s.internal {
		c.mp, c.lockedExt, c.lockedInt = s.mp, s.ext, s.internal
	}
}

// lockMirror is set once probeLocks has passed, before the first portable
// coroutine is set up (portableLocks); read-only afterwards.
var lockMirror bool

// portableLocks runs probeLocks once, on a goroutine of its own: the probe
// locks and unlocks that goroutine's thread, and must not depend on the
// caller's lock state. Every portable coroutine is set up after it.
var portableLocks = sync.OnceValue(func() error {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		// On 32-bit platforms a coro is larger than the pull state
		// captured next to it, which the probe would read past.
		return errors.New("not probed on 32-bit platforms")
	}
	done := make(chan error)
	go func() { done <- probeLocks() }()
	err := <-done
	lockMirror = err == nil
	return err
})

var errLockProbe = errors.New("thread lock probe failed")

// probeLocks checks every mirrored layout against what the runtime itself
// records, on the calling goroutine, which must not be locked; it leaves
// it unlocked. It sets mLockedExtOff.
func probeLocks() error {
	if lockedOSThread() {
		return fmt.Errorf("%w: the probe's goroutine is locked", errLockProbe)
	}
	// depth is how many times this goroutine has locked its thread.
	depth := 0
	to := func(d int) {
		for ; depth < d; depth++ {
			runtime.LockOSThread()
		}
		for ; depth > d; depth-- {
			runtime.UnlockOSThread()
		}
	}
	defer to(0)
	noop := func(func(struct{}) bool) {}
	// record returns what a coro made now records; the coro is stopped at
	// once, in the state it was made in, which the runtime accepts.
	record := func() (gp uintptr, f, mp unsafe.Pointer, ext, in uint32) {
		next, stop := iter.Pull(noop)
		defer stop()
		c := coroOf(next)
		return c.gp, c.f, c.mp, c.lockedExt, c.lockedInt
	}
	if gp, f, mp, ext, in := record(); gp == 0 || f == nil || mp != nil || ext != 0 || in != 0 {
		return fmt.Errorf("%w: iter.Pull's coro is not laid out as in Go 1.26", errLockProbe)
	}
	to(1)
	mp := getm() // the goroutine stays on it while depth > 0
	for _, d := range []int{1, 3, 2} {
		to(d)
		if _, _, cmp, ext, in := record(); !lockedOSThread() || cmp != mp || ext != uint32(d) || in != 0 {
			return fmt.Errorf("%w: a coro made at lock depth %d records (%v, %d, %d)", errLockProbe, d, cmp == mp, ext, in)
		}
	}
	// The M's counts: the first adjacent pair of uint32 that holds (d, 0)
	// at depths 1, 3, 2 and 6. A candidate that fails is passed over, and
	// the real field passes, so the search never reads beyond it.
	counts := func(off uintptr) (uint32, uint32) {
		return *(*uint32)(unsafe.Add(mp, off)), *(*uint32)(unsafe.Add(mp, off+4))
	}
	const searchLimit = 4096 // runtime.m is 1,824 bytes in Go 1.26
	found := uintptr(0)
search:
	for off := uintptr(0); off < searchLimit; off += 4 {
		to(1)
		if e, i := counts(off); e != 1 || i != 0 {
			continue
		}
		for _, d := range []int{3, 2, 6} {
			to(d)
			if e, i := counts(off); e != uint32(d) || i != 0 {
				continue search
			}
		}
		found = off
		break
	}
	if found == 0 {
		return fmt.Errorf("%w: runtime.m's lock counts not found", errLockProbe)
	}
	mLockedExtOff = found
	to(5)
	if s := currentLock(); s.mp != mp || s.ext != 5 || s.internal != 0 {
		return fmt.Errorf("%w: lock counts read back as (%d, %d) at depth 5", errLockProbe, s.ext, s.internal)
	}
	// The hand-off itself, which the runtime would refuse without
	// syncLock: a coro made at depth 2, stopped at depth 4 (its goroutine
	// starts, locked to this thread, and exits), and one made at depth 1,
	// stopped unlocked.
	for _, dd := range [][2]int{{2, 4}, {1, 0}} {
		to(dd[0])
		next, stop := iter.Pull(noop)
		to(dd[1])
		recordLock(coroOf(next))
		stop()
	}
	return nil
}

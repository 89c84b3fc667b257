//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package engine

import (
	"sync/atomic"
	"unsafe"
)

// Moving a coroutine to a host: a goroutine of its own.
//
// A native yield copies the live frames out and a resume copies them back,
// so a round trip costs O(image) (plus O(changed frames) to retain them, on
// a trail): cheap for the few frames of a game entity, dear for a
// recursive generator a few hundred frames deep, where a goroutine switch
// (the portable engine's, iter.Pull's) costs the same at any depth. Host
// lets the owner (package costack's Pull, which measures its iterator's
// yields: see HostAdvised) move a suspended native coroutine onto a
// goroutine of its own, the portable engine's way of running, where it
// stays until it ends. Its memory is then that goroutine's stack, as
// iter.Pull's iterators have.
//
// The move is made at the coroutine's next resume (or close), in three
// steps, each on a goroutine that holds the coroutine:
//
//  1. Host, on the holder's goroutine, gives the coroutine a portable state
//     whose host field records the move. The native image, its retention
//     list and its shape stay as they are; only keep changes, to the
//     portable state (the assembly's dispatch tests native.portable), and
//     the retention list moves into the hostMove, which keeps it alive.
//  2. The next resume (or Close) dispatches to the portable engine, which
//     starts the coroutine's goroutine, the host, with hostRun: it sets
//     hostNext, makes the coroutine native again for one resume and
//     resumes the image natively there (enter: the host's stack grows to
//     fit and the image is relocated, as for any resume).
//  3. switchIn sees hostNext and returns into yieldSwitch, which calls
//     becomeHosted before any of the body's code runs: the frames are on
//     the host's stack now, with every pointer the GC must see in them (so
//     the image, the retention list and the shape are freed), and the
//     coroutine becomes portable for good. The resume goes on into the
//     body as any portable resume; its yields switch goroutines.
//
// If the image does not fit in the host's stack within the runtime's
// limit, the resume reports NoStack and the coroutine is left as step 1
// left it, to be tried again. Between steps 1 and 3 the coroutine is
// suspended as a native one: Frames reads its image, Footprint counts it.

// hostMove is a move to a host in progress.
type hostMove struct {
	// keep is the retention list (native.keep's value: an array, or with
	// keepInline the one retained pointer), kept alive here while keep
	// holds the portable state.
	keep unsafe.Pointer
	// parent is the resumer's coroutine (native.parent, set by the
	// resumer's push), which the native resume on the host overwrites.
	parent *native
}

// Thresholds of HostAdvised: a yield whose image was described by a cached
// shape costs O(image) in two copies, more than a goroutine switch from
// about 2 KiB (the round-trip rows at depth 16 and 64); one walked or
// trailed costs O(changed frames) more, with constants that make it dearer
// than a switch from a few hundred bytes (the tree walk rows, 2^6 to 2^20
// nodes through Pull).
const (
	hostShapedImage = 2048
	hostWalkedImage = 256
)

// HostAdvised reports whether the coroutine's last yield, by the engine's
// cost model, cost more than a goroutine switch would: its image was at
// least 2 KiB, or at least 256 bytes and not described by a cached shape (a
// recursive generator's chain). Only its holder may ask (between a Resume
// that yielded and Release, or with the coroutine suspended and not shared).
func (c *Coroutine) HostAdvised() bool {
	n := &c.n
	if n.portable || n.size < hostWalkedImage {
		return false
	}
	if n.size >= hostShapedImage {
		return true
	}
	s := n.shape.current()
	return s == nil || s.trail != nil
}

// Host moves a suspended native coroutine to a goroutine of its own, where
// its next resume continues it and it stays until it ends (see above). It
// reports false, changing nothing, if the coroutine is not a suspended
// native one (fresh, running, finished, closing, portable already) or the
// portable engine cannot follow thread locks in this process.
func (c *Coroutine) Host() bool {
	n := &c.n
	if n.portable || n.size == 0 || portableLocks() != nil {
		return false
	}
	if !atomic.CompareAndSwapUint32(&n.phase, uint32(Suspended), uint32(Running)) {
		return false
	}
	p := &portable{host: &hostMove{keep: unsafe.Pointer(n.keep)}}
	n.setPortState(p)
	atomic.StoreUint32(&n.phase, uint32(Suspended))
	return true
}

// hostRun is the body of the host's goroutine for a coroutine moving to
// it (step 2): it resumes the native image here, and returns when the body
// has ended, or at once if the image did not fit (NoStack), restoring the
// move's first step.
func hostRun(c *Coroutine, p *portable) {
	n := &c.n
	p.host.parent = n.parent
	// keep stays p: becomeHosted finds it there. The retention list is
	// held by p.host until the frames are on this stack.
	n.portable, n.hostNext = false, true
	enter(n)
	if n.hostNext {
		// Not resumed (enter's NoStack): back to step 1. enter popped.
		n.hostNext, n.portable = false, true
		n.parent = p.host.parent
	}
}

// becomeHosted is step 3, called by yieldSwitch on the host's goroutine
// once the image is on its stack (and defer records relinked), before any
// of the body's code runs. The frames hold every pointer the GC must see,
// so the native engine's saved state is freed; the coroutine is portable
// from here on, current on this goroutine (enter's push), and its resumer's
// coroutine its parent again.
func becomeHosted(n *native) {
	p := (*portable)(unsafe.Pointer(n.keep))
	mv := p.host
	p.host = nil
	n.release() // hostNext too

	n.setPortState(p)
	n.parent = mv.parent
}

//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package engine

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/costack-dev/costack/internal/rt"
)

// The yield: what yieldSwitch calls while the coroutine's frames are still
// on the stack, to describe them, retain their heap pointers and detach
// their defer records before the switch copies them out (I2, I4, I5, I6;
// docs/engine.md §3.2).

// fullWalks counts the yields that walked their chain in full (tests
// check that a recursive generator's yields do not).
var fullWalks atomic.Int64

// yieldPrepare runs on the coroutine's stack, called by yieldSwitch. It
// finds the image's bottom (where the return PC of yieldSwitch's CALL of
// switchOut will be) from yieldSwitch's frame pointer, and checks it: the
// slot where yieldSwitch's continuation PC will be must hold a PC of
// yieldSwitch. It refuses what it cannot prove safe (I5, I6), describes the
// frames in [bottom, base) (the coroutine's shape if it still fits, a
// cached shape, or a walk of the chain), sizes the buffers and fills the
// retention list. bottom is an unsafe.Pointer into this stack, so the
// runtime adjusts it if the stack moves during the calls below; every
// other position is an offset from it.
func yieldPrepare(n *native) {
	n.checkYield()
	gp := rt.GetG()
	bottom := yieldBottom()
	if pc := *(*uintptr)(unsafe.Add(bottom, firstPCOff)); pc != ysPrepareRet.Load() {
		checkYieldBottom(pc)
	}
	// A yield must come from the goroutine running the body and through
	// this very native, not a copy of the object that holds it (say, a
	// copied costack.Yielder: the copy would take the image into the same
	// block): the goroutine's record (current.go) says both.
	rec := goroutines.Get()
	if rec.current.Load() != n {
		panic(msgOtherGoroutine)
	}
	size := gp.StackHi - uintptr(n.baseOff) - uintptr(bottom) // no call in between: consistent
	if size == 0 || size%8 != 0 || size > gp.StackHi-uintptr(bottom) {
		panic("costack: native engine lost the coroutine's entry frame (please report)")
	}
	if size > maxImage {
		panic(fmt.Sprintf("%s (%d bytes)", msgImageTooBig, size))
	}

	// I5: the runtime links panics in progress and non-open-coded defer
	// records from the goroutine; such a record inside the region would be
	// left dangling by the copy. Refuse instead.
	if uintptr(gp.Panic)-uintptr(bottom) < size {
		panic(msgPanicking)
	}
	// The fast path: the chain the coroutine's last yield had (its shape),
	// the same size (its block fits), no defer record pending anywhere on
	// the goroutine, a retention list that fits as it is. Its cost is the
	// return PCs compared, the live slots classified: nothing else may go
	// here.
	if gp.Defer == nil && uintptr(n.size) == size {
		last := n.shape.current() // a trail's record if the trail was the last yield's
		s := last
		if s == nil || s.size != size || !s.matches(bottom) {
			s = lookupShape(bottom, size) // another chain of the same size: many sites
		}
		if s != nil {
			ctx := retention{gp: gp, owner: uintptr(unsafe.Pointer(n)), ownerLen: uintptr(n.ownerLen)}
			keep := n.keepSlice()
			if k := s.retain(bottom, keep, &ctx); k >= 0 && n.nkeep <= 4*uint32(k)+32 {
				clear(keep[k:])
				if last != s {
					if n.shape != nil && n.shape.trail != nil {
						n.shape.shaped = s // the trail is kept, not current
						n.shape.trail.stale()
					} else {
						n.shape = s
					}
					n.flags = s.flags()
				}
				n.popFrom(rec) // last: nothing of the coroutine runs until the switch
				return
			}
		}
	}
	yieldFull(n, gp, bottom, size)
}

// yieldFull is yieldPrepare's general path: every yield whose chain is not
// the one the coroutine's last yield had, or with defer records pending,
// or whose image or retention list changes size.
func yieldFull(n *native, gp *rt.G, bottom unsafe.Pointer, size uintptr) {
	// The coroutine's defer records: checked now, detached last. records
	// is how many there are, stackRecs the offsets of the stack-allocated
	// ones (roots for retention: the GC reaches them through g._defer, not
	// through the frames).
	var recBuf [8]uint32
	records, stackRecs := 0, recBuf[:0]
	if gp.Defer != nil {
		records, stackRecs = checkDefers(gp, bottom, size, stackRecs)
	}
	var refs []deferRef
	if records > 0 {
		refs = make([]deferRef, records)
	}

	// The frames: the coroutine's own trail if it can be continued (a
	// recursive generator: only the frames that changed are walked and
	// retained), the coroutine's shape if the chain is the one it had,
	// else a cached one, else a walk (which may give the chain a shape, if
	// it recurs, or the coroutine a trail).
	owner, ownerLen := uintptr(unsafe.Pointer(n)), uintptr(n.ownerLen)
	keep := n.keepSlice()
	ctx := &retention{gp, owner, ownerLen, nil}
	s := n.shape
	var tr *trail
	k := -1 // the retention list's count, once filled
	if s != nil && s.trail != nil {
		tr, s = s.trail, s.shaped
		// The trail continues from the last yield only if it was that
		// yield's (the saved image and the retention list are its).
		if s == nil && len(stackRecs) == 0 && n.blkPtr != 0 && len(keep) > 0 {
			kk, why, ok := tr.resume(bottom, size, unsafe.Add(nil, n.blkPtr), keep, ctx)
			if why != "" {
				panic(why)
			}
			if ok {
				k = kk
				admitTrailed(tr, bottom, size)
			}
		}
	}
	var ch *chain
	if k < 0 {
		if s == nil || s.size != size || !s.matches(bottom) {
			s = lookupShape(bottom, size)
		}
		if s == nil {
			fullWalks.Add(1)
			ch = getChain()
			if why := ch.walk(bottom, size, 0); why != "" {
				panic(why)
			}
			ch.collectObjects(size)
			s = admitShape(ch, bottom, size)
		}
	}
	// A walked chain left without a shape is trailed, if it can be (no
	// stack-allocated defer record).
	trailed := k >= 0 || s == nil && len(stackRecs) == 0
	switch {
	case trailed:
		if tr == nil {
			tr = new(trail)
		}
		if n.shape == nil || n.shape.trail != tr {
			n.shape = &shape{trail: tr}
		}
		n.shape.shaped = nil
	case tr != nil && s != nil:
		n.shape.shaped = s // the trail is kept for the chains without a shape
		tr.stale()
	case n.shape != s:
		n.shape = s
	}
	if !trailed {
		tr = nil
	}
	openDefers := false
	var objs []chainObj
	switch {
	case s != nil:
		openDefers, objs = s.openDefers, s.objs
	case ch != nil:
		openDefers, objs = ch.openDefers, ch.objs
	}

	// A stack-allocated record is raw frame memory, not a stack object
	// (the runtime reaches it through g._defer, so the compiler records
	// none): neither relocation nor retention sees its fields. Its fn is
	// a closure on the heap (retained here, with the rest) or in the region
	// (a stack object: a root for retention; kept as an offset while
	// suspended); its link and sp are rebuilt on resume. A record overlapping a stack
	// object would be relocated twice: refused. (This is the rare path:
	// the slices are allocated only for it, and each value is classified
	// in the expression that reads it.)
	var roots []uint32
	var heapFns []unsafe.Pointer
	if len(stackRecs) > 0 {
		roots, heapFns = make([]uint32, 0, len(stackRecs)), make([]unsafe.Pointer, 0, len(stackRecs))
		for _, off := range stackRecs {
			if objectIn(objs, off) >= 0 || objectIn(objs, off+uint32(unsafe.Sizeof(rt.Defer{}))-1) >= 0 {
				panic("costack: Yield with a pending stack-allocated defer record inside a stack object is not supported on the native engine (please report)")
			}
			fn := (*rt.Defer)(unsafe.Add(bottom, off)).Fn
			if rel := uintptr(fn) - uintptr(bottom); rel < size {
				roots = append(roots, uint32(rel))
			} else if fn != nil {
				heapFns = append(heapFns, fn)
			}
		}
	}

	// The image block: the smallest class that holds the image; a smaller
	// one after a deep excursion.
	if blk := blockSize(n.blkClass); n.blkPtr == 0 || blk < size || blk >= 4*size && blk > arenaSmallMax {
		if n.blkPtr != 0 {
			arenaFree(imageBlock{n.blkPtr, n.blkClass})
		}
		b := arenaAlloc(size)
		n.blkPtr, n.blkClass = b.ptr, b.class
	}
	// The retention list is sized to what it holds, not to the chain's
	// bound (most slots hold nil, stack addresses or pointers into the
	// owner): retention reports a list too short, and only then is one of
	// the bound's size filled and an exact copy kept.
	ctx.roots = roots
	fr := yieldFrames{s, ch, tr, size, heapFns}
	if k < 0 {
		k = fr.retain(bottom, keep, ctx)
	}
	if k < 0 || n.nkeep > 4*uint32(k)+32 {
		// The full-size list is on this stack when it is small (scanned
		// with this frame; no garbage left per coroutine), on the heap
		// otherwise. A list too long is only copied.
		var buf [16]unsafe.Pointer
		full := keep
		if k < 0 {
			full = buf[:]
			if bound := fr.bound(); bound > len(buf) {
				full = make([]unsafe.Pointer, bound)
			}
			k = fr.retain(bottom, full, ctx)
			if k < 0 {
				panic("costack: native engine retention list overflow (please report)")
			}
		}
		if k == 1 {
			// One pointer: held in keep itself (keepInline), no array.
			v := full[0]
			clear(keep) // keep may be the field itself
			n.keepInline, n.nkeep = true, 1
			*(*unsafe.Pointer)(unsafe.Pointer(&n.keep)) = v
		} else {
			// A quarter more than needed, so that a coroutine whose
			// count varies a little from yield to yield (a recursive
			// generator) does not allocate at every one.
			exact := make([]unsafe.Pointer, k+k/4)
			copy(exact, full[:k])
			clear(keep)
			keep = exact
			n.keep, n.nkeep, n.keepInline = nil, uint32(len(keep)), false
			if len(keep) > 0 {
				n.keep = &keep[0]
			}
		}
	} else {
		// Reused: it keeps its length, an array at most about four times
		// what it holds (the test above), nil after the pointers.
		clear(keep[k:])
	}
	if ch != nil {
		putChain(ch)
	}
	if tr != nil {
		openDefers = tr.openDefers()
	}
	n.size = uint32(size)
	n.flags = 0
	if openDefers {
		n.flags = flagOpenDefers
	}
	// The coroutine leaves the goroutine's record (current.go): nothing of
	// it runs until the switch.
	n.pop()
	// Last, with nothing that can panic or move the stack after it: a
	// panic past this point would lose the detached records.
	if refs != nil {
		if disableDeferReloc {
			staleDefers.Lock()
			if staleDefers.at == nil {
				staleDefers.at = map[*native]uintptr{}
			}
			staleDefers.at[n] = uintptr(bottom)
			staleDefers.Unlock()
		}
		detachDefers(gp, bottom, size, refs)
		refs[len(refs)-1].last = true
		n.defers = &refs[0]
	}
}

// yieldFrames is what a yield knows of its frames: their shape, or the
// walked chain; and the closures of stack-allocated defer records, which
// the retention list holds too.
type yieldFrames struct {
	s       *shape
	ch      *chain
	tr      *trail // the walked chain is to be trailed
	size    uintptr
	heapFns []unsafe.Pointer
}

// retain fills keep (see retention) and returns the count, or -1 when keep
// is too short. A trail is made anew.
func (y *yieldFrames) retain(bottom unsafe.Pointer, keep []unsafe.Pointer, ctx *retention) int {
	var k int
	switch {
	case y.s != nil:
		k = y.s.retain(bottom, keep, ctx)
	case y.tr != nil:
		k = newTrail(y.tr, y.ch, bottom, y.size, keep, ctx)
	default:
		k = y.ch.retain(bottom, y.size, keep, ctx)
	}
	return appendKeep(keep, k, y.heapFns)
}

// bound is the most pointers a retention list of these frames can hold.
func (y *yieldFrames) bound() int {
	if y.s != nil {
		return y.s.maxKeep + len(y.heapFns)
	}
	return y.ch.ptrs + y.ch.objPtrs + len(y.heapFns)
}

// ysPrepareRet is the PC that the slot at firstPCOff of a yield's bottom
// holds while yieldPrepare runs (amd64: its return address in yieldSwitch;
// arm64: yieldSwitch's continuation, which it stores there), once
// checkYieldBottom has checked it.
var ysPrepareRet atomic.Uintptr

// checkYieldBottom checks, the first time (and for any other value), that
// yieldPrepare found yieldSwitch's frame where yieldBottom says: the slot
// holds a PC of yieldSwitch.
func checkYieldBottom(pc uintptr) {
	if rt.FindFunc(pc).Entry() != yieldSwitchPC() {
		panic("costack: native engine invariant broken (please report): yieldPrepare did not find yieldSwitch's frame")
	}
	ysPrepareRet.Store(pc)
}

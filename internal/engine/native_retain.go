//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package engine

import (
	"math/bits"
	"unsafe"

	"github.com/costack-dev/costack/internal/rt"
)

// Retention (I2): while the frames are still on the stack, every heap
// pointer the GC would find in them is copied into the coroutine's
// retention list, exactly as scanframeworker and the stack-object pass of
// scanstack find them: the live slots of the bitmaps; a stack object only
// once a live slot or another reachable object points into it (an
// unreachable object may hold stale pointers, which must never be
// retained). Pointers into the owner object (InitOwned) are not retained:
// the owner keeps it reachable.
//
// Two ways, one result: with a shape (the chain flattened, the fast path)
// and with a walked chain (per-frame facts). Both classify each value in
// the expression that loads it, comparing it with the image bottom and the
// stack bounds read in the same call-free loop, so that a stack move
// (possible only at a call) cannot mix coordinates (I4).

// retention is what retaining needs besides the frames: the goroutine (its
// stack bounds), the owner object not to retain (InitOwned), and extra
// roots: offsets of stack objects reachable from outside the frames (the
// closures of stack-allocated defer records).
type retention struct {
	gp              *rt.G
	owner, ownerLen uintptr
	roots           []uint32
}

// classifier classifies the values of pointer slots for one retention: a
// value outside this stack is a heap pointer (or nil), kept unless it
// points into the owner; a value inside the image marks the object it
// points into; a value elsewhere in this stack, nothing.
//
// It holds no stack address: the value and the image bottom are pointers
// (adjusted by the runtime's copier if the stack moves at a call between
// loading the value and classifying it), the stack bounds are read from g
// as the value is classified, and what it returns is an offset (I4).
type classifier struct {
	gp              *rt.G
	owner, ownerLen uintptr
	size            uintptr
	keep            []unsafe.Pointer
	k               int
}

func newClassifier(size uintptr, keep []unsafe.Pointer, ctx *retention) classifier {
	return classifier{ctx.gp, ctx.owner, ctx.ownerLen, size, keep, 0}
}

// value classifies v, a slot's value in the image at bottom: it returns
// the offset v points to in the image, or -1. It reports false when keep
// is full.
func (c *classifier) value(v, bottom unsafe.Pointer) (rel int64, ok bool) {
	if uintptr(v)-c.gp.StackLo >= c.gp.StackHi-c.gp.StackLo {
		if v != nil && uintptr(v)-c.owner >= c.ownerLen && !disableRetention {
			if c.k == len(c.keep) {
				return -1, false
			}
			c.keep[c.k] = v
			c.k++
		}
		return -1, true
	}
	if r := uintptr(v) - uintptr(bottom); r < c.size {
		return int64(r), true
	}
	return -1, true
}

// retain fills keep with the shape's heap pointers in the frames at bottom
// and returns their count, or -1 when keep is too short.
func (s *shape) retain(bottom unsafe.Pointer, keep []unsafe.Pointer, ctx *retention) int {
	if len(s.objs) > 64 {
		var marked, scanned []uint64
		return retainObjects(bottom, s.size, s.live, s.objs, keep, ctx, &marked, &scanned)
	}
	// Up to 64 stack objects (the common case, on every yield): the bit
	// sets of objects found reachable (marked) and of those whose pointer
	// words were classified (scanned) are words. The live slots, then the
	// pointer words of each object found reachable, until no new one is.
	// The loop makes no call (objectIn is inlined, TrailingZeros64 an
	// instruction: TestNativeRetainLoopMakesNoCall), so the stack cannot
	// move under it, and the stack bounds and bottom read before it hold
	// (I4).
	var marked, scanned uint64
	for _, off := range ctx.roots {
		if i := objectIn(s.objs, off); i >= 0 {
			marked |= 1 << i
		}
	}
	gp := ctx.gp
	lo, span, owner, ownerLen, b, size := gp.StackLo, gp.StackHi-gp.StackLo, ctx.owner, ctx.ownerLen, uintptr(bottom), s.size
	retainHeap := !disableRetention
	k := 0
	base, offs := uint32(0), s.live
	for {
		for _, off := range offs {
			v := *(*unsafe.Pointer)(unsafe.Add(bottom, base+off))
			if uintptr(v)-lo >= span {
				// Not into this stack: a heap pointer (or nil), kept
				// unless its object is the owner.
				if v != nil && uintptr(v)-owner >= ownerLen && retainHeap {
					if k == len(keep) {
						return -1
					}
					keep[k] = v
					k++
				}
			} else if rel := uintptr(v) - b; rel < size {
				// Into the image: the object it points into (if any)
				// becomes reachable. Elsewhere in this stack: nothing.
				if i := objectIn(s.objs, uint32(rel)); i >= 0 {
					marked |= 1 << i
				}
			}
		}
		todo := marked &^ scanned
		if todo == 0 || disableObjectScan {
			return k
		}
		i := bits.TrailingZeros64(todo)
		scanned |= 1 << i
		base, offs = s.objs[i].off, s.objs[i].ptrs
	}
}

// retain fills keep with the heap pointers of the walked chain's frames at
// bottom; as shape.retain.
// c.objs must have been collected (collectObjects).
func (c *chain) retain(bottom unsafe.Pointer, size uintptr, keep []unsafe.Pointer, ctx *retention) int {
	if len(c.objs) == 0 && len(ctx.roots) == 0 {
		return c.retainSlots(bottom, size, keep, ctx)
	}
	return retainObjects(bottom, size, nil, c.objs, keep, ctx, &c.marked, &c.scanned, c.frames...)
}

// retainSlots is the walked chain's retention when it has no stack object:
// nothing to mark, every live slot's value classified where it is loaded.
// The loops make no call, so the stack cannot move under them and the
// bounds read before them hold (I4). Only the outermost frame's args may
// lie outside the image (in the entry frame).
func (c *chain) retainSlots(bottom unsafe.Pointer, size uintptr, keep []unsafe.Pointer, ctx *retention) int {
	if disableRetention {
		return 0
	}
	gp := ctx.gp
	lo, span, owner, ownerLen := gp.StackLo, gp.StackHi-gp.StackLo, ctx.owner, ctx.ownerLen
	k := 0
	inner := c.frames[:max(len(c.frames)-2, 0)]
	for _, fr := range inner {
		base := unsafe.Add(bottom, fr.sp)
		for _, off := range fr.info.ptrs {
			v := *(*unsafe.Pointer)(unsafe.Add(base, off))
			if uintptr(v)-lo >= span && v != nil && uintptr(v)-owner >= ownerLen {
				if k == len(keep) {
					return -1
				}
				keep[k] = v
				k++
			}
		}
	}
	if len(c.frames) >= 2 {
		fr := c.frames[len(c.frames)-2]
		for _, off := range fr.info.ptrs {
			if uintptr(fr.sp)+uintptr(off)+8 > size {
				continue
			}
			v := *(*unsafe.Pointer)(unsafe.Add(bottom, fr.sp+off))
			if uintptr(v)-lo >= span && v != nil && uintptr(v)-owner >= ownerLen {
				if k == len(keep) {
					return -1
				}
				keep[k] = v
				k++
			}
		}
	}
	return k
}

// retainObjects is retention with bit sets of any size (and scratch for
// them in markedBuf and scannedBuf): the live slots at offs, or those of
// frames when there are frames, then the reachable objects of objs. It
// returns -1 when keep is too short.
func retainObjects(bottom unsafe.Pointer, size uintptr, offs []uint32, objs []chainObj, keep []unsafe.Pointer, ctx *retention, markedBuf, scannedBuf *[]uint64, frames ...frameRef) int {
	n := (len(objs) + 63) / 64
	marked, scanned := grow(*markedBuf, n), grow(*scannedBuf, n)
	*markedBuf, *scannedBuf = marked, scanned
	for _, off := range ctx.roots {
		markObject(objs, marked, int64(off))
	}
	cl := newClassifier(size, keep, ctx)
	if !cl.scan(bottom, 0, offs, objs, marked) {
		return -1
	}
	for _, fr := range frames {
		if !cl.scan(bottom, fr.sp, fr.info.ptrs, objs, marked) {
			return -1
		}
	}
	for again := true; again; {
		again = false
		for w := range marked {
			for todo := marked[w] &^ scanned[w]; todo != 0; todo = marked[w] &^ scanned[w] {
				b := bits.TrailingZeros64(todo)
				scanned[w] |= 1 << b
				again = true
				if o := &objs[w*64+b]; !disableObjectScan && !cl.scan(bottom, o.off, o.ptrs, objs, marked) {
					return -1
				}
			}
		}
	}
	return cl.k
}

// scan classifies the slots at base+offs (those inside the image: a frame's
// args may lie above it), marking the objects they point into.
func (c *classifier) scan(bottom unsafe.Pointer, base uint32, offs []uint32, objs []chainObj, marked []uint64) bool {
	for _, off := range offs {
		if uintptr(base+off)+8 > c.size {
			continue
		}
		rel, ok := c.value(*(*unsafe.Pointer)(unsafe.Add(bottom, base+off)), bottom)
		if !ok {
			return false
		}
		markObject(objs, marked, rel)
	}
	return true
}

// markObject marks the object containing offset rel, if any (rel >= 0).
func markObject(objs []chainObj, marked []uint64, rel int64) {
	if rel >= 0 {
		if i := objectIn(objs, uint32(rel)); i >= 0 {
			marked[i/64] |= 1 << (i % 64)
		}
	}
}

// grow returns buf cleared and of length n.
func grow(buf []uint64, n int) []uint64 {
	if cap(buf) < n {
		return make([]uint64, n)
	}
	buf = buf[:n]
	clear(buf)
	return buf
}

// appendKeep appends extra heap pointers (the closures of stack-allocated
// defer records) to a retention list keep[:k] that retain filled; -1 when
// it failed or keep is too short.
func appendKeep(keep []unsafe.Pointer, k int, extra []unsafe.Pointer) int {
	if len(extra) == 0 {
		return k
	}
	if k < 0 || k+len(extra) > len(keep) {
		return -1
	}
	return k + copy(keep[k:], extra)
}

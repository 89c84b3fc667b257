//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package engine

import (
	"unsafe"
)

// A trail is the chain of a coroutine that yields without a shape (a
// recursive generator), kept from one yield to the next, so that the next
// yield walks and retains only the frames that changed.
//
// Between two yields, a coroutine changes only the frames it returned into
// or called anew; its outer frames are the same bytes at the same distance
// from the entry frame. The saved image still holds the last yield's
// bytes, so comparing it with the stack from the top finds how much of the
// top is unchanged (commonTop); a frame entirely inside that part whose SP
// and return PC are where a frame of the trail was is that frame, with
// every frame outside it: the walk stops there. Their retention entries
// are those of the last yield — the same values, which the retention list
// kept alive since — so the trail fills the retention list outermost frame
// first and keeps each frame's start in it: the unchanged frames' entries
// are a prefix that stays. An in-order tree walk changes O(1) frames per
// element on average, so a yield costs O(changed frames + their slots)
// plus a comparison and the copies, O(image) but fast.
//
// Stack objects are retained anew at every yield: an object is reachable
// once a live slot or another reachable object points into it (as the
// GC's stack-object pass decides), and a slot of a changed frame may point
// into an object of an unchanged one. Go keeps pointers into the stack
// pointing into the same frame or a caller's (a pointer to a local that
// could outlive its frame escapes it to the heap), so the objects of the
// changed frames are reached only from the changed frames, and those of
// the unchanged frames from anywhere. The trail therefore keeps, besides
// each frame's retention entries, its objects and its marks (the values
// of its live slots that point into the image, as distances below base:
// they stay when the image moves or the stack is copied); a yield walks
// the changed frames, then marks from all the marks and scans the
// reachable objects: O(changed frames + marks + reachable objects' pointer
// words). Chains without objects skip that part. Chains with a pending
// stack-allocated defer record (a root from outside the frames) are not
// trailed: they walk in full every time.
type trail struct {
	// frames are the chain's frames, outermost (the entry frame) first.
	frames []trailFrame
	// objs and marks are the frames' stack objects and marks, outermost
	// frame first (each frame's objects with their offsets decreasing, so
	// that read backwards the list is in address order).
	objs  []trailObj
	marks []uint32
	// size is the image size at the last yield.
	size uintptr
	// changed is resume's scratch: the frames that changed, innermost
	// first.
	changed []frameRef
	// scratch for retainObjects: the objects by offset from the bottom,
	// the marks as offsets, the bit sets of retainObjects.
	byOff           []chainObj
	roots           []uint32
	marked, scanned []uint64
}

// trailObj is a stack object of a trail: its start at top below base.
type trailObj struct {
	top, size uint32
	ptrs      []uint32
}

// trailFrame is one frame of a trail.
type trailFrame struct {
	// top and pcTop are the frame's SP and the slot of the return PC it
	// continues at, as distances below base: they stay when the image
	// grows or shrinks below the frame.
	top, pcTop uint32
	// keep is where the frame's entries start in the retention list
	// (those of the frames outside it come first); obj and mark where its
	// objects and marks start in the trail's.
	keep, obj, mark uint32
	// hash identifies the chain from the entry frame down to this frame
	// (return PCs and places), so that a trail can tell a chain that
	// recurs (and deserves a shape) without walking it; shapeBytes is what
	// a shape of those frames would cost (chain.shapeBytes' terms).
	hash       uint64
	shapeBytes int64
	// openDefers: this frame or one outside it (but run's) has open-coded
	// defers.
	openDefers bool
	info       *frameInfo
}

// newTrail records the walked chain c of an image of size bytes as a
// trail and fills keep with its retention, outermost frame first. It
// returns the count, or -1 if keep is too short.
func newTrail(t *trail, c *chain, bottom unsafe.Pointer, size uintptr, keep []unsafe.Pointer, ctx *retention) int {
	t.frames, t.objs, t.marks = t.frames[:0], t.objs[:0], t.marks[:0]
	t.size = size
	k := t.retainObjects(bottom, size, keep, t.extend(c.frames, bottom, size, keep, 0, ctx), ctx)
	t.trim()
	return k
}

// trim gives back the arrays of a trail that a deep excursion grew: a
// coroutine that recursed deep once and yields shallow since should not
// keep the deep chain's arrays (millions of coroutines may be
// suspended). An array more than four times too long is copied to one
// that fits.
func (t *trail) trim() {
	t.frames = trimmed(t.frames)
	t.objs = trimmed(t.objs)
	t.marks = trimmed(t.marks)
	if cap(t.changed) > 256 {
		t.changed = nil
	}
	if cap(t.byOff) > 4*len(t.objs)+64 {
		t.byOff, t.roots, t.marked, t.scanned = nil, nil, nil, nil
	}
}

// stale is called when the trail no longer describes the coroutine's last
// yield (it had a shape): its content will be made anew, so arrays grown by
// a deep chain are given back now; small ones are kept for reuse.
func (t *trail) stale() {
	if cap(t.frames) > 64 || cap(t.objs) > 64 || cap(t.marks) > 256 {
		*t = trail{}
	}
}

func trimmed[E any](s []E) []E {
	if cap(s) <= 4*len(s)+64 {
		return s
	}
	return append(make([]E, 0, len(s)+len(s)/4), s...)
}

// extend appends frames (innermost first, as walked) to the trail,
// outermost first, filling keep[k:] with their retention. It returns the
// new count, or -1 if keep is too short. It makes no call in the loops that
// read the stack (I4).
func (t *trail) extend(frames []frameRef, bottom unsafe.Pointer, size uintptr, keep []unsafe.Pointer, k int, ctx *retention) int {
	open := false
	if n := len(t.frames); n > 0 {
		last := t.frames[n-1]
		open = last.openDefers || last.info.openDefers
	}
	// Room first, out of line: the loop below must not call into the
	// runtime (growing a slice could move the stack).
	first := len(t.frames)
	t.reserve(frames)
	gp := ctx.gp
	lo, span, owner, ownerLen := gp.StackLo, gp.StackHi-gp.StackLo, ctx.owner, ctx.ownerLen
	all := t.frames[:first+len(frames)]
	objs, marks := t.objs, t.marks // room reserved: no growslice below
	b := uintptr(bottom)
	h, est := uint64(0x7261696c), int64(0) // "rail"
	if first > 0 {
		h, est = all[first-1].hash, all[first-1].shapeBytes
	}
	for i := len(frames) - 1; i >= 0; i-- {
		fr := frames[i]
		top := uint32(size) - fr.sp
		h = chainHash(chainHash(h, uintptr(top)), fr.info.pc)
		est += fr.info.shapeBytes()
		all[first+len(frames)-1-i] = trailFrame{
			top: top, pcTop: uint32(size) - fr.pcOff, keep: uint32(k),
			obj: uint32(len(objs)), mark: uint32(len(marks)), hash: h, shapeBytes: est,
			openDefers: open, info: fr.info,
		}
		open = open || fr.info.openDefers
		for j := len(fr.info.objs) - 1; j >= 0; j-- {
			o := &fr.info.objs[j]
			if off := uintptr(fr.sp) + uintptr(o.off); off+uintptr(o.size) <= size {
				objs = objs[:len(objs)+1]
				objs[len(objs)-1] = trailObj{top: uint32(size - off), size: o.size, ptrs: o.ptrs}
			}
		}
		for _, off := range fr.info.ptrs {
			if uintptr(fr.sp)+uintptr(off)+8 > size {
				continue // the outermost frame's args, in the entry frame
			}
			v := *(*unsafe.Pointer)(unsafe.Add(bottom, fr.sp+off))
			if uintptr(v)-lo >= span {
				if v != nil && uintptr(v)-owner >= ownerLen && !disableRetention {
					if k == len(keep) {
						return -1
					}
					keep[k] = v
					k++
				}
			} else if rel := uintptr(v) - b; rel < size {
				marks = marks[:len(marks)+1]
				marks[len(marks)-1] = uint32(size - rel)
			}
		}
	}
	t.frames, t.objs, t.marks = all, objs, marks
	return k
}

// reserve makes room in t.frames, t.objs and t.marks for frames.
//
//go:noinline
func (t *trail) reserve(frames []frameRef) {
	nobjs, nptrs := 0, 0
	for _, fr := range frames {
		nobjs += len(fr.info.objs)
		nptrs += len(fr.info.ptrs)
	}
	t.frames = reserve(t.frames, len(frames))
	t.objs = reserve(t.objs, nobjs)
	t.marks = reserve(t.marks, nptrs)
}

// reserve returns s with room for n more elements.
func reserve[E any](s []E, n int) []E {
	if need := len(s) + n; cap(s) < need {
		grown := make([]E, len(s), need+need/4)
		copy(grown, s)
		return grown
	}
	return s
}

// retainObjects appends to keep[:k] the heap pointers of the trail's
// reachable stack objects in the image at bottom (size bytes), reached
// from its marks, and returns the new count; -1 if k is, or keep is too
// short.
func (t *trail) retainObjects(bottom unsafe.Pointer, size uintptr, keep []unsafe.Pointer, k int, ctx *retention) int {
	if k < 0 || len(t.objs) == 0 {
		return k
	}
	byOff := t.byOff[:0]
	for i := len(t.objs) - 1; i >= 0; i-- {
		o := &t.objs[i]
		byOff = append(byOff, chainObj{off: uint32(size) - o.top, size: o.size, ptrs: o.ptrs})
	}
	checkObjectsApart(byOff)
	roots := t.roots[:0]
	for _, m := range t.marks {
		roots = append(roots, uint32(size)-m)
	}
	t.byOff, t.roots = byOff, roots
	objCtx := retention{ctx.gp, ctx.owner, ctx.ownerLen, roots}
	n := retainObjects(bottom, size, nil, byOff, keep[k:], &objCtx, &t.marked, &t.scanned)
	if n < 0 {
		return -1
	}
	return k + n
}

// openDefers reports whether a frame of the trail (but run's) has
// open-coded defers.
func (t *trail) openDefers() bool {
	last := t.frames[len(t.frames)-1]
	return last.openDefers || last.info.openDefers
}

// commonTop returns how many bytes at the top of the image on the stack at
// bottom (size bytes) equal the top of the last image, saved at old (its
// size oldSize): the part of the chain that did not change.
func commonTop(bottom unsafe.Pointer, size uintptr, old unsafe.Pointer, oldSize uintptr) uintptr {
	n := min(size, oldSize)
	cur, prev := unsafe.Add(bottom, size), unsafe.Add(old, oldSize)
	word := func(p unsafe.Pointer, t uintptr) uint64 { return *(*uint64)(unsafe.Add(p, -int(t)-8)) }
	t := uintptr(0)
	// Four words at a time, then one: sizes are multiples of 8.
	for t+32 <= n && word(cur, t)^word(prev, t)|word(cur, t+8)^word(prev, t+8)|
		word(cur, t+16)^word(prev, t+16)|word(cur, t+24)^word(prev, t+24) == 0 {
		t += 32
	}
	for t+8 <= n && word(cur, t) == word(prev, t) {
		t += 8
	}
	return t
}

// resume tries the incremental yield: it walks the frames of the image on
// the stack at bottom (size bytes) from the innermost up to the first one
// that is unchanged since the last yield (whose image is saved at old),
// and retains them into keep, whose first entries (those of the unchanged
// frames) are the last yield's. It returns the count of entries and true;
// false when the chain cannot be continued that way (the trail is then
// stale: the caller walks in full and makes a new one), with the refusal
// of a frame that cannot be suspended, if that is why.
func (t *trail) resume(bottom unsafe.Pointer, size uintptr, old unsafe.Pointer, keep []unsafe.Pointer, ctx *retention) (int, string, bool) {
	same := commonTop(bottom, size, old, t.size)
	if same == 0 {
		return 0, "", false
	}
	frames := t.changed[:0]
	defer func() { t.changed = frames[:0] }()
	off, sp := uintptr(firstPCOff), uintptr(firstSP)
	prevFP := int64(-1)
	var last *frameInfo
	for {
		if off+8 > size {
			return 0, "", false
		}
		pc := *(*uintptr)(unsafe.Add(bottom, off))
		if sp+same >= size {
			// Entirely in the unchanged part: is it a frame of the trail?
			if j := t.find(uint32(size-sp), uint32(size-off), pc); j >= 0 {
				tf := t.frames[j]
				// The saved frame pointer of the frame below must point at
				// this one's (walk's check, at the seam).
				if tf.info.hasFP && prevFP >= 0 &&
					*(*uintptr)(unsafe.Add(bottom, prevFP))-uintptr(bottom) != uintptr(int64(sp)+int64(tf.info.fpOff)) {
					return 0, "costack: native engine frame layout check failed (please report)", false
				}
				if tf.info.entry || j+1 >= len(t.frames) {
					return 0, "", false
				}
				reuse := int(t.frames[j+1].keep)
				if reuse > len(keep) {
					return 0, "", false
				}
				next := t.frames[j+1]
				t.frames, t.objs, t.marks = t.frames[:j+1], t.objs[:next.obj], t.marks[:next.mark]
				k := t.retainObjects(bottom, size, keep, t.extend(frames, bottom, size, keep, reuse, ctx), ctx)
				if k < 0 {
					return 0, "", false // keep too short
				}
				t.size = size
				t.trim()
				return k, "", true
			}
		}
		f := last
		if f == nil || f.pc != pc {
			f = frameAt(pc)
			last = f
		}
		if f.refuse != "" {
			return 0, f.refuse, false
		}
		if f.entry {
			return 0, "", false // changed all the way up: walk in full
		}
		if f.hasFP {
			fp := int64(sp) + int64(f.fpOff)
			if fp < 0 || uintptr(fp)+8 > size {
				return 0, "", false
			}
			if prevFP >= 0 && *(*uintptr)(unsafe.Add(bottom, prevFP))-uintptr(bottom) != uintptr(fp) {
				return 0, "costack: native engine frame layout check failed (please report)", false
			}
			prevFP = fp
		}
		frames = append(frames, frameRef{uint32(sp), uint32(off), f})
		off, sp = nextFrame(sp, uintptr(f.spd))
	}
}

// find returns the index of the trail's frame whose SP and return PC slot
// are top and pcTop below base and whose return PC is pc, or -1. The
// trail's frames are outermost first, so their tops increase.
func (t *trail) find(top, pcTop uint32, pc uintptr) int {
	lo, hi := 0, len(t.frames)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.frames[m].top < top {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(t.frames) && t.frames[lo].top == top && t.frames[lo].pcTop == pcTop && t.frames[lo].info.pc == pc {
		return lo
	}
	return -1
}

// relocSlots lists the trail's relocation slots for an image of size
// bytes, as chain.relocSlots does for a walked chain, from the trail's
// frames (no walk).
func (t *trail) relocSlots(c *chain, size uintptr) []uint32 {
	frames := c.frames[:0]
	for i := len(t.frames) - 1; i >= 0; i-- {
		tf := t.frames[i]
		frames = append(frames, frameRef{uint32(size) - tf.top, uint32(size) - tf.pcTop, tf.info})
	}
	c.frames = frames
	return c.relocSlots(size)
}

// outerFP is the trail's outermost saved frame pointer slot (see
// chain.outerFP), or -1.
func (t *trail) outerFP(size uintptr) int64 {
	for _, tf := range t.frames[1:] {
		if tf.info.hasFP {
			return int64(size) - int64(tf.top) + int64(tf.info.fpOff)
		}
	}
	return -1
}

// maxTrailedShapeFrames: only chains of at most this many frames get a
// shape from their trail (see admitTrailed).
const maxTrailedShapeFrames = 24

// admitTrailed gives the trailed chain on the stack at bottom (size bytes)
// a cached shape when it recurs: a chain that comes back (many yield sites
// in turn, a small tree walked again) yields fastest with a shape, but a
// trail never walks in full, where admitShape would see it. The trail's
// hash tells a recurrence (the doorkeeper has seen it) at no cost; only
// then, and if the cache would keep the shape, is the chain walked, once.
// Only short chains get one: a shape's yield is O(frames), a trail's
// O(changed frames) plus a comparison of the unchanged bytes, which is
// faster for a chain of many frames that changes at its bottom (a deep
// recursion yielding at every level).
func admitTrailed(t *trail, bottom unsafe.Pointer, size uintptr) {
	if len(t.frames) > maxTrailedShapeFrames {
		return
	}
	last := &t.frames[len(t.frames)-1]
	if est := int64(unsafe.Sizeof(shape{})) + last.shapeBytes; est > maxShapeBytes || shapeBytes.Load()+est > shapeBudget {
		return // no shape would be kept: too deep a chain, or the budget full
	}
	if !doorkeeperSeen(last.hash) {
		return
	}
	set, key, victim := shapeSlot(bottom, size)
	if victim < 0 {
		return
	}
	c := getChain()
	defer putChain(c)
	if c.walk(bottom, size, 0) != "" {
		return // the trail's walk accepted these frames; refuse nothing here
	}
	c.collectObjects(size)
	insertShape(c, size, set, key, victim)
}

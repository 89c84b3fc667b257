//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package engine

import (
	"sync"
	"unsafe"
)

// A chain is the frames of one image, innermost (yieldSwitch's) first, up
// to the entry frame, with each frame's facts. walkChain finds them, with
// the stack maps' view of each frame cached per return PC (frameAt): a
// chain never seen before costs O(frames) cache lookups, never a table
// decode for a PC seen before. The walk is the general path of a yield (a
// chain without a shape, such as every yield of a recursive generator) and
// of a relocation without a shape; a shape (native_shape.go) is a chain
// flattened once for the chains that recur.
type chain struct {
	frames []frameRef
	// hash identifies the chain: its size and every return PC.
	hash uint64
	// ptrs and objPtrs count the live slots and the objects' pointer
	// words of the frames (a few of the outermost frame's may lie outside
	// the image): the most a retention list can need.
	ptrs, objPtrs int
	nobjs         int
	openDefers    bool
	// outerFP is the offset of the outermost saved frame pointer, the one
	// that points at the entry frame, outside the image (a resume patches
	// it); -1 if no frame saved one.
	outerFP int64
	// scratch for retention (walkRetain): the chain's objects by offset,
	// the bit sets of those marked and scanned, pending marks.
	objs            []chainObj
	marked, scanned []uint64
	slots           []uint32 // relocSlots
}

// frameRef is one frame of a chain: where its SP and the return PC it
// continues at are, from the image bottom, and its facts.
type frameRef struct {
	sp, pcOff uint32
	info      *frameInfo
}

// chainObj is a stack object of a chain, at off from the image bottom; its
// pointer words are at off + ptrs[i] (the frame's facts, shared).
type chainObj struct {
	off, size uint32
	ptrs      []uint32
}

var chainPool = sync.Pool{New: func() any { return new(chain) }}

func getChain() *chain { return chainPool.Get().(*chain) }

// putChain returns c to the pool, keeping its arrays unless a deep chain
// made them large (a pool entry should not pin megabytes).
func putChain(c *chain) {
	if cap(c.frames) > 4096 || cap(c.objs) > 4096 || cap(c.slots) > 1<<16 {
		return
	}
	// The frames' and objects' pointers are to cache entries, and kept
	// only until the next use overwrites them: a replaced entry lives on
	// at most that long.
	*c = chain{frames: c.frames[:0], objs: c.objs[:0], marked: c.marked[:0], scanned: c.scanned[:0], slots: c.slots[:0]}
	chainPool.Put(c)
}

// walk walks the frames of the image at mem, size bytes — the frames on
// the stack during a yield, or their saved copy — whose stack addresses
// are relative to mem+skew (skew 0 on the stack; in a saved copy, the old
// bottom minus the copy's address). It returns the refusal of a frame that
// cannot be suspended, or "".
//
// Where a frame keeps its return PC and saved frame pointer is the
// architecture's (firstPCOff, firstSP, nextFrame, savedFPOff, entrySP,
// entryFP in native_GOARCH.go). The frame sizes decoded from the pcsp
// tables are checked against the frame-pointer chain the code itself built:
// each saved frame pointer must point at the next one up, the outermost at
// the entry frame's (base+entryFP). A disagreement means the layout is not
// understood: refuse rather than relocate wrongly (I6).
//
// On the stack mem is an unsafe.Pointer, adjusted if the stack moves while
// frameAt decodes a frame (Go code, which may grow the stack); everything
// else is an offset from it, and each saved frame pointer is compared with
// coord in the expression that loads it (I4).
func (c *chain) walk(mem unsafe.Pointer, size, skew uintptr) string {
	frames := c.frames[:0]
	h := chainHash(0, size)
	ptrs, nobjs, objPtrs, openDefers := 0, 0, 0, false
	off, sp := uintptr(firstPCOff), uintptr(firstSP)
	// A recursion alternates between few return PCs: the last two frames'
	// facts are kept at hand.
	last, prev := &noFrame, &noFrame
	prevFP := int64(-1) // offset of the previous frame's saved FP slot
	for {
		if off+8 > size {
			c.frames = frames
			return "costack: native engine lost the frame chain (please report)"
		}
		pc := *(*uintptr)(unsafe.Add(mem, off))
		f := last
		if f.pc != pc {
			if f = prev; f.pc != pc {
				f = frameAt(pc)
			}
			last, prev = f, last
		}
		if f.refuse != "" {
			c.frames = frames
			return f.refuse
		}
		frames = append(frames, frameRef{uint32(sp), uint32(off), f})
		h = chainHash(h, pc)
		if f.entry && sp != size+entrySP {
			c.frames = frames
			return "costack: Yield of a coroutine that is not the innermost running one"
		}
		if f.hasFP || f.entry {
			// The saved frame pointer of the frame below must point at
			// this frame's (the entry frame's: base+entryFP). Loaded and
			// compared with mem in one expression (I4).
			fp := int64(sp) + int64(f.fpOff)
			if f.entry {
				fp = int64(size + entryFP)
			}
			if fp < 0 || !f.entry && uintptr(fp)+8 > size {
				c.frames = frames
				return "costack: native engine lost the frame chain (please report)"
			}
			if prevFP >= 0 && *(*uintptr)(unsafe.Add(mem, prevFP))-(uintptr(mem)+skew) != uintptr(fp) {
				c.frames = frames
				return "costack: native engine frame layout check failed (please report)"
			}
			if f.entry {
				c.frames, c.hash, c.outerFP = frames, h, prevFP
				c.ptrs, c.nobjs, c.objPtrs, c.openDefers = ptrs, nobjs, objPtrs, openDefers
				return ""
			}
			prevFP = fp
		}
		ptrs += len(f.ptrs)
		nobjs += len(f.objs)
		objPtrs += int(f.objPtrs)
		openDefers = openDefers || f.openDefers
		off, sp = nextFrame(sp, uintptr(f.spd))
	}
}

// noFrame stands for no frame in walk's memory of the last ones.
var noFrame frameInfo

// collectObjects fills c.objs with the chain's stack objects inside the
// image, by offset. The frames are in address order and each frame's
// objects are sorted, its args' objects (in its caller's outgoing area)
// after its locals' and before its caller's: the list comes out sorted,
// which objectAt relies on (checked, never assumed).
func (c *chain) collectObjects(size uintptr) {
	c.objs = c.objs[:0]
	for _, fr := range c.frames {
		for _, o := range fr.info.objs {
			off := fr.sp + o.off
			if uintptr(off)+uintptr(o.size) > size {
				continue
			}
			c.objs = append(c.objs, chainObj{off: off, size: o.size, ptrs: o.ptrs})
		}
	}
	checkObjectsApart(c.objs)
}

// checkObjectsApart checks that objs, by offset, do not overlap (objectIn
// relies on it): the frames' facts are not understood otherwise.
func checkObjectsApart(objs []chainObj) {
	for i := 1; i < len(objs); i++ {
		if objs[i].off < objs[i-1].off+objs[i-1].size {
			panic("costack: native engine found overlapping stack objects (please report)")
		}
	}
}

// objectIn returns the index of the object of objs containing offset off,
// or -1 (as the GC's stack-object lookup: a pointer anywhere into an object
// makes it reachable).
func objectIn(objs []chainObj, off uint32) int {
	lo, hi := 0, len(objs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if objs[m].off+objs[m].size <= off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(objs) && objs[lo].off <= off {
		return lo
	}
	return -1
}

//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package engine

import (
	"slices"
	"unsafe"

	"github.com/costack-dev/costack/internal/rt"
)

// Relocation (I3). A saved image's stack addresses — live pointer slots
// into its own frames, the pointer words of its stack objects, the saved
// frame pointers — refer to where its bottom was (native.oldBottom). To
// resume it below another entry frame (another goroutine, another depth),
// exactly the slots the runtime's copier would adjust, and whose value lies
// inside the old image, move by the distance (adjustpointers); the
// outermost saved frame pointer, which points at the entry frame outside
// the image, is pointed at the new one.
//
// This is done here, in Go, on the saved copy, before the switch copies it
// in: the copy is off-heap memory that nothing else reads, so Go code may
// take its time (walk the chain, look frames up) while no frame of the
// coroutine is on a stack. The switch then only checks that the image's
// coordinates are those of the place it is copied to (switchIn on amd64,
// enter on arm64); if the stack moved in between (this is Go code: its
// calls may grow the stack, moving the entry frame), it asks again, and
// the image is relocated by the remaining distance.

//
// Which slots move is decided by their values: a slot of the relocation
// list moves when its value lies in [old, old+size). That test is sound
// because every place the image's coordinates ever refer to was inside the
// goroutine's stack at the moment they were set: switchOut takes them from
// SP, and relocate computes its target from baseOff and checks it against
// the stack's bounds with no call (no safe point, no stack move) in
// between. A heap object that a slot of the image points to was live then
// (the slot held it, and the retention list keeps it live since), so it was
// not inside that region, and heap objects do not move: the test can never
// take a heap pointer for a stack address, even once the stack the region
// was part of is freed and its memory reused by the heap. (A stack move
// after the target is computed leaves a stale target, still one that was
// stack then: the switch sees it is not this place's and asks again.) A
// target computed from anything else — a baseOff left from another entry
// frame, applied to this stack — may lie in heap memory, where a live heap
// pointer of the image would be "relocated" at the next move; it is
// never taken: relocate leaves the image as it is and the switch refuses.

// relocate moves the image's coordinates to the place below the current
// entry frame: [base-size, base), base at n.baseOff from the stack top.
func (n *native) relocate() {
	mem := unsafe.Add(nil, n.blkPtr)
	old, size := n.oldBottom, uintptr(n.size)
	gp := rt.GetG()
	newBottom := uintptr(stackAddr(uintptr(n.baseOff) + size)) // NOSPLIT: no move in between
	if newBottom < gp.StackLo || newBottom > gp.StackHi || gp.StackHi-newBottom < size {
		// No room here (the stack shrank since the switch measured it):
		// relocate nothing; the switch refuses with noRoom and run grows
		// the stack first.
		return
	}
	if newBottom == old {
		return
	}
	delta := newBottom - old
	word := func(off uintptr) *uintptr { return (*uintptr)(unsafe.Add(mem, off)) }
	adjust := func(offs []uint32) {
		for _, off := range offs {
			if p := word(uintptr(off)); *p-old < size {
				*p += delta
			}
		}
	}
	outer := int64(-1)
	switch s := n.shape.current(); {
	case s != nil && s.trail != nil:
		c := getChain()
		adjust(s.trail.relocSlots(c, size))
		outer = s.trail.outerFP(size)
		putChain(c)
	case s != nil:
		adjust(s.reloc)
		outer = s.outerFP
	default:
		c, why := n.imageChain()
		if why != "" {
			panic("costack: native engine cannot walk a saved image (please report): " + why)
		}
		offs := c.relocSlots(size)
		adjust(offs)
		outer = c.outerFP
		putChain(c)
	}
	if outer >= 0 {
		*word(uintptr(outer)) = newBottom + size + entryFP
	}
	n.oldBottom = newBottom
}

// imageChain walks the chain of n's saved image (a suspended coroutine),
// for the probe, tests and traces. The caller returns it with putChain.
func (n *native) imageChain() (*chain, string) {
	if n.size == 0 || n.blkPtr == 0 {
		return nil, "no saved image"
	}
	mem := unsafe.Add(nil, n.blkPtr)
	c := getChain()
	if why := c.walk(mem, uintptr(n.size), n.oldBottom-uintptr(mem)); why != "" {
		putChain(c)
		return nil, why
	}
	return c, ""
}

// relocSlots lists the walked chain's relocation slots inside an image of
// size bytes, in c's scratch: each frame's slots and saved frame pointer,
// sorted and without duplicates (a slot found through two frames moves
// once). Frames come in address order, so the list is usually sorted
// already; it is checked, and sorted if not.
func (c *chain) relocSlots(size uintptr) []uint32 {
	offs := c.slots[:0]
	for _, fr := range c.frames {
		if fr.info.hasFP && !disableBPReloc {
			offs = append(offs, uint32(int64(fr.sp)+int64(fr.info.fpOff)))
		}
		for _, p := range fr.info.reloc {
			if off := fr.sp + p; uintptr(off)+8 <= size {
				offs = append(offs, off)
			}
		}
	}
	c.slots = offs
	for i := 1; i < len(offs); i++ {
		if offs[i] <= offs[i-1] {
			slices.Sort(offs)
			return slices.Compact(offs)
		}
	}
	return offs
}

// appendCallers appends the return addresses of n's saved image (a suspended
// coroutine) to pcs, innermost first, for Frames; none if its chain cannot be
// walked.
func (n *native) appendCallers(pcs []uintptr) []uintptr {
	c, why := n.imageChain()
	if why != "" {
		return pcs
	}
	defer putChain(c)
	for _, fr := range c.frames {
		pcs = append(pcs, fr.info.pc)
	}
	return pcs
}

//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package engine

import (
	"sync"
	"unsafe"

	"github.com/costack-dev/costack/internal/rt"
)

// Defer records (I5). Open-coded defers live in their frames and move with
// the image. The others — defers in loops, functions with many defers,
// every defer under some build modes — are records the runtime links from
// g._defer, innermost first: heap records, and stack-allocated ones that
// are raw memory of their frame (not stack objects: the compiler records
// none, the runtime reaches them through g._defer). A yield detaches the
// coroutine's records from g (detachDefers) and a resume relinks them in
// front of the resuming goroutine's chain (yieldResumed); what they hold
// that points into the image is kept as offsets meanwhile.

// checkDefers proves that the coroutine's defer records can be detached
// (I5), or refuses the yield. The runtime pushes a record at the front of
// g._defer with the deferring frame's sp, so the records of frames in the
// region [bottom, bottom+size) must be exactly a prefix of the chain,
// innermost first: an inner coroutine's in front of the outer body's, the
// resumer's after them. It is verified, not assumed: no record after the
// prefix may lie in the region. A record of the prefix may be a heap record
// (its fn must not point into the stack: a heap record's closure escapes;
// if it did not, it would be a stack object this slot's relocation does
// not cover) or a stack-allocated one, which must lie in the region (it is
// part of its frame and moves with the image; its fn may point at a
// closure in the region or on the heap, not elsewhere on the stack). A
// range-over-func head record is refused (its head list is runtime state
// we do not relocate). It returns the prefix's length and appends the
// stack-allocated records' offsets from bottom to recs. Nothing here calls
// a function but append (which may move the stack: every position is
// taken relative to bottom in the expression that reads it).
func checkDefers(gp *rt.G, bottom unsafe.Pointer, size uintptr, recs []uint32) (int, []uint32) {
	n := 0
	d := gp.Defer
	for ; d != nil && d.SP-uintptr(bottom) < size; d = d.Link {
		n++
		inStack := uintptr(d.Fn)-gp.StackLo < gp.StackHi-gp.StackLo
		switch {
		case d.Rangefunc:
			panic(msgRangeFuncDefer)
		case d.Heap && inStack:
			panic("costack: Yield with a pending defer of a stack-allocated closure is not supported on the native engine (please report)")
		case d.Heap:
		case uintptr(unsafe.Pointer(d))-uintptr(bottom) >= size:
			panic("costack: Yield with a pending stack-allocated defer record outside the coroutine's frames is not supported on the native engine (please report)")
		case inStack && uintptr(d.Fn)-uintptr(bottom) >= size:
			panic("costack: Yield with a pending defer of a closure outside the coroutine's frames is not supported on the native engine (please report)")
		default:
			recs = append(recs, uint32(uintptr(unsafe.Pointer(d))-uintptr(bottom)))
		}
	}
	for ; d != nil; d = d.Link {
		if d.SP-uintptr(bottom) < size {
			panic("costack: Yield with the coroutine's defer records interleaved with others on the goroutine is not supported on the native engine (please report)")
		}
	}
	return n, recs
}

// deferRef is one detached defer record: a heap record, or (heap nil) a
// stack-allocated one at off from the image bottom, whose fn is an offset
// from the bottom too when fnRel (a closure in the image); last marks the
// end of the array native.defers points into.
type deferRef struct {
	heap  *rt.Defer
	off   uint32
	fnRel bool
	last  bool
}

// detachedDefers returns the detached records, nil if there are none.
func (n *native) detachedDefers() []deferRef {
	if n.defers == nil {
		return nil
	}
	k := 1
	for p := n.defers; !p.last; k++ {
		p = (*deferRef)(unsafe.Add(unsafe.Pointer(p), unsafe.Sizeof(*p)))
	}
	return unsafe.Slice(n.defers, k)
}

// detachDefers unlinks the prefix of g._defer that checkDefers proved to
// belong to the region (I5) into refs (exactly as long): g._defer becomes
// the first record outside it, each record's link is cut (rebuilt by
// yieldResumed; the last one would point at a record of the resumer) and
// each stack address in a record becomes an offset from bottom (I4: the
// detached records are seen by no stack copier, ours or the runtime's):
// its sp, and a stack record's fn when it points at a closure in the image.
// They stay offsets until yieldResumed relinks the records, from the
// bottom the image has then (the stack may move between the switch and
// the relinking: yieldResumed's own prologue may shrink it). A heap
// record's fields are written with write barriers; a stack record's with
// plain stores, as the runtime's deferprocStack does (stack writes need no
// barrier). Nothing here calls a function: no stack move between reading
// bottom and the records.
func detachDefers(gp *rt.G, bottom unsafe.Pointer, size uintptr, refs []deferRef) {
	d := gp.Defer
	for i := range refs {
		next := d.Link
		d.SP -= uintptr(bottom)
		if d.Heap {
			refs[i].heap = d
			d.Link = nil
		} else {
			refs[i].off = uint32(uintptr(unsafe.Pointer(d)) - uintptr(bottom))
			*(*uintptr)(unsafe.Pointer(&d.Link)) = 0
			if fn := (*uintptr)(unsafe.Pointer(&d.Fn)); *fn-uintptr(bottom) < size {
				*fn -= uintptr(bottom)
				refs[i].fnRel = true
			}
		}
		d = next
	}
	gp.Defer = d
}

// staleDefers is the negative control's memory (disableDeferReloc): the
// bottom each coroutine's records were detached at, used in place of the
// bottom they are resumed at.
var staleDefers struct {
	sync.Mutex
	at map[*native]uintptr
}

// yieldResumed runs on the coroutine's stack, called by yieldSwitch after
// the switch has restored the image, only when records were detached,
// before any code of the coroutine runs. gp is the goroutine now running
// the coroutine, possibly another one. It relinks the detached records in
// front of gp's current chain, innermost first, with sp (and a stack
// record's fn in the image) back in stack coordinates (the same
// frame-relative position, from the image's bottom now, after this
// function's prologue), so deferreturn, panics, Goexit and Close find them
// at their frames (I5). From here on the records are on the chain and the
// runtime's copier adjusts them. Nothing here calls a function that could
// move the stack (GetG is a leaf) between reading bottom and linking.
func yieldResumed(n *native) {
	refs := n.detachedDefers()
	if refs == nil {
		return
	}
	gp := rt.GetG()
	// The image's bottom, from base and size, both distances from the
	// stack top (I4).
	bottom := stackAddr(uintptr(n.baseOff) + uintptr(n.size))
	at := uintptr(bottom)
	if disableDeferReloc {
		staleDefers.Lock()
		if old, ok := staleDefers.at[n]; ok {
			at = old
		}
		staleDefers.Unlock()
	}
	next := gp.Defer
	for i := len(refs) - 1; i >= 0; i-- {
		d := refs[i].heap
		if d != nil {
			d.Link = next // nil before: cut by detachDefers
		} else {
			// A stack record, restored with the image: plain stores.
			d = (*rt.Defer)(unsafe.Add(bottom, refs[i].off))
			*(*uintptr)(unsafe.Pointer(&d.Link)) = uintptr(unsafe.Pointer(next))
			if refs[i].fnRel {
				*(*uintptr)(unsafe.Pointer(&d.Fn)) += at
			}
		}
		d.SP += at
		next = d
	}
	gp.Defer = next
	n.defers = nil
}

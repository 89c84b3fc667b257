//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

// The native engine on linux (amd64, arm64), Go 1.26 and 1.27.
//
// A coroutine's frames are ordinary frames on the stack of the goroutine
// that resumes it, chained below an entry frame: run's on amd64 (rebuilt
// by every resume, called by the assembly's enter), enter's on arm64. On
// Yield the frames [bottom, base) are described with the runtime's own
// stack maps (a shape, cached per chain of return PCs), the heap pointers
// the GC would find in them are copied into a retention list, and the
// bytes are saved in a noscan image; on Resume the image is copied back
// below the current entry frame and relocated exactly as the runtime's
// stack copier would.
//
// Where each invariant of DESIGN.md is kept:
//
//	I1 walkability     native_GOARCH.s (header comment): NOSPLIT asm, only
//	                   frameless leaves write SP, no Go code mid-switch.
//	I2 liveness        shape.retain + yieldPrepare (retention list written
//	                   while the frames are on the stack); image buffers are
//	                   noscan; decodeMeta reads only what the maps say.
//	                   Pointers into the owner object (InitOwned) are not
//	                   retained: its owner keeps it reachable instead.
//	I3 relocation      buildShape (reloc list = the copier's slots, deduped)
//	                   + switchIn (range-checked add, outermost BP patched).
//	I4 no stack        native.baseOff is a distance from stack.hi; the walk
//	   addresses       holds bottom as an unsafe.Pointer (stackAddr) and
//	                   offsets only; the room for an image is checked in
//	                   the NOSPLIT code that copies it (switchIn on amd64,
//	                   enter on arm64), as no check holds past a safe point.
//	I5 runtime links   yieldPrepare refuses g._panic in the region; the
//	                   coroutine's defer records (a prefix of g._defer:
//	                   heap ones, and stack-allocated ones in its frames)
//	                   are checked by checkDefers, detached by detachDefers
//	                   into native.defers and relinked by yieldResumed;
//	                   range-over-func records and records interleaved
//	                   with the resumer's are refused.
//	I6 refuse/fallback build tags; nativeProbe; decodeMeta refuses frames
//	                   without maps (reflect, cgo, foreign asm, SPWRITE).
//
// The goroutine a body runs on is its current resumer: LockOSThread state,
// pprof labels, trace regions, runtime.Goexit and t.FailNow belong to the
// resumer, and a body resumed by another goroutine continues there.

package sharedstack

import (
	"math/bits"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/costack-dev/costack/internal/rt"
)

func init() {
	nativeEngine = &engine{
		kind:   Native,
		detail: "copying shared stack",
		probe:  nativeProbe,
	}
}

// The switch, implemented in native_GOARCH.s (see its header comment).
func enter(n *native)
func yieldSwitch(n *native)

// YieldOrUnwind is c.YieldOrUnwind() as a function. It is the switch
// itself, in assembly (native_GOARCH.s): a call of it is the only frame the
// library adds to a suspended image, and it needs no inlining.
//
// Call it rather than the method from code that is meant to be inlined
// into a body and is generic (costack's Yielder.Yield): when such code is
// inlined into a function of a package that does not import this one, the
// Go compiler (1.26) does not inline this package's methods into it, and
// the method would be one more frame in every image and one more
// mispredicted return on every resume (package costack/internal/importer
// pins this).
func YieldOrUnwind(c *Coroutine)

func beginBody()
func switchIn()
func switchOut()
func enterPC() uintptr
func startBodyPC() uintptr
func yieldSwitchPC() uintptr
func callerFP() uintptr

// stackAddr returns the address dist bytes below the current goroutine's
// stack top, as a pointer: a local holding it is adjusted by the runtime
// when the stack moves, as a stack address must be. (unsafe.Add(nil, x) is
// not: the compiler does not keep a value derived from nil as a pointer,
// and the runtime's copier left such a bottom in the old stack.)
func stackAddr(dist uintptr) unsafe.Pointer

// Go functions the assembly calls at their register-ABI entries: a func
// value holds that entry (calling by symbol from assembly goes through an
// ABI0 wrapper, which would be one more frame).
var (
	runFn          = run
	yieldPrepareFn = yieldPrepare
)

// startBody and continueBody are what run calls (into): the assembly's
// beginBody, which tail-calls the body's Run (so that Run's frame returns
// straight to run), and on amd64 switchIn, which restores the image below
// run's frame. They are func values made from the assembly's own
// addresses: Go code that refers to an assembly function gets its ABI
// wrapper, which would be a frame. Both are entered as the register ABI
// calls a func value: c in the first argument register, and the caller's
// spill slot for it at the caller's SP.
var startBody, continueBody = asmFunc(startBodyPC()), asmFunc(continueBodyPC())

// bodyRunSlot is the offset of Body.Run's code in a Body's method table
// (runtime.itab: interface type, type, hash and padding, then the methods
// sorted by name: CheckYield, Ended, Resumed, Run, Started). The probe
// checks it (probeBodyRunSlot).
const bodyRunSlot = 24 + 3*8

// funcval is the layout of a func value's target (runtime.funcval).
type funcval struct{ fn uintptr }

// asmFunc returns a func value that calls the code at pc, or nil if pc is 0.
func asmFunc(pc uintptr) func(*Coroutine) {
	if pc == 0 {
		return nil
	}
	fv := &funcval{pc}
	return *(*func(*Coroutine))(unsafe.Pointer(&fv))
}

// What only the assembly refers to; this keeps the linters aware that it
// is used.
var _, _, _, _, _, _, _, _, _, _, _, _, _, _, _ = ysBPOff, bodyRunSlot, beginBody, switchIn, switchOut, yieldResumed, portableResume,
	portableSuspend, growRoom, badResume, yieldClosing, yieldWhileClosing, runFn, yieldPrepareFn,
	stackMargin

// yieldWhileClosing is yieldSwitch's path for a coroutine that is closing
// already when it yields (a body that recovered the unwind and yields
// again; or a misuse, which CheckYield reports).
func yieldWhileClosing(n *native) {
	coroutineOf(n).body().CheckYield()
	yieldClosing(n)
}

// native is the engine state of one coroutine, the first field of its
// Coroutine. The fields the assembly reads are named in native_GOARCH.s.
// Offsets and sizes are 32 bits (an image and a goroutine stack are far
// smaller than 4 GB; yieldPrepare checks): a suspended coroutine's state is
// kept small because millions of them may be.
type native struct {
	// size is the image length, base - bottom; 0 before the first yield.
	size uint32
	// baseOff is stack.hi - base of the current entry frame (I4: a
	// distance from the stack top, which the runtime's copier preserves).
	baseOff uint32
	// nkeep is the length of the retention list's array (see keep).
	nkeep uint32
	// ownerLen is the size of the owner object that begins with the
	// Coroutine (InitOwned), 0 if none: the owner keeps it reachable, so
	// pointers into it are not retained.
	ownerLen uint32
	// The Coroutine's life (see coroutine.go) and two small fields, kept
	// here to fill the word after the 32-bit fields: with millions of
	// coroutines, a Coroutine of 88 bytes keeps costack's coroutine state
	// (word-sized values) in the 144-byte size class (TestStateSizeClass
	// in package costack). Plain fields, not an embedded struct: each
	// level of field access counts against inlining Resume, which must
	// stay inlined.
	phase   phase
	closing bool
	// unwinds: the pending yield was made by YieldOrUnwind, so the engine
	// itself unwinds the body when it is resumed to be closed.
	unwinds bool
	outcome Outcome
	// portable: the coroutine runs on the portable engine, whose state is
	// in keep's place (portState). The assembly tests it.
	portable bool
	// blkClass is the arena class of the image block at blkPtr (its size
	// is blockSize(blkClass)).
	blkClass uint8
	// oldBottom is where the image's bottom was when it was taken. It is
	// the coordinate system of the image's own pointers and is used only
	// to relocate the image, never to reach the live stack (I4).
	oldBottom uintptr
	// resumer is the g that runs the coroutine, xor this native's own
	// address (set by enter): a yield must come from that goroutine and
	// through this very native, not a copy of the object that holds it
	// (say, a copied costack.Yielder: the copy would take the image into
	// the same block). A uintptr, written by assembly without a write
	// barrier: it is only compared.
	resumer uintptr
	// shape describes the frames in the image; shared by every coroutine
	// suspended at the same site.
	shape *shape
	// blkPtr is the image block, outside the Go heap: an image is never
	// scanned (I2); its pointers are kept alive by keep.
	blkPtr uintptr
	// aux is, until the body ends, for a coroutine of New or Init (whose
	// engine frees the image block if it is dropped) the *imageBlock that
	// the cleanup frees (a separate object, so that the cleanup does not
	// keep the coroutine reachable; blkPtr and blkClass are a copy of it),
	// and for a coroutine of InitOwned its owner's body argument
	// (SetBodyArg); once the body has ended, the *Panic it ended with, if
	// any. One word for things never needed at the same time.
	aux unsafe.Pointer
	// keep is the retention list: the first element of an array of nkeep
	// pointers, holding every heap pointer the GC would find in the image
	// (nil after them), written while the frames were still on the stack
	// (I2). A pointer to the first element keeps the whole array alive. On
	// the portable engine it is the *portable instead.
	keep *unsafe.Pointer
	// defers is the coroutine's pending non-open-coded defer records,
	// innermost first, detached from g._defer while it is suspended (I5):
	// heap records (held here, GC-visible) and stack-allocated ones (in
	// the image, by offset), each with its sp kept as an offset from the
	// image bottom and its link cut (relinkDefers rebuilds the chain).
	// It is the first element of an array whose last element is marked
	// (detachedDefers returns the array): one word in every native.
	// nil while running, or when nothing is pending; the assembly tests
	// it.
	defers *deferRef
}

// portState returns the portable engine's state, or nil on the native
// engine.
func (n *native) portState() *portable {
	if !n.portable {
		return nil
	}
	return (*portable)(unsafe.Pointer(n.keep))
}

func (n *native) setPortState(p *portable) {
	n.portable = true
	n.keep = (*unsafe.Pointer)(unsafe.Pointer(p))
}

// held returns the cleanup's copy of the image block (see aux), or nil.
func (n *native) held() *imageBlock {
	if n.phase == finished || n.ownerLen != 0 {
		return nil
	}
	return (*imageBlock)(n.aux)
}

func (n *native) footprint() int {
	f := int(n.nkeep) * 8
	if n.held() != nil {
		f += int(unsafe.Sizeof(imageBlock{}))
	}
	if n.blkPtr != 0 {
		f += int(blockSize(n.blkClass))
	}
	for _, r := range n.detachedDefers() {
		if r.heap != nil {
			f += int(unsafe.Sizeof(*r.heap))
		}
	}
	return f
}

// release frees the image block and forgets the engine's state, keeping
// the coroutine's life and owner; aux is the caller's (finish).
func (n *native) release() {
	if h := n.held(); h != nil {
		freeImage(h)
	} else if n.blkPtr != 0 {
		arenaFree(imageBlock{n.blkPtr, n.blkClass})
	}
	*n = native{ownerLen: n.ownerLen, phase: n.phase, closing: n.closing, unwinds: n.unwinds, outcome: n.outcome, aux: n.aux}
}

// keepSlice returns the retention list's array.
func (n *native) keepSlice() []unsafe.Pointer {
	if n.keep == nil {
		return nil
	}
	return unsafe.Slice(n.keep, n.nkeep)
}

// makeRoom grows the stack so that the image fits below the caller's frame
// (run's: see run), with stackMargin to spare.
func (n *native) makeRoom() { growRoom(int(n.size) + stackMargin) }

// roomMade counts the stack growths made for an image (tests check that
// they exercised them): makeRoom's, and arm64's enter's.
var roomMade atomic.Int64

// growRoom is growStack for an image: counted.
func growRoom(need int) {
	roomMade.Add(1)
	growStack(need)
}

// growStack makes the runtime grow the current goroutine's stack until at
// least need bytes are free below the caller's frame.
//
//go:noinline
func growStack(need int) byte {
	var pad [1024]byte
	if need > len(pad) {
		pad[need&1023] = growStack(need - len(pad))
	}
	return pad[need&1023]
}

// yieldPrepare runs on the coroutine's stack, called by yieldSwitch, which
// leaves in n.oldBottom (free until switchOut sets it) where the image's
// bottom is: the address of the return PC that its CALL of switchOut will
// push, as a distance from the stack top (I4: the stack may move at any
// call, this prologue included, and the runtime's copier keeps that
// distance). One argument rather than two keeps yieldSwitch's frame, which
// is in every image, a word smaller. It refuses what it cannot prove safe
// (I5, I6), finds the shape of the frames in [bottom, base), sizes the
// buffers and fills the retention list. bottom is an unsafe.Pointer into
// this stack, so the runtime adjusts it if the stack moves during the
// calls below; every other position is an offset from it.
func yieldPrepare(n *native) {
	c := coroutineOf(n)
	c.body().CheckYield()
	gp := rt.GetG()
	bottom := stackAddr(n.oldBottom)
	if uintptr(unsafe.Pointer(gp))^uintptr(unsafe.Pointer(n)) != n.resumer {
		panic(msgOtherGoroutine)
	}
	if n.phase != active {
		panic("costack: Yield of a coroutine that is not running")
	}
	size := gp.StackHi - uintptr(n.baseOff) - uintptr(bottom) // no call in between: consistent
	if size == 0 || size%8 != 0 || size > gp.StackHi-uintptr(bottom) {
		panic("costack: native engine lost the coroutine's entry frame (please report)")
	}
	if size > 1<<30 {
		panic("costack: Yield of a coroutine whose frames take more than 1 GB")
	}

	// I5: the runtime links panics in progress and non-open-coded defer
	// records from the goroutine; such a record inside the region would be
	// left dangling by the copy. Refuse instead.
	if uintptr(gp.Panic)-uintptr(bottom) < size {
		panic(msgPanicking)
	}
	// The coroutine's defer records: checked now, detached last. records
	// is how many there are, stackRecs the offsets of the stack-allocated
	// ones (roots for retain: the GC reaches them through g._defer, not
	// through the frames).
	records, stackRecs := 0, []uint32(nil)
	if gp.Defer != nil {
		records, stackRecs = checkDefers(gp, bottom, size)
	}
	var refs []deferRef
	if records > 0 {
		refs = make([]deferRef, records)
	}

	s := n.shape
	if s == nil || s.size != size || !s.matches(bottom) {
		s = findShape(bottom, size)
	}
	if n.shape != s {
		n.shape = s
	}
	// A stack-allocated record is raw frame memory, not a stack object
	// (the runtime reaches it through g._defer, so the compiler records
	// none): neither the shape's relocation nor retain sees its fields.
	// Its fn is a closure on the heap (retained here, with the rest) or
	// in the region (a stack object: a root for retain; relocated by
	// yieldResumed); its link and sp are rebuilt on resume. A record
	// overlapping a stack object would be relocated twice: refused.
	// (This is the rare path: the slices are allocated only for it, and
	// each value is classified in the expression that reads it.)
	var roots []uint32
	var heapFns []unsafe.Pointer
	if len(stackRecs) > 0 {
		roots, heapFns = make([]uint32, 0, len(stackRecs)), make([]unsafe.Pointer, 0, len(stackRecs))
		for _, off := range stackRecs {
			if i := s.objectAt(off); i >= 0 || s.objectAt(off+uint32(unsafe.Sizeof(rt.Defer{}))-1) >= 0 {
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
	if n.aux == nil && n.ownerLen == 0 && n.blkPtr == 0 {
		h := new(imageBlock)
		n.aux = unsafe.Pointer(h)
		runtime.AddCleanup(c, freeImage, h)
	}
	if blk := blockSize(n.blkClass); n.blkPtr == 0 || blk < size || blk >= 4*size && blk > arenaSmallMax {
		if n.blkPtr != 0 {
			arenaFree(imageBlock{n.blkPtr, n.blkClass})
		}
		b := arenaAlloc(size)
		n.blkPtr, n.blkClass = b.ptr, b.class
		if h := n.held(); h != nil {
			*h = b
		}
	}
	// The retention list is sized to what it holds, not to the shape's
	// bound (most slots hold nil, stack addresses or pointers into the
	// owner): retain reports a list too short, and only then is one of the
	// bound's size filled and an exact copy kept.
	owner, ownerLen := uintptr(unsafe.Pointer(n)), uintptr(n.ownerLen)
	keep := n.keepSlice()
	ctx := &retention{gp, owner, ownerLen, roots}
	k := s.retain(bottom, keep, ctx)
	if heapFns != nil {
		k = appendKeep(keep, k, heapFns)
	}
	if k < 0 || n.nkeep > 2*uint32(k)+16 {
		// The full-size list is on this stack when it is small (scanned
		// with this frame; no garbage left per coroutine), on the heap
		// otherwise.
		var buf [16]unsafe.Pointer
		full := buf[:]
		if need := s.maxKeep + len(heapFns); need > len(buf) {
			full = make([]unsafe.Pointer, need)
		}
		k = s.retain(bottom, full, ctx)
		if heapFns != nil {
			k = appendKeep(full, k, heapFns)
		}
		clear(keep)
		keep = slices.Clone(full[:k:k])
		n.keep, n.nkeep = nil, uint32(k)
		if k > 0 {
			n.keep = &keep[0]
		}
	} else {
		// Reused: it keeps its length, an array at most about twice what
		// it holds (the test above), nil after the pointers.
		clear(keep[k:])
	}
	n.size = uint32(size)
	// Last, with nothing that can panic or move the stack after it: a
	// panic past this point would lose the detached records.
	if refs != nil {
		detachDefers(gp, bottom, refs)
		refs[len(refs)-1].last = true
		n.defers = &refs[0]
	}
}

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
// we do not relocate). It returns the prefix's length and the
// stack-allocated records' offsets from bottom (nil if none). Nothing here
// calls a function until the copy, after the walk, so bottom and the
// records' addresses stay in one coordinate system.
func checkDefers(gp *rt.G, bottom unsafe.Pointer, size uintptr) (int, []uint32) {
	var recBuf [16]uint32
	recs := recBuf[:0]
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
		case len(recs) == len(recBuf):
			panic("costack: Yield with more than 16 pending stack-allocated defer records is not supported on the native engine")
		default:
			recs = append(recs, uint32(uintptr(unsafe.Pointer(d))-uintptr(bottom)))
		}
	}
	for ; d != nil; d = d.Link {
		if d.SP-uintptr(bottom) < size {
			panic("costack: Yield with the coroutine's defer records interleaved with others on the goroutine is not supported on the native engine (please report)")
		}
	}
	if len(recs) == 0 {
		return n, nil
	}
	return n, slices.Clone(recs)
}

// deferRef is one detached defer record: a heap record, or (heap nil) a
// stack-allocated one at off from the image bottom; last marks the end of
// the array native.defers points into.
type deferRef struct {
	heap *rt.Defer
	off  uint32
	last bool
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
// each sp becomes an offset from bottom (I4: the detached records are not
// seen by the runtime's stack copier). A heap record's fields are written
// with write barriers; a stack record's with plain stores, as the
// runtime's deferprocStack does (stack writes need no barrier).
// Nothing here calls a function: no stack move between reading bottom and
// the records.
func detachDefers(gp *rt.G, bottom unsafe.Pointer, refs []deferRef) {
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
		}
		d = next
	}
	gp.Defer = d
}

// yieldResumed runs on the coroutine's stack, called by yieldSwitch after
// switchIn has restored and relocated the image, only when records were
// detached, before any code of the coroutine runs. bottom is the image's
// new bottom, gp the goroutine now running the coroutine, possibly another
// one. It relinks the detached
// records in front of gp's current chain, innermost first, with sp back in
// stack coordinates: the same frame-relative position, moved by the
// relocation delta, so deferreturn, panics, Goexit and Close find them at
// their frames (I5). From here on the records are on the chain and the
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
		at = n.oldBottom // the negative control: sp not relocated
	}
	next := gp.Defer
	for i := len(refs) - 1; i >= 0; i-- {
		d := refs[i].heap
		if d != nil {
			d.Link = next // nil before: cut by detachDefers
		} else {
			// A stack record, restored with the image: plain stores. Its
			// closure, if in the region, moves with it (the shape's
			// relocation does not see the record: it is no stack object).
			d = (*rt.Defer)(unsafe.Add(bottom, refs[i].off))
			if rel := uintptr(d.Fn) - n.oldBottom; rel < uintptr(n.size) {
				*(*uintptr)(unsafe.Pointer(&d.Fn)) = uintptr(bottom) + rel
			}
			*(*uintptr)(unsafe.Pointer(&d.Link)) = uintptr(unsafe.Pointer(next))
		}
		d.SP += at
		next = d
	}
	gp.Defer = next
	n.defers = nil
}

// shape is everything about a chain of frames that depends only on its
// return PCs: shared by every coroutine suspended at the same site. All
// positions are byte offsets from the image bottom.
type shape struct {
	size uintptr
	// pcs: the return PC expected at each offset. Equal PCs at equal
	// offsets with equal size mean equal frames (a frame's size and maps
	// depend on its PC only), so the rest of the shape applies.
	pcs []pcAt
	// live: pointer slots that the stack maps say are live (locals and
	// args, inside the region).
	live []uint32
	// objs: stack objects in the region, by offset.
	objs []object
	// reloc: every slot the runtime's copier would adjust: live slots,
	// every pointer word of every allocated stack object, saved BPs;
	// sorted, deduplicated (a slot found by two routes moves once).
	reloc []uint32
	// outerBP is the outermost frame's saved-BP slot (it points at the
	// entry frame, outside the region), or -1.
	outerBP int64
	maxKeep int
	// defers: some frame other than run's may have a deferred call
	// pending (its function has open-coded defers). Without, closing a
	// coroutine suspended here needs no unwinding (see Coroutine.Close).
	defers bool
}

type pcAt struct {
	off uint32
	pc  uintptr
}

type object struct {
	off, size uint32
	ptrs      []uint32 // offsets of pointer words (in a shape: from the bottom)
}

func (s *shape) matches(bottom unsafe.Pointer) bool {
	for _, p := range s.pcs {
		if *(*uintptr)(unsafe.Add(bottom, p.off)) != p.pc {
			return false
		}
	}
	return true
}

// retain fills keep with the heap pointers the GC would find in the frames
// (I2), exactly as scanframeworker and the stack-object pass of scanstack:
// the live slots of the bitmaps; a stack object only once a live slot or
// another reachable object points into it (an unreachable object may hold
// stale pointers, which must never be retained). Returns the count.
//
// Pointers into [owner, owner+ownerLen) are not retained: that object is
// kept reachable by its owner (InitOwned).
//
// ctx.roots are stack objects reachable from outside the frames (see
// retention).
//
// It returns -1, having retained nothing for sure, when keep is too short.
func (s *shape) retain(bottom unsafe.Pointer, keep []unsafe.Pointer, ctx *retention) int {
	if len(s.objs) > 64 {
		return s.retainMany(bottom, keep, ctx)
	}
	// Up to 64 stack objects (the common case, on every yield): the bit
	// sets of objects found reachable (marked) and of those whose pointer
	// words were classified (scanned) are words. The live slots, then the
	// pointer words of each object found reachable, until no new one is.
	// Each value is compared with bottom in the expression that loads it,
	// with no call in between, so a stack move (possible only at a call)
	// cannot mix coordinates.
	// The stack bounds are read here, not kept by the caller: the stack
	// moves only at a call, and the caller makes some.
	gp := ctx.gp
	lo, span, owner, ownerLen, b, size := gp.StackLo, gp.StackHi-gp.StackLo, ctx.owner, ctx.ownerLen, uintptr(bottom), s.size
	k := 0
	var marked, scanned uint64
	for _, off := range ctx.roots {
		if i := s.objectAt(off); i >= 0 {
			marked |= 1 << i
		}
	}
	for offs := s.live; ; {
		for _, off := range offs {
			v := *(*unsafe.Pointer)(unsafe.Add(bottom, off))
			if uintptr(v)-lo >= span {
				// Not into this stack: a heap pointer (or nil), kept
				// unless its object is the owner.
				if v != nil && uintptr(v)-owner >= ownerLen && !disableRetention {
					if k == len(keep) {
						return -1
					}
					keep[k] = v
					k++
				}
			} else if rel := uintptr(v) - b; rel < size {
				// Into the region: the stack object it points into (if
				// any) becomes reachable. Into this stack outside the
				// region: nothing.
				if i := s.objectAt(uint32(rel)); i >= 0 {
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
		offs = s.objs[i].ptrs
	}
}

// retention is what retain needs besides the shape and the frames: the
// goroutine (its stack bounds, read when used: the stack may move at any
// call), the owner object not to retain (InitOwned), and extra roots:
// offsets of stack objects reachable from outside the frames (the
// closures of stack-allocated defer records).
type retention struct {
	gp              *rt.G
	owner, ownerLen uintptr
	roots           []uint32
}

// appendKeep appends extra heap pointers (the closures of stack-allocated
// defer records) to a retention list keep[:k] that retain filled; -1 when
// it failed or keep is too short.
func appendKeep(keep []unsafe.Pointer, k int, extra []unsafe.Pointer) int {
	if k < 0 || k+len(extra) > len(keep) {
		return -1
	}
	return k + copy(keep[k:], extra)
}

// retainMany is retain for more than 64 stack objects, with bit sets of
// any size.
func (s *shape) retainMany(bottom unsafe.Pointer, keep []unsafe.Pointer, ctx *retention) int {
	if len(keep) < s.maxKeep {
		return -1
	}
	n := (len(s.objs) + 63) / 64
	marked, scanned := make([]uint64, n), make([]uint64, n)
	for _, off := range ctx.roots {
		if i := s.objectAt(off); i >= 0 {
			marked[i/64] |= 1 << (i % 64)
		}
	}
	k := s.scan(bottom, s.live, keep, 0, ctx, marked)
	for again := true; again; {
		again = false
		for w := range marked {
			for todo := marked[w] &^ scanned[w]; todo != 0; todo = marked[w] &^ scanned[w] {
				b := bits.TrailingZeros64(todo)
				scanned[w] |= 1 << b
				again = true
				if !disableObjectScan {
					k = s.scan(bottom, s.objs[w*64+b].ptrs, keep, k, ctx, marked)
				}
			}
		}
	}
	return k
}

// scan classifies the values of the slots at offs for retainMany, as
// retain does: heap pointers outside the owner are appended to keep[k:]
// (long enough: retainMany checked), pointers into the region mark the
// stack object they point into.
func (s *shape) scan(bottom unsafe.Pointer, offs []uint32, keep []unsafe.Pointer, k int, ctx *retention, marked []uint64) int {
	for _, off := range offs {
		v := *(*unsafe.Pointer)(unsafe.Add(bottom, off))
		switch rel := uintptr(v) - uintptr(bottom); {
		case v == nil:
		case rel < s.size:
			if i := s.objectAt(uint32(rel)); i >= 0 {
				marked[i/64] |= 1 << (i % 64)
			}
		case uintptr(v)-ctx.gp.StackLo < ctx.gp.StackHi-ctx.gp.StackLo:
		case uintptr(v)-ctx.owner >= ctx.ownerLen && !disableRetention:
			keep[k] = v
			k++
		}
	}
	return k
}

// objectAt returns the index of the stack object containing offset off, or
// -1 (like the GC's stack-object lookup: a pointer anywhere into an object
// makes it reachable).
func (s *shape) objectAt(off uint32) int {
	lo, hi := 0, len(s.objs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.objs[m].off+s.objs[m].size <= off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(s.objs) && s.objs[lo].off <= off {
		return lo
	}
	return -1
}

// Test-only switches for the negative controls: each disables one part of
// the proof, and the torture must then fail.
var (
	disableRetention  bool
	disableObjectScan bool
	disableBPReloc    bool
	disableDeferReloc bool
)

// The shape cache: copy-on-write map from image size to the shapes of that
// size; readers take no lock.
var (
	shapeMu    sync.Mutex
	shapeCache atomic.Pointer[map[uintptr][]*shape]
)

func findShape(bottom unsafe.Pointer, size uintptr) *shape {
	if m := shapeCache.Load(); m != nil {
		for _, s := range (*m)[size] {
			if s.matches(bottom) {
				return s
			}
		}
	}
	s := buildShape(bottom, size)
	s.defers = anyOpenDefers(s.pcs)
	shapeMu.Lock()
	defer shapeMu.Unlock()
	old := shapeCache.Load()
	m := make(map[uintptr][]*shape)
	if old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	if len(m[size]) < 64 { // bound the cache per size; beyond that, rebuild
		m[size] = append(m[size][:len(m[size]):len(m[size])], s)
	}
	shapeCache.Store(&m)
	return s
}

// anyOpenDefers reports whether a frame of the chain, other than run's
// (whose deferred call Close emulates), belongs to a function with
// open-coded defers: conservatively, one may be pending.
func anyOpenDefers(pcs []pcAt) bool {
	runEntry := reflect.ValueOf(run).Pointer()
	for _, p := range pcs {
		f := rt.FindFunc(p.pc)
		if f.Entry() != runEntry && f.FuncData(rt.FuncDataOpenCodedDeferInfo) != nil {
			return true
		}
	}
	return false
}

// closesWithoutUnwind reports whether the suspended coroutine has nothing
// to run when closed: no deferred call can be pending in its frames (no
// function with open-coded defers, no detached defer records).
func (n *native) closesWithoutUnwind() bool {
	return n.shape != nil && !n.shape.defers && n.defers == nil
}

// frameMeta is what the stack maps say about a function at one return PC.
// Offsets are from the frame's SP.
type frameMeta struct {
	refuse string // non-empty: a yield across this frame is refused
	enter  bool   // the entry frame: the walk ends here
	spd    uint32 // the pcsp value: the return PC is at sp+spd
	locals []uint32
	args   []uint32
	objs   []object
}

var metaCache sync.Map // return PC → *frameMeta

func metaAt(pc uintptr) *frameMeta {
	if m, ok := metaCache.Load(pc); ok {
		return m.(*frameMeta)
	}
	m := decodeMeta(pc)
	metaCache.Store(pc, m)
	return m
}

// decodeMeta mirrors the runtime's unwinder and getStackMap for the frame
// of the function containing pc, continuing at pc (a return PC).
func decodeMeta(pc uintptr) *frameMeta {
	f := rt.FindFunc(pc)
	if !f.Valid() {
		return &frameMeta{refuse: "costack: Yield across a frame without runtime metadata is not supported on the native engine"}
	}
	name := funcName(pc)
	if f.Entry() == entryPC() {
		return &frameMeta{enter: true}
	}
	if why := refusalByName(name); why != "" {
		return &frameMeta{refuse: why}
	}
	// I6: our own yieldSwitch is the only assembly allowed in the chain;
	// anything else may lack stack maps, write SP, or be a runtime switch.
	if f.Flag()&(rt.FlagAsm|rt.FlagSPWrite|rt.FlagTopFrame) != 0 && f.Entry() != yieldSwitchPC() ||
		f.Args() == rt.ArgsSizeUnknown {
		return &frameMeta{refuse: msgNoMaps + " (" + name + ")"}
	}
	spd, ok := f.SPDelta(pc)
	if !ok || spd < 0 || spd%8 != 0 {
		return &frameMeta{refuse: "costack: Yield across a frame with an unknown frame size (" + name + ")"}
	}
	m := &frameMeta{spd: uint32(spd)}
	// As the runtime's unwinder (traceback.go): on amd64 fp = sp+spd+8,
	// varp = fp-8, argp = fp; on arm64 (usesLR) fp = sp+spd, varp = fp,
	// argp = fp+8 (MinFrameSize: the caller's saved-LR slot). Both: varp
	// minus the saved frame pointer when the frame is not empty. So
	// relative to sp the two agree: varp = spd(-8), argp = spd+8.
	varp := int64(spd)
	if spd > 0 {
		varp -= 8
	}
	argp := int64(spd) + 8
	// As getStackMap: the map index at the CALL (pc-1), -1 read as 0.
	idx := int32(-1)
	if pc != f.Entry() {
		idx = f.PCData(rt.PCDataStackMapIndex, pc-1)
	}
	if idx < 0 {
		idx = 0
	}
	if varp > 0 {
		sm := (*rt.StackMap)(f.FuncData(rt.FuncDataLocalsPointerMaps))
		if sm == nil || sm.N <= 0 {
			return &frameMeta{refuse: "costack: Yield across a frame without a locals stack map (" + name + ")"}
		}
		if sm.NBit > 0 {
			if idx >= sm.N {
				return &frameMeta{refuse: "costack: bad stack map index in " + name}
			}
			bm := sm.Bitmap(idx)
			for i := int32(0); i < sm.NBit; i++ {
				if rt.Bit(bm, i) {
					m.locals = append(m.locals, uint32(varp-8*int64(sm.NBit)+8*int64(i)))
				}
			}
		}
	}
	if f.Args() > 0 {
		sm := (*rt.StackMap)(f.FuncData(rt.FuncDataArgsPointerMaps))
		if sm == nil || sm.N <= 0 {
			return &frameMeta{refuse: "costack: Yield across a frame without an args stack map (" + name + ")"}
		}
		if idx >= sm.N {
			return &frameMeta{refuse: "costack: bad stack map index in " + name}
		}
		bm := sm.Bitmap(idx)
		for i := int32(0); i < sm.NBit; i++ {
			if rt.Bit(bm, i) {
				m.args = append(m.args, uint32(argp+8*int64(i)))
			}
		}
	}
	for _, r := range f.StackObjects() {
		base := varp
		if r.Off >= 0 {
			base = argp
		}
		p := base + int64(r.Off)
		if p < 0 {
			continue // not allocated yet in this frame
		}
		o := object{off: uint32(p), size: uint32(r.Size)}
		mask := unsafe.Add(nil, f.Rodata()+uintptr(r.GCDataOff))
		for w := int32(0); w < r.PtrBytes/8; w++ {
			if *(*byte)(unsafe.Add(mask, w/8))>>(w%8)&1 != 0 {
				o.ptrs = append(o.ptrs, uint32(8*w))
			}
		}
		m.objs = append(m.objs, o)
	}
	return m
}

// funcName names the function whose code contains pc: the physical
// frame's function, not a function inlined into it at pc (which is what
// runtime.FuncForPC(pc) names).
func funcName(pc uintptr) string {
	if f := rt.FindFunc(pc); f.Valid() {
		pc = f.Entry()
	}
	if f := runtime.FuncForPC(pc); f != nil {
		return f.Name()
	}
	return "?"
}

// buildShape walks the frames from bottom to the entry frame with the
// stack maps, as the runtime's unwinder does. Where a frame keeps its
// return PC and saved frame pointer is the architecture's (firstPCOff,
// firstSP, nextFrame, savedFPSlot, entrySP, entryFP in native_GOARCH.go).
func buildShape(bottom unsafe.Pointer, size uintptr) *shape {
	s := &shape{size: size, outerBP: -1}
	word := func(off uintptr) uintptr { return *(*uintptr)(unsafe.Add(bottom, off)) }
	var bps []uint32
	// off: where the current frame's PC (the one it continues at) is kept;
	// sp: the current frame's SP. Both offsets from bottom.
	off, sp := uintptr(firstPCOff), uintptr(firstSP)
	for frames := 0; ; frames++ {
		if frames > 1<<16 || off+8 > size {
			panic("costack: native engine lost the frame chain (please report)")
		}
		pc := word(off)
		m := metaAt(pc)
		if m.refuse != "" {
			panic(m.refuse)
		}
		s.pcs = append(s.pcs, pcAt{uint32(off), pc})
		if m.enter {
			if sp != size+entrySP {
				panic("costack: Yield of a coroutine that is not the innermost running one")
			}
			break
		}
		in := func(o uint32) bool { return uintptr(o)+8 <= size }
		for _, o := range m.locals {
			s.live = append(s.live, uint32(sp)+o)
		}
		for _, o := range m.args {
			if a := uint32(sp) + o; in(a) {
				s.live = append(s.live, a)
			}
		}
		for _, o := range m.objs {
			o.off += uint32(sp)
			if uintptr(o.off)+uintptr(o.size) > size {
				continue
			}
			abs := make([]uint32, len(o.ptrs))
			for i, p := range o.ptrs {
				abs[i] = o.off + p
			}
			o.ptrs = abs
			s.objs = append(s.objs, o)
		}
		if m.spd > 0 {
			bps = append(bps, uint32(savedFPSlot(sp, uintptr(m.spd))))
		}
		off, sp = nextFrame(sp, uintptr(m.spd))
	}
	// Cross-check the frame sizes decoded from the pcsp tables against the
	// frame-pointer chain the code itself built: each saved BP must point
	// at the next saved BP up, and the outermost one at the entry frame's
	// (base+entryFP). A disagreement means the layout is not understood:
	// refuse rather than relocate wrongly (I6).
	for i, slot := range bps {
		want := uintptr(size) + entryFP
		if i+1 < len(bps) {
			want = uintptr(bps[i+1])
		}
		if *(*uintptr)(unsafe.Add(bottom, slot))-uintptr(bottom) != want {
			panic("costack: native engine frame layout check failed (please report)")
		}
	}
	// The last saved BP belongs to the outermost frame (run's) and points
	// at the entry frame.
	if len(bps) > 0 {
		s.outerBP = int64(bps[len(bps)-1])
		bps = bps[:len(bps)-1]
	}
	slices.Sort(s.live)
	s.live = slices.Compact(s.live)
	slices.SortFunc(s.objs, func(a, b object) int { return int(a.off) - int(b.off) })
	s.reloc = append(s.reloc, s.live...)
	for _, o := range s.objs {
		s.reloc = append(s.reloc, o.ptrs...)
	}
	if !disableBPReloc {
		s.reloc = append(s.reloc, bps...)
	}
	slices.Sort(s.reloc)
	s.reloc = slices.Compact(s.reloc)
	s.maxKeep = len(s.live)
	for _, o := range s.objs {
		s.maxKeep += len(o.ptrs)
	}
	return s
}

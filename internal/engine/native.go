//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

// The native engine on linux (amd64, arm64), Go 1.26 and 1.27.
//
// A coroutine's frames are ordinary frames on the stack of the goroutine
// that resumes it, chained below an entry frame: run's on amd64 (rebuilt
// by every resume, called by the assembly's enter), enter's on arm64. On
// Yield the frames [bottom, base) are described with the runtime's own
// stack maps (facts cached per return PC, native_frame.go; composed per
// chain, native_chain.go, or flattened once per recurring chain into a
// shape, native_shape.go), the heap pointers the GC would find in them are
// copied into a retention list (native_retain.go), and the bytes are saved
// in an off-heap image (native_arena.go); on Resume the image is relocated
// in its saved copy exactly as the runtime's stack copier would
// (native_reloc.go) and copied back below the current entry frame.
//
// The invariants and their proof, transition by transition, are in
// docs/engine.md. Where each invariant is kept:
//
//	I1 walkability     native_GOARCH.s (header comment): NOSPLIT asm, only
//	                   frameless leaves write SP, no Go code mid-switch.
//	I2 liveness        native_retain.go, called by yieldPrepare
//	                   (native_yield.go) while the
//	                   frames are on the stack; image blocks are off-heap
//	                   and never scanned; decodeFrame reads only what the
//	                   maps say. Pointers into the owner object (InitOwned)
//	                   are not retained: its owner keeps it reachable.
//	I3 relocation      decodeFrame (a frame's slots = the copier's, deduped),
//	                   native.relocate (on the saved copy, before the
//	                   switch); switchIn/enter check the coordinates.
//	I4 no stack        native.baseOff is a distance from stack.hi; walks
//	   addresses       hold the bottom as an unsafe.Pointer and work in
//	                   offsets; the room for an image is checked in the
//	                   NOSPLIT code that copies it (switchIn on amd64,
//	                   enter on arm64), as no check holds past a safe point.
//	I5 runtime links   native_defers.go: g._panic in the region refused;
//	                   defer records checked, detached and relinked.
//	I6 refuse/fallback build tags; nativeProbe; decodeFrame refuses frames
//	                   without maps (reflect, cgo, runtime switches by
//	                   FuncID, foreign asm, SPWRITE); walk cross-checks
//	                   frame sizes against the frame-pointer chain.
//
// The goroutine a body runs on is its current resumer: LockOSThread state,
// pprof labels, trace regions, runtime.Goexit and t.FailNow belong to the
// resumer, and a body resumed by another goroutine continues there.

package engine

import (
	"fmt"
	"runtime"
	"runtime/debug"
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
func yieldBottom() unsafe.Pointer

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
// sorted by name: Run, Started). The probe
// checks it (probeBodyRunSlot).
const bodyRunSlot = 24 + 0*8

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
var _ = []any{ysBPOff, bodyRunSlot, beginBody, switchIn, switchOut, yieldResumed, portableResume,
	portableSuspend, yieldClosing, yieldWhileClosing, runFn, yieldPrepareFn,
	stackMargin, brokenSwitch, relocateHere, prepareFor, growThenRelocate, pushFor, notResumedFor, becomeHosted}

// yieldWhileClosing is yieldSwitch's path for a coroutine that is closing
// already when it yields (a body that recovered the unwind and yields
// again; or a misuse, which CheckYield reports).
func yieldWhileClosing(n *native) {
	n.checkYield()
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
	// phase is the Coroutine's life (Phase; coroutine.go), changed
	// atomically. With the small fields after it, it fills the word after
	// the 32-bit fields: with millions of coroutines, a Coroutine of 104
	// bytes keeps costack's coroutine state (word-sized values) in the
	// 128-byte size class (TestStateSizeClass in package costack). Plain
	// fields, not an embedded struct: each level of field access counts
	// against inlining Resume, which must stay inlined.
	phase uint32
	// noYield counts the no-yield calls (NoYield, interop.Call) in
	// progress in the body.
	noYield uint16
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
	// flags: see flagOpenDefers.
	flags uint8
	// keepInline: the retention list is one pointer, held in keep itself
	// (keepSlice), not in an array: a coroutine whose frames hold one heap
	// pointer (a game entity's) allocates nothing for it. It fills a byte
	// of the word phase begins, so the native stays the same size.
	keepInline bool
	// hostNext: the coroutine is being resumed on its host, the goroutine
	// of its own it moves to (native_host.go): keep holds its *portable
	// meanwhile, and the resume ends in becomeHosted before any of the
	// body's code runs. The assembly tests it.
	hostNext bool
	// oldBottom is where the image's bottom was when it was taken. It is
	// the coordinate system of the image's own pointers and is used only
	// to relocate the image, never to reach the live stack (I4).
	oldBottom uintptr
	// shape describes the frames in the image when the chain has one
	// (shared by every coroutine suspended at the same chain); nil when
	// the image is described by walking its chain (native_chain.go).
	shape *shape
	// blkPtr is the image block, outside the Go heap: an image is never
	// scanned (I2); its pointers are kept alive by keep.
	blkPtr uintptr
	// ended is the panic the body ended with, once it has (Resume returns
	// it).
	ended *Panic
	// keep is the retention list: the first element of an array of nkeep
	// pointers, holding every heap pointer the GC would find in the image
	// (nil after them), written while the frames were still on the stack
	// (I2). A pointer to the first element keeps the whole array alive.
	// With keepInline it is the one retained pointer itself (nkeep is 1):
	// the GC marks the object it points into all the same, whatever its
	// type, as it does for an element of the array. On the portable engine
	// it is the *portable instead.
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
	// parent is, while the coroutine runs, the coroutine that was running
	// on its goroutine when it was resumed (Normal meanwhile), or nil
	// (current.go).
	parent *native
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

func (n *native) footprint() int {
	f := int(n.nkeep) * 8
	if n.keepInline {
		f = 0 // in the native itself
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

// release frees the image block and forgets the image, keeping the
// coroutine's life, owner and who resumed it (TestNativeReleaseForgetsImage
// lists which field is which). Field by field, not a struct assignment:
// phase is read and compared-and-swapped by other goroutines at any time,
// and must only be written atomically.
func (n *native) release() {
	if n.blkPtr != 0 {
		arenaFree(imageBlock{n.blkPtr, n.blkClass})
	}
	n.size, n.baseOff, n.nkeep, n.blkClass, n.flags, n.keepInline, n.hostNext = 0, 0, 0, 0, 0, false, false
	n.oldBottom, n.blkPtr = 0, 0
	n.shape, n.keep, n.defers = nil, nil, nil
}

// keepSlice returns the retention list's array.
func (n *native) keepSlice() []unsafe.Pointer {
	if n.keepInline {
		// The field as a one-element array: writes to it are typed
		// pointer writes, with the write barrier, as to an array's.
		return unsafe.Slice((*unsafe.Pointer)(unsafe.Pointer(&n.keep)), 1)
	}
	if n.keep == nil {
		return nil
	}
	return unsafe.Slice(n.keep, n.nkeep)
}

// flags are the native flags of a coroutine suspended with this shape.
func (s *shape) flags() uint8 {
	if s.openDefers {
		return flagOpenDefers
	}
	return 0
}

// closesWithoutUnwind reports whether the suspended coroutine has nothing
// to run when closed: no deferred call can be pending in its frames (no
// function with open-coded defers, no detached defer records).
func (n *native) closesWithoutUnwind() bool {
	return n.size != 0 && n.flags&flagOpenDefers == 0 && n.defers == nil
}

// Flags of native.flags.
const (
	// flagOpenDefers: a frame of the image other than run's belongs to a
	// function with open-coded defers, so a deferred call may be pending.
	flagOpenDefers uint8 = 1 << iota
)

// prepareResume readies the stack and the image for a resume that the
// switch refused (noRoom, needReloc): it grows the stack so that the image
// fits below the entry frame with stackMargin to spare, and relocates the
// image to where it will be copied (see native.relocate). It reports
// false, growing nothing, when the stack would then exceed the runtime's
// limit (debug.SetMaxStack): growing would be a fatal "stack overflow".
//
// The runtime may move the stack at any call: growing it, or shrinking it
// at a collection when less than a quarter of it is in use — as it is
// while run relocates a large image near the top of a stack just grown for
// it. So a large image is relocated at the bottom of the frames that grew
// the stack, where the stack is in use and is not shrunk, and the switch
// checks the coordinates again anyway.
func (n *native) prepareResume() bool {
	need := uintptr(n.size) + stackMargin
	if !stackCanGrow(need) {
		return false
	}
	if n.size <= smallImage && haveRoom(need) {
		relocateHere(n)
		return true
	}
	roomMade.Add(1)
	growThenRelocate(int(need), n)
	return true
}

// smallImage: images up to this size are relocated without first growing
// the stack down to them (relocating them costs too little for a
// collection to be likely in the middle).
const smallImage = 64 << 10

// haveRoom reports whether need bytes are free below the caller's frame,
// above the stack guard.
//
//go:noinline
func haveRoom(need uintptr) bool {
	var here byte
	gp := rt.GetG()
	return uintptr(unsafe.Pointer(&here))-gp.StackLo > need+stackMargin
}

// roomMade counts the resumes that grew the stack for an image (tests
// check that they exercised them).
var roomMade atomic.Int64

// growThenRelocate makes the runtime grow the current goroutine's stack
// until at least need bytes are free below the caller's frame, and
// relocates n's image from there (if n is not nil).
//
//go:noinline
func growThenRelocate(need int, n *native) byte {
	var pad [1024]byte
	if need > len(pad) {
		pad[need&1023] = growThenRelocate(need-len(pad), n)
	} else if n != nil {
		relocateHere(n)
	}
	return pad[need&1023]
}

// stackCanGrow reports whether the current goroutine's stack can grow to
// have need bytes free below the caller, within the runtime's limit. The
// runtime doubles a stack until the frame that needs room fits
// (runtime.newstack) and throws "stack overflow", which no one can
// recover, past maxstacksize (debug.SetMaxStack, 1 GB by default on 64-bit
// platforms) or maxstackceiling (twice the default).
func stackCanGrow(need uintptr) bool {
	gp := rt.GetG()
	var here byte
	used := gp.StackHi - uintptr(unsafe.Pointer(&here))
	want := used + need + 8<<10 // growStack's own frames, the guard
	size := gp.StackHi - gp.StackLo
	for size < want {
		size *= 2
	}
	return size <= maxStack()
}

var maxStackMu sync.Mutex
var maxStackSeen = 1_000_000_000

// maxStack reads the runtime's stack limit. debug.SetMaxStack is the only
// way to read it, and it sets it too: it is set to the value last seen, so
// that reading it changes nothing unless the program changed the limit
// since, and then put back at once.
func maxStack() uintptr {
	maxStackMu.Lock()
	defer maxStackMu.Unlock()
	if v := debug.SetMaxStack(maxStackSeen); v != maxStackSeen {
		debug.SetMaxStack(v)
		maxStackSeen = v
	}
	return uintptr(min(maxStackSeen, 2_000_000_000))
}

// prepareFor is prepareResume for arm64's enter, which calls it by symbol.
func prepareFor(n *native) bool { return n.prepareResume() }

// relocateHere relocates the image for a resume below the entry frame now
// on this stack (n.baseOff, set by the switch that asked for it: amd64's
// switchIn, arm64's enter). See native.relocate.
func relocateHere(n *native) { n.relocate() }

// brokenSwitch is called by the assembly when a check of the switch fails:
// the frames are not where the walk measured them. Nothing has been copied
// yet; the coroutine's frames are still a valid chain, and the panic ends
// it.
func brokenSwitch(n *native) {
	panic(fmt.Sprintf("costack: native engine invariant broken (please report): the switch found the coroutine's frames other than the walk measured them (image %d bytes)", n.size))
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

// Test-only switches for the negative controls: each disables one part of
// the proof, and the torture must then fail.
var (
	disableRetention  bool
	disableObjectScan bool
	disableBPReloc    bool
	disableDeferReloc bool
)

//go:build linux && (amd64 || arm64) && go1.26 && !go1.28

package engine

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/costack-dev/costack/internal/rt"
)

// strictMirror reports whether rt's mirrors of the goroutine (g's stack
// bounds, _panic and _defer) and the frame pointer chain check out on this
// program (probeStrict); strict mode judges by name only otherwise.
var strictMirror = sync.OnceValue(func() bool {
	done := make(chan bool)
	go func() { done <- probeStrict() }()
	return <-done
})

// strictG judges the yield by the body goroutine's own state: its frames'
// size, a panic in progress (or a deferred call run by the runtime, which
// installs a _panic too), a pending range-over-func defer record.
func strictG() string {
	if !strictMirror() {
		return ""
	}
	gp := rt.GetG()
	var here byte
	if size := gp.StackHi - uintptr(unsafe.Pointer(&here)); size > maxImage {
		return fmt.Sprintf("%s (%d bytes)", msgImageTooBig, size)
	}
	if gp.Panic != nil {
		return msgPanicking
	}
	for d := gp.Defer; d != nil; d = d.Link {
		if d.Rangefunc {
			return msgRangeFuncDefer
		}
	}
	return ""
}

// strictFrames judges the body's physical frames, found by frame pointer
// as the native engine sees them (runtime.Callers hides wrapper frames,
// such as reflect.MakeFunc's).
func strictFrames() string {
	if !strictMirror() {
		return strictFramesByCallers()
	}
	pcs := make([]uintptr, 256)
	for {
		n, full := framePCs(pcs)
		if !full {
			pcs = pcs[:n]
			break
		}
		pcs = make([]uintptr, 4*len(pcs))
	}
	names := make([]string, len(pcs))
	for i, pc := range pcs {
		names[i] = physicalName(pc)
	}
	start, end, _ := bodyFrames(names)
	for i := start; i < end; i++ {
		if why := refusalByName(names[i]); why != "" {
			return why
		}
		if why := noMapsRefusal(pcs[i], names[i]); why != "" {
			return why
		}
	}
	return ""
}

// framePCs fills pcs with the return addresses of the frames above its
// caller's, innermost first, following the frame pointers while they stay
// in this goroutine's stack and go up it (a cgo callback's chain leaves it
// for the thread's stack, where the walk stops). It makes no call while it
// holds frame pointers, so the stack cannot move under it. full reports
// that pcs was too short.
//
//go:nosplit
func framePCs(pcs []uintptr) (n int, full bool) {
	gp := rt.GetG()
	fp := rt.CallerFP()
	// Stack words are read through a pointer into this stack, offset from
	// a local of this frame.
	var anchor byte
	base := unsafe.Pointer(&anchor)
	for fp >= gp.StackLo && fp < gp.StackHi-16 && fp%8 == 0 {
		if n == len(pcs) {
			return n, true
		}
		pcs[n] = *(*uintptr)(unsafe.Add(base, fp+8-uintptr(base)))
		n++
		next := *(*uintptr)(unsafe.Add(base, fp-uintptr(base)))
		if next <= fp {
			break
		}
		fp = next
	}
	return n, false
}

// probeStrict checks rt's G and Defer mirrors, and the frame pointer walk,
// against what the runtime does on the calling goroutine.
func probeStrict() (ok bool) {
	gp := rt.GetG()
	var here byte
	sp := uintptr(unsafe.Pointer(&here))
	size := gp.StackHi - gp.StackLo
	if sp <= gp.StackLo || sp >= gp.StackHi || size < 2048 || size&(size-1) != 0 || gp.Panic != nil {
		return false
	}
	// A panic's deferred calls run with g._panic set; recovered, it is gone.
	func() {
		defer func() {
			ok = rt.GetG().Panic != nil && recover() == probeValue
		}()
		panic(probeValue)
	}()
	if !ok || gp.Panic != nil {
		return false
	}
	// A defer in a loop is a heap record at the front of g._defer, with the
	// deferring frame's sp; one inside a range-over-func loop body puts a
	// range-over-func head record there.
	ok = probeLoopDefer(gp) && probeRangeFuncDefer(gp)
	if !ok {
		return false
	}
	// The frame pointer walk finds this function's caller.
	pcs := make([]uintptr, 8)
	n, _ := framePCs(pcs)
	return n >= 2 && physicalName(pcs[0]) == enginePkg+"probeStrict"
}

var probeValue = new(int)

//go:noinline
func probeLoopDefer(gp *rt.G) (ok bool) {
	var here byte
	for range 1 {
		defer func() {}()
	}
	// The record's sp is this frame's, below its locals.
	d := gp.Defer
	return d != nil && d.Heap && !d.Rangefunc && d.SP > gp.StackLo && d.SP <= uintptr(unsafe.Pointer(&here)) && d.Fn != nil
}

//go:noinline
func probeRangeFuncDefer(gp *rt.G) (ok bool) {
	for range func(yield func() bool) { yield() } {
		defer func() {}()
		for d := gp.Defer; d != nil; d = d.Link {
			ok = ok || d.Rangefunc
		}
	}
	return ok
}

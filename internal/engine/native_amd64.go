//go:build linux && amd64 && go1.26 && !go1.28 && !race

// The native engine's architecture-specific declarations for linux/amd64;
// the engine itself is in native.go.

package engine

import (
	"fmt"

	"github.com/costack-dev/costack/internal/rt"
)

// Offsets used by the assembly (go_asm.h exports them as const_...).
const (
	gStackLo = 0
	gStackHi = 8
	// stackMargin is kept free below a restored image: more than the
	// runtime's stack guard (928 bytes on linux/amd64), so the restored
	// NOSPLIT frames and the Go code that continues never run in the guard
	// zone without a stack check.
	stackMargin = 2048
)

// The frame layout on amd64, for the walk (chain.walk, native_chain.go). CALL
// pushes the return PC just below the callee's SP; a frame with pcsp value
// S > 0 at its return PC keeps its caller's BP at sp+S-8 (the prologue's
// PUSHQ BP), and its own return PC at sp+S.
const (
	// firstPCOff and firstSP: the image bottom is the return PC that
	// yieldSwitch's CALL of switchOut pushes, just below yieldSwitch's SP.
	firstPCOff = 0
	firstSP    = 8
	// ysBPOff is yieldSwitch's frame pointer relative to the bottom: its
	// $8 of locals above the return PC of its call of switchOut.
	ysBPOff = 16
	// entrySP is the entry frame's SP relative to base: the entry frame is
	// run's, and base is its SP where it calls the body (into).
	entrySP = 0
)

// The entry frame on amd64 is run's: enter calls run on every resume, and
// run continues the image (continueBody is switchIn) below its own frame,
// which is therefore not part of any image. The assembly and the walk need
// its size, read from its pcsp table by the probe (initEntry) and checked
// against the frame-pointer chain on every yield (buildShape) and resume
// (switchIn).
var (
	// runFrame is run's frame with its return PC: enter's SP - base. The
	// assembly reads it.
	runFrame uintptr
	// entryFP is run's frame pointer relative to base.
	entryFP uintptr
)

func entryPC() uintptr { return runEntryPC }

// What only the assembly refers to.
var _ = runFrame

func continueBodyPC() uintptr

// initEntry reads run's frame size; the probe calls it before any native
// coroutine runs.
func initEntry() error {
	spd, ok := rt.FindFunc(runEntryPC).MaxSPDelta()
	if !ok || spd < 16 || spd%8 != 0 {
		return fmt.Errorf("unexpected frame size of the entry frame (%d)", spd)
	}
	runFrame = uintptr(spd) + 8
	entryFP = uintptr(spd) - 8
	return nil
}

// nextFrame returns, for the frame at sp whose pcsp value is spd, where its
// return PC is and the SP of the frame it returns to.
func nextFrame(sp, spd uintptr) (pcOff, callerSP uintptr) { return sp + spd, sp + spd + 8 }

// savedFPOff is where a frame whose pcsp value is spd > 0 keeps its
// caller's BP, from its SP.
func savedFPOff(spd uintptr) int32 { return int32(spd) - 8 }

// pushInRun: run pushes the coroutine (current.go), as enter calls it on
// every resume on amd64.
const pushInRun = true

//go:build linux && arm64 && go1.26 && !go1.28 && !race

// The native engine's architecture-specific declarations for linux/arm64;
// the engine itself is in native.go, the frame layout is derived in
// docs/native-arm64.md.

package engine

// Offsets used by the assembly (go_asm.h exports them as const_...).
const (
	gStackLo = 0
	gStackHi = 8
	// stackMargin is kept free below a restored image: more than the
	// runtime's stack guard (928 bytes on linux/arm64, as on amd64:
	// StackNosplitBase 800 + StackSmall 128, StackSystem 0), so the
	// restored NOSPLIT frames and the Go code that continues never run in
	// the guard zone without a stack check.
	stackMargin = 2048
	// enterContSlot is the slot of enter's frame (offset from its SP) that
	// holds the PC after its call of run, where switchOut returns.
	enterContSlot = 16
	// ysPCSlot is the slot of yieldSwitch's frame (offset from its SP) that
	// holds the PC after its call of switchOut, where switchIn continues.
	// On arm64 a call leaves its return PC in LR, not in memory, so
	// yieldSwitch stores it itself, before yieldPrepare walks the frames.
	ysPCSlot = 16
)

// The frame layout on arm64 (usesLR), for the walk (chain.walk,
// native_chain.go). A frame's prologue is MOVD.W R30, -S(RSP); MOVD R29,
// -8(RSP); SUB $8, RSP, R29, with S (the pcsp value after the prologue) a
// multiple of 16: the frame at sp keeps its own return PC at sp+0 and its
// caller's frame pointer at sp-8, in the top word of the frame below it,
// which that frame's size reserves. The PC a frame continues at is kept by
// the frame it called, at that frame's sp+0.
const (
	// The image bottom is yieldSwitch's saved-FP slot, just below its SP;
	// yieldSwitch's own PC is in its ysPCSlot.
	firstPCOff = 8 + ysPCSlot
	firstSP    = 8
	// ysBPOff is yieldSwitch's frame pointer relative to the bottom: the
	// bottom is the slot it points at.
	ysBPOff = 0
	// base is enter's frame pointer (its SP-8, where enter's prologue saved
	// its caller's frame pointer: that word stays out of the image), so
	// the entry frame's SP is base+8 and the outermost coroutine frame's
	// saved frame pointer is base itself.
	entrySP = 8
	entryFP = 0
)

// The entry frame on arm64 is enter's: run's frame is part of the image,
// and enter restores the image itself (switchIn), so run only ever starts
// the body.
func entryPC() uintptr        { return enterPC() }
func continueBodyPC() uintptr { return 0 }
func initEntry() error        { return nil }

// nextFrame returns, for the frame at sp whose pcsp value is spd, where its
// return PC is (its saved LR) and the SP of the frame it returns to.
func nextFrame(sp, spd uintptr) (pcOff, callerSP uintptr) { return sp, sp + spd }

// savedFPOff is where a frame (spd > 0) keeps its caller's frame pointer,
// from its SP: in the top word of the frame below.
func savedFPOff(uintptr) int32 { return -8 }

// Implemented in native_arm64.s, besides those declared in native.go.
func switchInPC() uintptr
func switchOutPC() uintptr

// pushInRun: run does not push the coroutine (current.go): on arm64
// enter continues an image itself, and pushes.
const pushInRun = false

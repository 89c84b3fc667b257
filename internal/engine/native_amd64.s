//go:build linux && amd64 && go1.26 && !go1.28 && !race

#include "go_asm.h"
#include "textflag.h"
#include "funcdata.h"

// The switch. Three rules make it invisible to the runtime (invariant I1):
//
//   - Every function here is NOSPLIT assembly: no stack check, no async
//     preemption (the runtime never async-preempts assembly), so nothing
//     can inspect or move the stack while it runs, and no Go code runs while
//     the stack is half switched.
//   - Only the two frameless leaves switchIn and switchOut write SP. They
//     carry the SPWRITE flag, so they must never sit in a traceback below
//     another frame: they call nothing, and a profiling signal that lands in
//     them stops its traceback there (innermost SPWRITE frame), as the
//     runtime does for its own gogo. Each ends by leaving a whole frame as
//     its epilogue would (switchIn yieldSwitch's, switchOut enter's): SP,
//     BP and the return PC exactly as a RET from that frame leaves them,
//     reached with an indirect jump (see switchIn).
//   - enter and yieldSwitch are ordinary frames with stack maps
//     (NO_LOCAL_POINTERS; args maps from their Go declarations) that write
//     no SP, so tracebacks, panics, Goexit, the GC and the stack copier walk
//     through them like any Go frame.
//
// Go functions are called at their register-ABI entries through func values
// (runFn, yieldPrepareFn) with R14 = g and X15 = 0, as that ABI requires,
// and their arguments' spill slots in our frames: no ABI0 wrapper frame.
// Conversely run calls startBody and switchIn through func values made
// from their addresses (startBody, continueBody in native.go: beginBody
// and switchIn): entered
// with AX = c and [SP] = the return PC into run.
//
// Layout of a coroutine on the shared stack (addresses grow up):
//
//	resumer frames ...     costack's Resume (the engine's Resume inlined)
//	enter's frame          locals [E, E+16): 0(SP) = n; E = base+runFrame
//	run's frame            rebuilt by every resume; 0(SP) = c at base
//	return PC into run     at base-8   <- image top
//	Body.Run ... the body's frames (Yielder.Yield inlined)
//	yieldSwitch frame      24 bytes
//	return PC of the call to switchOut <- image bottom (SP in switchOut)

// func enter(n *native)
TEXT ·enter(SB), NOSPLIT, $16-8
	NO_LOCAL_POINTERS
	// The caller has taken the coroutine (Acquire: its phase is Running)
	// and holds it until it releases it, after the switch (Release).
	MOVQ n+0(FP), AX
	// run's argument lives here, in our frame: it must hold n (which is
	// also the Coroutine, at offset 0) on every resume.
	MOVQ AX, 0(SP)
	CMPB native_portable(AX), $0
	JNE portable
	MOVQ (TLS), CX
	// run(c) at its register-ABI entry, through a func value: calling it
	// by symbol from assembly would go through an ABI0 wrapper, one more
	// frame. The register ABI wants g in R14 and X15 zero; AX = n is c (n
	// is Coroutine's first field), and its spill slot is 0(SP), which
	// holds it. run starts the body or continues its image.
	MOVQ CX, R14
	XORPS X15, X15
	MOVQ ·runFn(SB), DX
	CALL (DX)
	// The body ended, or was not resumed (NoStack); switchOut returns to
	// our caller itself, on the coroutine's behalf.
	RET

portable:
	CALL ·portableResume(SB)
	RET

// beginBody starts the body of c (AX), called by run as startBody (see
// native.go):
// base = its entry SP+8, run's SP. It keeps base as a distance from the
// stack top (I4: the runtime's stack copier preserves that distance when
// the stack moves while the coroutine runs) and continues as the body's
// Run (a tail jump, AX = c is its receiver), whose frame returns to run.
TEXT ·beginBody(SB), NOSPLIT|NOFRAME, $0-0
	MOVQ (TLS), CX
	MOVQ const_gStackHi(CX), BX
	LEAQ 8(SP), DX
	SUBQ DX, BX
	MOVL BX, native_baseOff(AX)
	MOVQ Coroutine_bodyTab(AX), BX
	MOVQ const_bodyRunSlot(BX), BX
	JMP  BX

// switchIn copies the image of n (AX) below base = its entry SP+8 (run's
// SP: run calls it as continueBody) and continues the coroutine at its
// yield site. It returns to run instead, with an outcome that says why,
// when the image does not fit (noRoom: run grows the stack), when it was
// saved for another place (needReloc: run relocates the saved copy,
// native.relocate), or when run's frame is not the one the walk measured
// (brokenFrame). These checks and the copy are one NOSPLIT sequence: no
// check made before a safe point holds after it (the runtime may move the
// stack there, e.g. at run's prologue).
TEXT ·switchIn(SB), NOSPLIT|NOFRAME, $0-0
	LEAQ 8(SP), R8               // R8 = base
	// base as a distance from the stack top (I4), as beginBody; first,
	// before any check can refuse: run grows the stack and relocates the
	// image for this base after noRoom as after needReloc.
	MOVQ (TLS), CX
	MOVQ const_gStackHi(CX), DX
	SUBQ R8, DX
	MOVL DX, native_baseOff(AX)
	// The image goes to [base-size, base). It must leave the stack guard
	// zone free.
	MOVL native_size(AX), CX
	MOVQ R8, BX
	SUBQ CX, BX
	JCS  noRoom
	SUBQ $const_stackMargin, BX
	JCS  noRoom
	MOVQ (TLS), DX
	CMPQ BX, const_gStackLo(DX)
	JCS  noRoom
	// run's frame must be the one the walk measured (walk checks the same
	// against the frame-pointer chain): BP = run's, at base+runFrame-16.
	MOVQ ·runFrame(SB), DX
	LEAQ -16(R8)(DX*1), DX
	CMPQ BP, DX
	JNE  badFrame
	// The image's own stack addresses must be this place's (I3): if not,
	// run relocates the saved copy (Go code, out of the switch) and calls
	// again.
	MOVL native_size(AX), CX
	MOVQ R8, DI
	SUBQ CX, DI                  // DI = new bottom
	CMPQ DI, native_oldBottom(AX)
	JNE  needReloc
	// The outermost coroutine frame's argument spill slot is run's 0(SP),
	// outside the image: it must hold c, as when run first called Run.
	MOVQ AX, 0(R8)
	MOVQ DI, R9
	MOVQ native_blkPtr(AX), SI
	// [R9, base) = image (this overwrites our own return PC: we never
	// return through it). Source and destination never overlap.
	CMPQ CX, $1024
	JAE  inRep
inLoop32:
	CMPQ CX, $32
	JB   inTail
	MOVOU (SI), X0
	MOVOU 16(SI), X1
	MOVOU X0, (DI)
	MOVOU X1, 16(DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $32, CX
	JMP  inLoop32
inTail:
	TESTQ CX, CX
	JZ   inDone
	MOVQ (SI), BX
	MOVQ BX, (DI)
	ADDQ $8, SI
	ADDQ $8, DI
	SUBQ $8, CX
	JMP  inTail
inRep:
	SHRQ $3, CX
	REP; MOVSQ
inDone:
	XORPS X15, X15               // keep the ABIInternal zero register zero
	LEAQ const_ysBPOff(R9), BP   // yieldSwitch's frame pointer
	CMPQ native_defers(AX), $0
	JNE  intoYieldSwitch
	CMPB native_closing(AX), $0
	JNE  intoYieldSwitch
	CMPB native_hostNext(AX), $0
	JNE  intoYieldSwitch
	// Nothing for yieldSwitch to do after switchOut returns (no defer
	// records to relink, not closing, not moving to a host): finish its
	// return here. Its frame pointer
	// points at its saved BP, with its return PC above; its caller's SP
	// is above that. A RET would be predicted from the return stack,
	// which holds the resumer's calls, not the coroutine's: always a
	// misprediction. This indirect jump is predicted from its own history.
	MOVQ 8(BP), BX               // yieldSwitch's return PC
	LEAQ 16(BP), SP              // its caller's SP after the return
	MOVQ 0(BP), BP               // its caller's BP
	JMP  BX
intoYieldSwitch:
	MOVQ R9, SP
	RET                          // into yieldSwitch, after its CALL of switchOut
badFrame:
	MOVB $const_brokenFrame, native_outcome(AX)
	RET
noRoom:
	MOVB $const_noRoom, native_outcome(AX)
	RET
needReloc:
	MOVB $const_needReloc, native_outcome(AX)
	RET

// func YieldOrUnwind(c *Coroutine)
// Marks the yield as one the engine unwinds if the coroutine is closed,
// then continues as yieldSwitch, in yieldSwitch's frame (a tail jump: this
// has none; c is n, Coroutine's first field).
TEXT ·YieldOrUnwind(SB), NOSPLIT|NOFRAME, $0-8
	MOVQ c+0(FP), AX
	MOVB $1, native_unwinds(AX)
	JMP  ·yieldSwitch(SB)

// func yieldSwitch(n *native)
TEXT ·yieldSwitch(SB), NOSPLIT, $8-8
	NO_LOCAL_POINTERS
	MOVQ n+0(FP), AX
	CMPB native_portable(AX), $0
	JNE portable
	// Closing already (yielding again after recovering the unwind): do
	// not suspend.
	CMPB native_closing(AX), $0
	JNE alreadyClosing
	// yieldPrepare(n) walks the frames [bottom, base) with the stack maps
	// and fills the retention list while they are still on the stack (I2).
	// It is Go code: the stack may move under it, but the frame layout
	// relative to the stack top does not. It finds bottom (where the CALL
	// of switchOut pushes its PC) from our frame pointer (yieldBottom).
	// It is called at its register-ABI entry (see enter): AX = n, with its
	// spill slot at 0(SP).
	MOVQ (TLS), R14
	MOVQ AX, 0(SP)
	XORPS X15, X15
	MOVQ ·yieldPrepareFn(SB), DX
	CALL (DX)
	MOVQ n+0(FP), AX
	// The frames must be where yieldPrepare measured them: the image is
	// [bottom, base) with bottom = SP-8 (where the CALL of switchOut
	// pushes its PC) and our frame pointer at bottom+ysBPOff. If not (a
	// broken invariant), brokenSwitch panics with a message; nothing is
	// copied.
	MOVQ (TLS), CX
	MOVQ const_gStackHi(CX), DX
	MOVL native_baseOff(AX), BX
	SUBQ BX, DX                  // DX = base
	LEAQ -8(SP), SI              // SI = bottom
	SUBQ SI, DX                  // DX = size
	MOVL native_size(AX), BX
	CMPQ DX, BX
	JNE  broken
	LEAQ const_ysBPOff(SI), BX
	CMPQ BP, BX
	JNE  broken
	CALL ·switchOut(SB)
	// Resumed: switchIn returned here with the image restored. If defer
	// records were detached on the yield, relink them (I5) before any
	// code of the coroutine runs: yieldResumed is Go code, and the stack
	// is a valid chain of frames again.
	MOVQ n+0(FP), AX
	CMPQ native_defers(AX), $0
	JEQ  resumed
	MOVQ AX, 0(SP)
	CALL ·yieldResumed(SB)
	MOVQ n+0(FP), AX
resumed:
	// Resumed on the goroutine the coroutine moves to (native_host.go):
	// becomeHosted makes it a portable coroutine there, before any of its
	// code runs (Go code: the stack is a valid chain of frames).
	CMPB native_hostNext(AX), $0
	JEQ  notHosting
	MOVQ AX, 0(SP)
	CALL ·becomeHosted(SB)
	MOVQ n+0(FP), AX
notHosting:
	CMPB native_closing(AX), $0
	JNE closing
	RET

closing:
	// Resumed to be closed: yieldClosing unwinds the body (YieldOrUnwind)
	// or returns (Yield: the caller unwinds).
	MOVQ AX, 0(SP)
	CALL ·yieldClosing(SB)
	RET

alreadyClosing:
	MOVQ AX, 0(SP)
	CALL ·yieldWhileClosing(SB)
	RET

portable:
	MOVQ AX, 0(SP)
	CALL ·portableSuspend(SB)
	RET

broken:
	MOVQ AX, 0(SP)
	CALL ·brokenSwitch(SB)
	RET

// switchOut saves [SP, base) of n (AX) into its image buffer and returns to
// the entry frame as if the outermost coroutine frame had returned.
// yieldSwitch checked the layout just before calling it.
TEXT ·switchOut(SB), NOSPLIT|NOFRAME, $0-0
	MOVQ (TLS), CX
	MOVQ const_gStackHi(CX), DX
	MOVL native_baseOff(AX), BX
	SUBQ BX, DX                  // DX = base
	MOVQ SP, SI                  // SI = bottom
	MOVL native_size(AX), CX     // CX = size = DX - SI (checked)
	// The image's coordinates: its own stack addresses are relative to
	// this bottom (I3).
	MOVQ SI, native_oldBottom(AX)
	MOVQ native_blkPtr(AX), DI // off-heap block: no write barriers, never scanned
	CMPQ CX, $1024
	JAE  outRep
outLoop32:
	CMPQ CX, $32
	JB   outTail
	MOVOU (SI), X0
	MOVOU 16(SI), X1
	MOVOU X0, (DI)
	MOVOU X1, 16(DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $32, CX
	JMP  outLoop32
outTail:
	TESTQ CX, CX
	JZ   outDone
	MOVQ (SI), BX
	MOVQ BX, (DI)
	ADDQ $8, SI
	ADDQ $8, DI
	SUBQ $8, CX
	JMP  outTail
outRep:
	SHRQ $3, CX
	REP; MOVSQ
outDone:
	// Return from enter on its behalf, as its epilogue would, leaving
	// run's frame (rebuilt by the next resume; its deferred call is
	// open-coded, in the frame: nothing refers to it) and enter's (at E =
	// base+runFrame: locals [E, E+16), saved BP at E+16, return PC at
	// E+24, its caller's SP at E+32), with an indirect jump rather than
	// mispredicted returns (see switchIn). The coroutine is suspended:
	// first the outcome ResumeAcquired reads (the phase stays Running:
	// the holder releases it).
	MOVB $const_Yielded, native_outcome(AX)
	ADDQ ·runFrame(SB), DX
	MOVQ 24(DX), BX
	MOVQ 16(DX), BP
	LEAQ 32(DX), SP
	JMP  BX

// func startBodyPC() uintptr
TEXT ·startBodyPC(SB), NOSPLIT, $0-8
	LEAQ ·beginBody(SB), AX
	MOVQ AX, ret+0(FP)
	RET

// func continueBodyPC() uintptr
TEXT ·continueBodyPC(SB), NOSPLIT, $0-8
	LEAQ ·switchIn(SB), AX
	MOVQ AX, ret+0(FP)
	RET

// func enterPC() uintptr
TEXT ·enterPC(SB), NOSPLIT, $0-8
	LEAQ ·enter(SB), AX
	MOVQ AX, ret+0(FP)
	RET

// func yieldSwitchPC() uintptr
TEXT ·yieldSwitchPC(SB), NOSPLIT, $0-8
	LEAQ ·yieldSwitch(SB), AX
	MOVQ AX, ret+0(FP)
	RET

// func stackAddr(dist uintptr) unsafe.Pointer
TEXT ·stackAddr(SB), NOSPLIT, $0-16
	MOVQ (TLS), CX
	MOVQ const_gStackHi(CX), AX
	SUBQ dist+0(FP), AX
	MOVQ AX, ret+8(FP)
	RET

// func yieldBottom() unsafe.Pointer
// The bottom of the image of the yield in progress, for yieldPrepare, its
// only caller, which checks it: our caller's saved frame pointer is
// yieldSwitch's (at our caller's frame pointer: this leaf has no frame),
// ysBPOff above the bottom. A pointer, so that a local holding it is
// adjusted when the stack moves.
TEXT ·yieldBottom(SB), NOSPLIT|NOFRAME, $0-8
	MOVQ 0(BP), AX
	SUBQ $const_ysBPOff, AX
	MOVQ AX, ret+0(FP)
	RET

// func callerFP() uintptr
// The frame pointer of the caller (tests walk the frame-pointer chain).
TEXT ·callerFP(SB), NOSPLIT|NOFRAME, $0-8
	MOVQ BP, ret+0(FP)
	RET

//go:build linux && arm64 && go1.26 && !go1.28 && !race

#include "go_asm.h"
#include "textflag.h"
#include "funcdata.h"

// The switch on arm64. The rules of native_amd64.s hold here too
// (invariant I1):
//
//   - Every function here is NOSPLIT assembly: no stack check, no async
//     preemption (isAsyncSafePoint rejects assembly, so the runtime never
//     injects a call, and nothing writes below SP but this code), so nothing
//     can inspect or move the stack while it runs, and no Go code runs while
//     the stack is half switched. Signals run on the alternate signal stack.
//   - Only the two frameless leaves switchIn and switchOut write RSP
//     (MOVD Rn, RSP: the arm64 assembler flags the function SPWRITE;
//     pinned by TestNativeARM64SwitchFlags), like the runtime's gogo. They
//     call nothing, and a profiling signal that lands in them stops its
//     traceback there (innermost SPWRITE frame). R29 is a valid frame
//     pointer at every instruction: enter's until the image is restored and
//     relocated, yieldSwitch's from then on (switchOut: the reverse).
//   - enter and yieldSwitch are ordinary frames with stack maps
//     (NO_LOCAL_POINTERS; args maps from their Go declarations) that write
//     no RSP, so tracebacks, panics, Goexit, the GC and the stack copier
//     walk through them like any Go frame.
//
// g is R28 in every ABI and no code here changes it, so a coroutine resumed
// by another goroutine continues with that goroutine's g. The registers an
// ABI0 function may clobber are all the others but RSP and R29 (the frame
// pointer, restored by each epilogue); R27 (REGTMP) and R18 (platform) are
// not used.
//
// Frames (see native_arm64.go and docs/native-arm64.md): a frame of size S
// at sp keeps its return PC (saved LR) at sp+0 and its caller's frame
// pointer at sp-8, with R29 = sp-8; S is a multiple of 16, so RSP stays
// 16-byte aligned at every call and in the leaves.
//
// Layout of a coroutine on the shared stack (addresses grow up):
//
//	resumer frames ...
//	enter's frame          32 bytes; 8(RSP) = n, 16(RSP) = PC after its call
//	                       of run; R29 = its RSP-8 = base
//	enter's caller's FP    at base (saved by enter's prologue; not imaged)
//	run                    top word of its frame = base-8 <- image top
//	... Body.Run ... the body's frames (Yielder.Yield inlined)
//	yieldSwitch frame      32 bytes; 16(RSP) = PC after its BL of switchOut
//	suspend's FP           at yieldSwitch's RSP-8  <- image bottom

// func enter(n *native)
TEXT ·enter(SB), NOSPLIT, $16-8
	NO_LOCAL_POINTERS
	// The caller has taken the coroutine (Acquire: its phase is Running)
	// and holds it until it releases it, after the switch (Release).
	MOVD	n+0(FP), R0
	MOVD	R0, 8(RSP)
	MOVBU	native_portable(R0), R1
	CBNZ	R1, portable
	// The coroutine is this goroutine's current one (pushFor, Go code,
	// through its ABI0 wrapper: n at 8(RSP); current.go).
	BL	·pushFor(SB)
again:
	MOVD	n+0(FP), R0
	// The outermost coroutine frame's argument (the spill slot of run's
	// register argument) lives here, in our frame: it must hold n (which is
	// also the Coroutine, at offset 0) on every resume, not only the first.
	MOVD	R0, 8(RSP)
	// Where switchOut returns to on the coroutine's behalf: the PC after
	// the call of run (also the LR run saves).
	ADR	returned, R1
	MOVD	R1, const_enterContSlot(RSP)
	SUB	$8, RSP, R4                  // R4 = base (= R29)
	MOVWU	native_size(R0), R2
	CBNZ	R2, resume
	// Keep base as a distance from the stack top (I4): the runtime's stack
	// copier preserves that distance when the stack moves while the
	// coroutine runs.
	MOVD	const_gStackHi(g), R3
	SUB	R4, R3, R3
	MOVW	R3, native_baseOff(R0)
	// run(c) at its register-ABI entry, through a func value (R26 is the
	// closure context): calling it by symbol would go through an ABI0
	// wrapper, one more frame in every image. The register ABI wants g in
	// R28, which it is; R0 = n is c.
	MOVD	·runFn(SB), R26
	MOVD	0(R26), R1
	CALL	(R1)
returned:
	// The body yielded (switchOut returned here on its behalf) or ended.
	RET

resume:
	// The image goes to [base-size, base). It must leave the stack guard
	// zone free; otherwise grow the stack (Go code: the stack may move, so
	// everything is read again) and try again. The check, the coordinate
	// check below and the copy are one NOSPLIT sequence: no check made
	// before a safe point holds after it.
	// base as a distance from the stack top (I4) first, before any check
	// can refuse: prepareFor grows the stack and relocates the image for
	// this base after noroom as after reloc.
	MOVD	const_gStackHi(g), R3
	SUB	R4, R3, R3
	MOVW	R3, native_baseOff(R0)
	SUBS	R2, R4, R5
	BLO	noroom
	SUBS	$const_stackMargin, R5, R5
	BLO	noroom
	MOVD	const_gStackLo(g), R6
	CMP	R6, R5
	BLO	noroom
	// The image's own stack addresses must be this place's (I3): if not,
	// relocate the saved copy (Go code, out of the switch: everything is
	// read again after it) and try again.
	SUB	R2, R4, R5                   // R5 = new bottom
	MOVD	native_oldBottom(R0), R6
	CMP	R6, R5
	BNE	reloc
	// switchIn never returns here: it continues the coroutine, whose
	// outermost saved LR (in the image) is the PC after the call of run
	// above.
	BL	·switchIn(SB)
	UNDEF	// not reached

noroom:
reloc:
	// prepareFor(n) grows the stack for the image and relocates the image
	// to where it will go (through its ABI0 wrapper: n at 8(RSP), the
	// result at 16(RSP), both rewritten at again), or reports that the
	// runtime's limit does not allow it.
	BL	·prepareFor(SB)
	MOVBU	16(RSP), R1
	CBNZ	R1, again
	// No room within the limit: not resumed, still suspended (and not
	// closing: notResumedFor).
	BL	·notResumedFor(SB)           // n at 8(RSP)
	MOVD	n+0(FP), R0
	MOVD	$const_NoStack, R1
	MOVB	R1, native_outcome(R0)
	RET

portable:
	BL	·portableResume(SB)          // n at 8(RSP)
	RET

// switchIn copies the image of n (R0) below base = its entry RSP-8 (enter's
// frame pointer), whose room and coordinates enter checked, and continues
// the coroutine at its yield site.
TEXT ·switchIn(SB), NOSPLIT|NOFRAME, $0-0
	SUB	$8, RSP, R8                  // R8 = base
	MOVWU	native_size(R0), R2
	SUB	R2, R8, R9                   // R9 = new bottom
	MOVD	native_blkPtr(R0), R3
	MOVD	R9, R4
	// [R9, base) = image. Source and destination never overlap. Nothing
	// below RSP is live here (no signal handler runs on this stack).
inLoop32:
	CMP	$32, R2
	BLO	inLoop16
	LDP.P	16(R3), (R5, R6)
	LDP.P	16(R3), (R7, R10)
	STP.P	(R5, R6), 16(R4)
	STP.P	(R7, R10), 16(R4)
	SUB	$32, R2
	B	inLoop32
inLoop16:
	CMP	$16, R2
	BLO	inTail
	LDP.P	16(R3), (R5, R6)
	STP.P	(R5, R6), 16(R4)
	SUB	$16, R2
inTail:
	CBZ	R2, inDone
	MOVD	(R3), R5
	MOVD	R5, (R4)
inDone:
run:
	// Into yieldSwitch after its call of switchOut, which relinks defer
	// records and handles closing. (amd64 finishes yieldSwitch's return
	// here when there is nothing to do; on arm64 the return is predicted
	// from the link register, so there is less to gain.)
	ADD	$const_ysBPOff, R9, R29      // yieldSwitch's frame pointer
	MOVD	const_ysPCSlot+8(R9), R30    // yieldSwitch's PC after its BL of switchOut
	ADD	$8, R9, R5
	MOVD	R5, RSP                      // yieldSwitch's RSP
	RET

// func YieldOrUnwind(c *Coroutine)
// Marks the yield as one the engine unwinds if the coroutine is closed,
// then continues as yieldSwitch, in yieldSwitch's frame (a tail jump with
// LR intact: this has none; c is n, Coroutine's first field).
TEXT ·YieldOrUnwind(SB), NOSPLIT|NOFRAME, $0-8
	MOVD	c+0(FP), R0
	MOVD	$1, R1
	MOVB	R1, native_unwinds(R0)
	B	·yieldSwitch(SB)

// func yieldSwitch(n *native)
TEXT ·yieldSwitch(SB), NOSPLIT, $16-8
	NO_LOCAL_POINTERS
	// The PC this frame continues at after the switch, where the walk and
	// switchIn find it (a BL leaves it only in LR).
	ADR	resumed, R1
	MOVD	R1, const_ysPCSlot(RSP)
	MOVD	n+0(FP), R0
	MOVBU	native_portable(R0), R1
	CBNZ	R1, portable
	// Closing already (yielding again after recovering the unwind): do
	// not suspend.
	MOVBU	native_closing(R0), R1
	CBNZ	R1, alreadyClosing
	// yieldPrepare(n) walks the frames [bottom, base) with the stack maps
	// and fills the retention list while they are still on the stack (I2).
	// It is Go code: the stack may move under it, but the frame layout
	// relative to the stack top does not. It finds bottom (our saved-FP
	// slot) from our frame pointer (yieldBottom). It is called at its
	// register-ABI entry (see enter): R0 = n, with its spill slot at
	// 8(RSP).
	MOVD	R0, 8(RSP)
	MOVD	·yieldPrepareFn(SB), R26
	MOVD	0(R26), R2
	CALL	(R2)
	MOVD	n+0(FP), R0
	// The frames must be where yieldPrepare measured them: the image is
	// [bottom, base) with bottom = RSP-8 (our saved-FP slot) and our frame
	// pointer at bottom+ysBPOff. If not (a broken invariant), brokenSwitch
	// panics with a message; nothing is copied.
	MOVD	const_gStackHi(g), R2
	MOVWU	native_baseOff(R0), R3
	SUB	R3, R2, R2                   // R2 = base
	SUB	$8, RSP, R3                  // R3 = bottom
	SUB	R3, R2, R4                   // R4 = size
	MOVWU	native_size(R0), R5
	CMP	R5, R4
	BNE	broken
	ADD	$const_ysBPOff, R3, R5
	CMP	R29, R5
	BNE	broken
	BL	·switchOut(SB)
resumed:
	// Resumed: switchIn jumped here with the image restored. If defer
	// records were detached on the yield, relink them (I5) before any
	// code of the coroutine runs: yieldResumed is Go code, and the stack
	// is a valid chain of frames again.
	MOVD	n+0(FP), R0
	MOVD	native_defers(R0), R1
	CBZ	R1, nodefers
	MOVD	R0, 8(RSP)
	BL	·yieldResumed(SB)
	MOVD	n+0(FP), R0
nodefers:
	// Resumed on the goroutine the coroutine moves to (native_host.go):
	// becomeHosted makes it a portable coroutine there, before any of its
	// code runs (Go code: the stack is a valid chain of frames).
	MOVBU	native_hostNext(R0), R1
	CBZ	R1, notHosting
	MOVD	R0, 8(RSP)
	BL	·becomeHosted(SB)
	MOVD	n+0(FP), R0
notHosting:
	MOVBU	native_closing(R0), R1
	CBNZ	R1, closing
	RET

closing:
	// Resumed to be closed: yieldClosing unwinds the body (YieldOrUnwind)
	// or returns (Yield: the caller unwinds).
	MOVD	R0, 8(RSP)
	BL	·yieldClosing(SB)
	RET

alreadyClosing:
	MOVD	R0, 8(RSP)
	BL	·yieldWhileClosing(SB)
	RET

portable:
	MOVD	R0, 8(RSP)
	BL	·portableSuspend(SB)
	RET

broken:
	MOVD	R0, 8(RSP)
	BL	·brokenSwitch(SB)
	RET

// switchOut saves [RSP-8, base) of n (R0) into its image buffer and returns
// to the entry frame as if the outermost coroutine frame had returned.
// yieldSwitch checked the layout just before calling it.
TEXT ·switchOut(SB), NOSPLIT|NOFRAME, $0-0
	MOVD	const_gStackHi(g), R2
	MOVWU	native_baseOff(R0), R3
	SUB	R3, R2, R2                   // R2 = base
	SUB	$8, RSP, R3                  // R3 = bottom (yieldSwitch's saved FP)
	MOVWU	native_size(R0), R4          // R4 = size = R2 - R3 (checked)
	// The image's coordinates: its own stack addresses are relative to
	// this bottom (I3).
	MOVD	R3, native_oldBottom(R0)
	MOVD	native_blkPtr(R0), R6 // off-heap block: no write barriers, never scanned
outLoop32:
	CMP	$32, R4
	BLO	outLoop16
	LDP.P	16(R3), (R5, R7)
	LDP.P	16(R3), (R10, R11)
	STP.P	(R5, R7), 16(R6)
	STP.P	(R10, R11), 16(R6)
	SUB	$32, R4
	B	outLoop32
outLoop16:
	CMP	$16, R4
	BLO	outTail
	LDP.P	16(R3), (R5, R7)
	STP.P	(R5, R7), 16(R6)
	SUB	$16, R4
outTail:
	CBZ	R4, outDone
	MOVD	(R3), R5
	MOVD	R5, (R6)
outDone:
	// The coroutine is suspended: the outcome ResumeAcquired reads (the
	// phase stays Running: the holder releases it).
	MOVD	$const_Yielded, R5
	MOVB	R5, native_outcome(R0)
	ADD	$8, R2, R7                   // enter's RSP
	MOVD	R2, R29                      // enter's frame pointer
	MOVD	const_enterContSlot(R7), R30  // the PC after enter's call of run
	MOVD	R7, RSP
	RET

// beginBody starts the body of c (R0), called by run as startBody (see
// native.go), with LR = the return PC into run: it continues as the body's
// Run (a tail jump with LR intact; R0 = c is its receiver), whose frame
// returns to run. On arm64 enter keeps base itself (its frame pointer).
TEXT ·beginBody(SB), NOSPLIT|NOFRAME, $0-0
	MOVD	Coroutine_bodyTab(R0), R1
	MOVD	const_bodyRunSlot(R1), R1
	JMP	(R1)

// func startBodyPC() uintptr
TEXT ·startBodyPC(SB), NOSPLIT, $0-8
	MOVD	$·beginBody(SB), R0
	MOVD	R0, ret+0(FP)
	RET

// func stackAddr(dist uintptr) unsafe.Pointer
TEXT ·stackAddr(SB), NOSPLIT, $0-16
	MOVD	const_gStackHi(g), R0
	MOVD	dist+0(FP), R1
	SUB	R1, R0, R0
	MOVD	R0, ret+8(FP)
	RET

// func enterPC() uintptr
TEXT ·enterPC(SB), NOSPLIT, $0-8
	MOVD	$·enter(SB), R0
	MOVD	R0, ret+0(FP)
	RET

// func yieldSwitchPC() uintptr
TEXT ·yieldSwitchPC(SB), NOSPLIT, $0-8
	MOVD	$·yieldSwitch(SB), R0
	MOVD	R0, ret+0(FP)
	RET

// func switchInPC() uintptr
TEXT ·switchInPC(SB), NOSPLIT, $0-8
	MOVD	$·switchIn(SB), R0
	MOVD	R0, ret+0(FP)
	RET

// func switchOutPC() uintptr
TEXT ·switchOutPC(SB), NOSPLIT, $0-8
	MOVD	$·switchOut(SB), R0
	MOVD	R0, ret+0(FP)
	RET

// func yieldBottom() unsafe.Pointer
// The bottom of the image of the yield in progress, for yieldPrepare, its
// only caller, which checks it: our caller's saved frame pointer (at our
// caller's frame pointer: this leaf has no frame) is yieldSwitch's, which
// is the bottom (ysBPOff 0). A pointer, so that a local holding it is
// adjusted when the stack moves.
TEXT ·yieldBottom(SB), NOSPLIT|NOFRAME, $0-8
	MOVD	0(R29), R0
	SUB	$const_ysBPOff, R0, R0
	MOVD	R0, ret+0(FP)
	RET

// func callerFP() uintptr
// The frame pointer of the caller (tests walk the frame-pointer chain):
// a frameless leaf leaves R29 alone.
TEXT ·callerFP(SB), NOSPLIT|NOFRAME, $0-8
	MOVD	R29, ret+0(FP)
	RET

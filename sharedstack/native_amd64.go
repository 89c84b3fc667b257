//go:build linux && amd64 && go1.26 && !go1.28 && !race

// The native engine's architecture-specific declarations for linux/amd64;
// the engine itself is in native.go.

package sharedstack

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

// Implemented in native_amd64.s.
func enter(n *native)
func yieldSwitch(n *native)
func yieldSwitchUnwind(n *native)
func switchIn()
func switchOut()
func enterPC() uintptr
func yieldSwitchPC() uintptr
func callerFP() uintptr

// The leaves are only called from assembly; this keeps the linters aware
// that they are used.
var _, _, _, _, _, _, _, _, _ = switchIn, switchOut, yieldResumed, portableResume, portableSuspend, growStack, badResume, yieldClosing, yieldWhileClosing

// Go functions the assembly calls at their register-ABI entries: a func
// value holds that entry (calling by symbol from assembly goes through an
// ABI0 wrapper, which would be one more frame).
var (
	runFn          = run
	yieldPrepareFn = yieldPrepare
)

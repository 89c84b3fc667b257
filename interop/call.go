package interop

import "github.com/costack-dev/costack/costack"

// Call runs fn directly on the calling goroutine's stack, as a plain call,
// with yielding forbidden for the coroutine that is running there (if any).
// Any Yield of that coroutine reached while fn runs — costack's
// Yielder.Yield, a scheduler task's Yield or a yield.* wait, directly or any
// number of calls deep — panics with a message naming interop.Call, instead
// of suspending frames that legacy code does not expect to be suspended.
// Coroutines that fn itself creates or resumes may yield to fn as usual.
//
// Because fn's frames are always gone before the coroutine can suspend
// again, fn may use as much stack as it likes: on the native engine a
// coroutine's suspended image holds only the frames live at its yield, so a
// deep legacy call made through Call adds nothing to it.
//
// Outside a coroutine body Call simply calls fn. A panic in fn propagates
// to Call's caller unchanged.
//
// Go code called back from C (an //export function) should run its body
// through Call too: a yield with C frames on the stack cannot be honoured
// by any engine — the native one refuses it, and on the portable one the
// runtime ends the program — while under Call it is refused with a clear
// panic on every engine, before it reaches the engine.
func Call(fn func()) { costack.NoYield(fn) }

// CallValue is [Call] for a function with a result: it runs fn with
// yielding forbidden and returns what fn returns.
func CallValue[T any](fn func() T) T {
	var v T
	costack.NoYield(func() { v = fn() })
	return v
}

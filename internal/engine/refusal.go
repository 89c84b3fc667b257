package engine

import "strings"

// The yields the native engine refuses because it cannot prove them safe
// (invariants I5 and I6, see native.go), each with the message of its panic.
// They are here, outside the native engine's files, so that every engine
// refuses with the same words: the portable engine's strict mode refuses
// exactly these.
const (
	// msgPanicking: g._panic points into the coroutine's frames — a
	// deferred call running during a panic or runtime.Goexit. (Deferred
	// calls run by runtime.deferreturn at a normal return are not refused:
	// its _panic is a stack object of its own frame, not linked into
	// g._panic, in Go 1.26 and 1.27.)
	msgPanicking = "costack: Yield while a panic is in progress in the coroutine, or inside a deferred call run by the runtime, is not supported on the native engine"
	// msgRangeFuncDefer: a defer inside the body of a range-over-func loop
	// is pending; its record's head list is runtime state the engine does
	// not relocate.
	msgRangeFuncDefer = "costack: Yield with a pending range-over-func defer (a defer inside a range-over-func loop body) is not supported on the native engine"
	// msgReflect: a frame of reflect.Value.Call or reflect.MakeFunc (whose
	// assembly trampolines have no Go stack maps) is in the chain.
	msgReflect = "costack: Yield inside reflect.Call or reflect.MakeFunc is not supported on the native engine"
	// msgCgo: C frames are in the chain (a Go callback called from C). The
	// portable engine refuses it too, strict or not: the C frames live on
	// the thread's system stack, which the resumer goes on using.
	msgCgo = "costack: Yield inside a cgo callback is not supported on the native engine, nor on the portable engine (the C frames below the callback cannot be suspended)"
	// msgNoMaps: a frame without Go stack maps (foreign assembly, a
	// runtime switch) is in the chain.
	msgNoMaps = "costack: Yield across a frame without Go stack maps is not supported on the native engine"
	// msgImageTooBig: the coroutine's frames take more than 1 GB (sizes
	// are 32-bit fields of the engine's state).
	msgImageTooBig = "costack: Yield of a coroutine whose frames take more than 1 GB is not supported on the native engine"
)

// maxImage is the largest image the engine saves: sizes and offsets are
// 32-bit fields. A deeper yield is refused (msgImageTooBig), by the native
// engine and by strict mode.
const maxImage = 1 << 30

// refusalByName returns the refusal of a yield across a frame of the
// function named name (as runtime.FuncForPC names it), judged by its name
// alone, or "" if the name says nothing. The native engine also judges by
// the function's record (flags, FuncID, stack maps); the name is what every
// engine can read.
func refusalByName(name string) string {
	switch {
	case strings.HasPrefix(name, "reflect."), isReflectCall(name):
		return msgReflect + " (" + name + ")"
	case strings.Contains(name, "cgocallback") || strings.Contains(name, "cgocall"):
		return msgCgo + " (" + name + ")"
	}
	return ""
}

// isReflectCall reports the runtime's assembly trampolines of reflect.Call
// (runtime.reflectcall and runtime.call16 ... runtime.call1073741824).
func isReflectCall(name string) bool {
	if name == "runtime.reflectcall" {
		return true
	}
	digits, ok := strings.CutPrefix(name, "runtime.call")
	return ok && digits != "" && strings.Trim(digits, "0123456789") == ""
}

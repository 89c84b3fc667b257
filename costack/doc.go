// Package costack provides stackful coroutines built on shared-stack
// copying.
//
// A coroutine's body is a plain Go function. Resume runs it as a nested
// call on the stack of the goroutine that calls Resume; when the body calls
// Yield, the live part of that stack is saved into a compact image and
// Resume returns; the next Resume copies it back — possibly on another
// goroutine or at another call depth — and the body continues. A suspended
// coroutine therefore holds only its live bytes, not a goroutine stack, and
// switching costs a copy instead of a scheduler round trip. The engine doing
// this (package sharedstack) is "native" where the platform and Go version
// are supported and "portable" (the runtime's coroutine switch, as in
// iter.Pull) elsewhere; Engine reports which.
//
// The goroutine a body runs on is its current resumer: runtime.LockOSThread
// state, pprof labels, trace regions and runtime.Goexit (and so t.FailNow in
// tests) belong to the goroutine that called Resume.
//
// # Misuse
//
// Misuse never corrupts state. It gets an error where the API returns one
// and a panic with a message naming the rule otherwise:
//
//   - Resume of a dead coroutine: ErrDead.
//   - Resume of a running or normal coroutine (a coroutine resuming itself or
//     one of the coroutines that resumed it): ErrRunning.
//   - Close of a running or normal coroutine: ErrRunning.
//   - Yield through a Yielder whose coroutine is suspended or dead (kept
//     past its body), that is resuming another coroutine (used from another
//     coroutine's body), or from another goroutine than the one running the
//     body: panic.
//   - Yield inside interop.Call: panic naming interop.Call.
//   - runtime.Goexit in a body: not misuse; the coroutine is dead and the
//     resuming goroutine exits, as if the body were a plain call.
package costack

// Package engine is the engine under package costack (its public face is
// package sharedstack): it runs a coroutine body as a nested call on the stack
// of whichever goroutine resumes it, and suspends it by saving its live
// frames. It is internal so that its contract with costack (owners that
// embed the Coroutine, Acquire/ResumeAcquired/Release, unwinding on Close,
// the no-yield guard, Current) is not a public API.
//
// Two implementations; a Coroutine holds the native one's state inline (so
// that the hot path is direct calls) and points to the portable one's:
//
//   - native: the body's frames live on the resumer's goroutine stack; on yield
//     the live region of that stack is copied into a compact image and on resume
//     it is copied back and relocated. Available where a native implementation
//     exists for the platform and Go version and its self-check passes. Its
//     invariants and their proof, transition by transition: docs/engine.md.
//   - portable: the body runs on the runtime's own coroutine switch (what
//     iter.Pull uses). Always correct; the fallback, the choice under the race
//     detector, and the oracle the native engine is tested against.
//
// On both engines thread lock state follows control, as if the body were a
// plain call on its resumer (portable_lock.go: the portable engine records
// the switching goroutine's lock state for the runtime's switch before each
// switch). In strict mode (SetStrict, or COSTACK_STRICT=1; strict.go) the
// portable engine refuses every yield the native engine refuses, with the
// same panic (refusal.go), so that tests on the portable engine fail where
// a release build would.
//
// The engine is chosen once, at first use, in selectEngine. The environment
// variable COSTACK_ENGINE=native|portable overrides the default; an engine that
// is not available is reported by [Engine], never a crash.
//
// This package transfers control only. Values travel through memory the caller
// owns (package costack keeps them in its coroutine state), so the engine never
// boxes them.
package engine

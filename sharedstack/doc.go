// Package sharedstack is the public face of costack's engine: which engine
// runs coroutines in this process and why, its statistics, strict mode, and
// a minimal engine-level coroutine for programs that want control transfer
// without package costack's typed values.
//
// # Where things are
//
// The repository is built in floors; imports only go down:
//
//	costack/, yield/, interop/   the API: typed coroutines, iter drop-ins, the
//	                             game scheduler, wait instructions, blocking calls
//	sharedstack/ (this package)  the engine's public face: Engine, Available,
//	                             ReadStats, SetStrict, Coroutine
//	internal/engine/             the engine itself: one coroutine state machine
//	                             (Phase), the native shared-stack engine per
//	                             architecture (the unsafe core: native_*.go,
//	                             native_*.s) and the portable engine built on the
//	                             runtime's coroutine switch
//	internal/rt/, internal/gls/  mirrors of runtime layouts (checked at start-up
//	                             and by tests) and goroutine identity
//
// The engine's invariants and their proof, transition by transition, are in
// docs/engine.md; each is stated once more next to the code that keeps it.
// The contract between package costack and the engine (owners that embed
// the coroutine, unwinding on Close, the no-yield guard) is internal: it is
// not part of this package's API.
//
// # Engines
//
//   - native: the body's frames live on the resumer's goroutine stack; on
//     yield the live region of that stack is copied into a compact image and
//     on resume it is copied back and relocated. Available where a native
//     implementation exists for the platform and Go version and its
//     self-check passes.
//   - portable: the body runs on the runtime's own coroutine switch (what
//     iter.Pull uses). Always correct; the fallback, the choice under the
//     race detector, and the oracle the native engine is tested against.
//
// The engine is chosen once, at first use. The environment variable
// COSTACK_ENGINE=native|portable overrides the default; an engine that is not
// available is reported by [Engine] and [Available], never a crash.
package sharedstack

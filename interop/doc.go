// Package interop is the boundary between costack coroutines and code that
// must not or cannot yield: legacy call chains, blocking calls (I/O,
// syscalls, cgo) and libraries bound to one OS thread.
//
//   - [Call] and [CallValue] run a function directly on the current stack
//     (on the native engine, the resumer's goroutine stack) with yielding
//     forbidden. Its frames are gone by the time the coroutine next
//     suspends, so a deep legacy call costs a suspended coroutine nothing;
//     an attempt to yield inside it — Yielder.Yield, Task.Yield, Task.Wait,
//     any wait of package yield, Block — panics with a message naming
//     interop.Call instead of suspending frames that do not expect it.
//   - [Block] runs a blocking function on a bounded [Pool] of worker
//     goroutines and suspends only the calling scheduler task until the
//     result is in; the scheduler keeps ticking. [BlockOn] picks the
//     executor, and [BlockingCall] is the same call as a costack.Waiter, to
//     combine with other waits (a timeout with yield.Any). [Start] (a
//     [Future]) and [BlockYield] are the forms for code that is not a
//     scheduler task: a goroutine, or a bare [costack.Coroutine].
//   - [Thread] runs chosen calls, or a whole scheduler loop, on one OS
//     thread locked with runtime.LockOSThread, for thread-affine C
//     libraries (GUI toolkits, OpenGL contexts, some drivers). A Thread is
//     an [Executor] too, so a task can [BlockOn] it without stalling the
//     loop.
//
// Every call handed to an executor ends exactly once: with its function's
// result, a [*PanicError] if it panicked, [ErrClosed] if the executor was
// closed before it ran, or its context's error if that was done before it
// ran. Closing a Pool or Thread waits for the calls it is running, so a
// program (or test) that closes its executors leaves no goroutines behind;
// the [DefaultPool]'s workers exit whenever it is idle. Pools are
// configured with options ([NewPool], [PoolSize]); a program that wants a
// different default pool sets it with [SetDefaultPool] before its first use.
//
// The package does not use cgo and builds with CGO_ENABLED=0.
package interop

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
// this (package internal/engine) is "native" where the platform and Go version
// are supported and "portable" (the runtime's coroutine switch, as in
// iter.Pull) elsewhere; Engine reports which.
//
// The goroutine a body runs on is its current resumer: runtime.LockOSThread
// state, pprof labels, trace regions and runtime.Goexit (and so t.FailNow in
// tests) belong to the goroutine that called Resume.
//
// # Where things are
//
// Imports only go down:
//
//	yield, interop,         wait instructions for tasks; calls that must not
//	interop/netpoll         yield, blocking calls, sockets for tasks
//	costack (this package)  Coroutine/Yielder, Pull/Pull2, Scheduler/Task,
//	                        stacks and profiles of suspended coroutines
//	sharedstack             the engine's public face: Engine, ReadStats
//	internal/engine         the engine: one atomic phase per coroutine (the
//	                        only record of its life; Status is read from
//	                        it), the goroutine that runs it, and the unsafe
//	                        core (native_*.go, native_*.s; its proof is
//	                        docs/engine.md)
//	internal/rt, gls        runtime layouts (checked at start-up), goroutine ids
//
// This package keeps a coroutine's values (the Yielder's in and out slots)
// and its handle's life (drop.go: a handle dropped while suspended is
// closed); everything about control transfer is the engine's.
//
// # Strict mode: the setting for tests
//
// Tests usually run the portable engine: the race detector, -gcflags=all=-N
// -l (debuggers) and every platform without the native engine select it.
// The portable engine yields in a few places where the native engine
// refuses (see Refusals below), so a test can pass that fails in a release
// build. In strict mode the portable engine refuses exactly those yields,
// with the native engine's panic. Turn it on in every test binary that
// runs coroutines, with SetStrict(true) in TestMain or COSTACK_STRICT=1 in
// the environment. It costs a walk of the body's frames on every yield on
// the portable engine, and nothing on the native engine. Where package
// internal/rt mirrors the runtime (linux on amd64 and arm64, Go 1.26 and
// 1.27, including -race builds) strict mode checks every refusal exactly;
// on other platforms it sees what runtime.Callers shows, which catches a
// panic or runtime.Goexit in progress, reflect.Value.Call and cgo frames,
// but not reflect.MakeFunc frames, pending range-over-func defers, frames
// without stack maps or the 1 GB limit.
//
// # Threads
//
// Thread lock state follows control on every engine, as it does when a
// body runs as a plain call on its resumer's goroutine (the native
// engine). A body resumed by a goroutine locked to a thread
// (runtime.LockOSThread, or a cgo callback) runs on that thread; a body
// that locks its thread and yields leaves its resumer locked to that
// thread, so that a body resumed again by the same goroutine continues on
// it, and a body that unlocks unlocks its resumer. A coroutine may be
// resumed from locked and unlocked goroutines in any order, and from
// inside cgo callbacks. (The portable engine gets this by recording the
// switching goroutine's lock state for the runtime's coroutine switch
// before every switch; where its start-up check of that fails, which is
// not expected on Go 1.26 and 1.27, the runtime's rule applies instead:
// iter.Pull's, under which a switch whose lock state differs from the
// one at the coroutine's first resume ends the program.)
//
// # Misuse
//
// Misuse never corrupts state: the coroutines involved stay usable, and
// statuses stay right. It gets an error where the API returns one, and
// otherwise a panic whose message begins "costack: " and names the rule. A
// panic raised in a body is that body's panic: the Resume running it
// returns a *PanicError. Pinned by misuse_test.go, on every engine:
//
//   - Resume of a dead coroutine (returned, panicked, closed, or closed
//     before its first Resume): ErrDead, with done == true.
//   - Resume of a running or normal coroutine (itself, or a coroutine that
//     is resuming it): ErrRunning, with done == false; the body goes on.
//   - Close of a running or normal coroutine: ErrRunning; the body goes on.
//     Close of a dead coroutine: nil.
//   - Yield through the Yielder of a dead coroutine (kept past its body):
//     panic "Yield of a dead coroutine".
//   - Yield through the Yielder of a suspended coroutine (from outside, or
//     from another coroutine's body): panic "Yield of a suspended coroutine".
//   - Yield through the Yielder of a coroutine that is resuming another one
//     (from that other coroutine's body): panic "Yield of a coroutine that is
//     resuming another coroutine".
//   - Yield from another goroutine than the one running the body, or
//     through a copy of the Yielder (go vet's copylocks check reports
//     copies): panic "Yield from another goroutine" (on that goroutine).
//   - Yield inside interop.Call: panic "Yield inside interop.Call".
//   - New with a nil body: panic.
//   - runtime.Goexit in a body is not misuse: the coroutine is dead, the
//     deferred calls of the body, of every coroutine that resumed it, and of
//     the resuming goroutine run innermost first, and that goroutine exits.
//
// # Refusals
//
// The native engine copies a body's frames, so it refuses, with a panic
// that names the rule, the yields it cannot prove safe; the portable
// engine, outside strict mode, makes them as ordinary yields. A refused
// Yield panics in the body, saying the yield "is not supported on the
// native engine" (so Resume returns a *PanicError and the coroutine is
// dead, its deferred calls run), never a crash. Pinned by refusal_test.go,
// on every engine and in strict mode:
//
//   - Yield in a deferred call while the body panics (also after a recover
//     in that call): "Yield while a panic is in progress in the
//     coroutine".
//   - Yield in a deferred call while the body exits through
//     runtime.Goexit (the same message). A refusal here is a panic during
//     Goexit: it is recovered at the bottom of the body and the exit goes
//     on, so the resuming goroutine exits and Resume reports nothing.
//   - Yield inside a function called through reflect.Value.Call or made by
//     reflect.MakeFunc: "Yield inside reflect.Call or reflect.MakeFunc".
//   - Yield while a range-over-func defer record is pending, a defer
//     inside the body of a range-over-func loop: "Yield with a pending
//     range-over-func defer". Every other kind of pending defer is
//     supported: open-coded defers live in their frames, and the native
//     engine carries the defer records of the others (defers in loops,
//     functions with more than 8 defers) across the yield, so that they
//     run exactly as on the portable engine. A deferred call run at a
//     normal return, by the function's epilogue or by the runtime, may
//     yield.
//   - Yield across a frame without Go stack maps (assembly other than the
//     engine's own calling back into Go): "Yield across a frame without Go
//     stack maps".
//   - Yield of a coroutine whose frames take more than 1 GB: "Yield of a
//     coroutine whose frames take more than 1 GB". (The goroutine stack
//     limit, runtime/debug.SetMaxStack, 1 GB by default on 64-bit
//     platforms, usually comes first: a body that needs more stack than
//     it allows ends the program with a stack overflow, as any goroutine
//     would. On the native engine the resumer's stack holds the resumer's
//     frames and the body's: a Resume or Close whose saved frames would
//     not fit in it returns ErrStackLimit instead, and the coroutine stays
//     suspended.)
//
// Refused on every engine, strict mode or not:
//
//   - Yield across C frames: inside a Go function called back from C
//     (body → C → Go callback → Yield): "Yield inside a cgo callback is
//     not supported on the native engine, nor on the portable engine".
//     The C frames cannot be suspended. Calling C, and resuming
//     coroutines from inside a callback, are fine.
//
// # The scheduler, for game developers
//
// A [Scheduler] runs [Task]s the way Unity runs coroutines, with what
// UniTask and More Effective Coroutines (MEC) add: phases of the frame,
// groups of tasks to pause, scale or kill together, structured
// cancellation, typed results, and no allocation per frame. The Scheduler's
// own documentation is the reference for order, time, cost, workers and
// goroutines; this is the map from the concepts those libraries use:
//
//	Unity coroutines                    costack
//	StartCoroutine(f)                   s.Go(body)  (runs from the next tick), or
//	                                    s.Go(body, costack.Eager()) from a task
//	                                    (runs at once, up to its first yield)
//	StopCoroutine / StopAllCoroutines   task.Cancel() / group.Cancel()
//	yield return null                   t.Yield()
//	yield return new WaitForSeconds     yield.For(t, d)  (scheduler or group time)
//	WaitForSecondsRealtime              yield.ForRealtime(t, d)
//	WaitUntil / WaitWhile               yield.Until / yield.While
//	WaitForFixedUpdate                  yield.Phase(t, costack.FixedUpdate)
//	WaitForEndOfFrame                   yield.Phase(t, costack.EndOfFrame)
//	yield return StartCoroutine(f)      yield.Join(t, s.Go(body))
//	Time.timeScale                      group.SetTimeScale(f)  (per group)
//	Time.fixedDeltaTime, max timestep   FixedStep(step, maxPerTick)
//	a disabled MonoBehaviour            group.Pause()
//
//	UniTask                             costack
//	UniTask.Yield(PlayerLoopTiming)     t.YieldTo(phase), InPhase(phase)
//	UniTask.Delay(d, ignoreTimeScale)   yield.For / yield.ForRealtime
//	UniTask.DelayFrame(n)               yield.Frames(t, n)
//	UniTask<T>, await                   GoResult(s, body) -> *TaskOf[T], h.Join(t)
//	UniTask.WhenAll / WhenAny           yield.JoinAll / yield.JoinAny (typed),
//	                                    yield.All / yield.Any (any waits)
//	CancellationToken                   t.Context(); cancelling a task cancels its
//	                                    children and their interop.Block calls
//	Channel<T>                          yield.Mailbox[T]
//	UniTaskTracker                      s.WriteTasks(w), s.WriteTaskStacks(w),
//	                                    Task.String, Task.Stack, OnTaskEnd
//
//	More Effective Coroutines           costack
//	Timing.RunCoroutine(f, Segment)     s.Go(body, costack.InPhase(phase))
//	Segment.Update/FixedUpdate/...      Update, FixedUpdate, LateUpdate, EndOfFrame
//	tags and layers: Kill/Pause/        Group: Cancel, Pause, Resume (O(group size))
//	  ResumeCoroutines(tag)
//	Timing.WaitForSeconds               yield.For(t, d)
//	Timing.WaitUntilDone(handle)        yield.Join(t, task)
//	CoroutineHandle                     *Task
//	LocalTimeScale                      group.SetTimeScale, group.Now
//	zero allocations per frame          Yield, YieldTo and frame waits allocate
//	                                    nothing; a tick costs about a bare loop
//	                                    of Coroutine.Resume calls
//
// What differs: a task is a plain Go function with its own stack of
// calls, so a wait may be deep inside helpers (no "yield return" chain);
// waits end at the next tick, never in the middle of the current one
// (except YieldTo a later phase); and with Workers(n) task bodies run in
// parallel, sharing through Task.Apply, mailboxes and signals.
//
// # Debugging tasks
//
// Give tasks names (Named): a *Task prints as "name#id" and its state,
// including what it waits for ("guard#12 waiting for yield.After(2s)
// [group level1]"); every waiter of package yield describes itself.
// [Scheduler.WriteTasks] writes the whole task tree, for a debug page or a
// log. [OnTaskEnd] reports every task's end and error without polling
// Task.Err; without it, a task that panics is logged with its stack
// (log.Printf). [ProfileLabels] labels CPU profile samples with the task's
// name (go tool pprof -tagfocus task=guard).
//
// In a debugger, every task of a worker runs on that worker's goroutine, at
// the same stack addresses (on the native engine), so a breakpoint in a
// task body stops for every task that passes there, and "goroutine"
// conditions cannot tell tasks apart. Make the condition the task instead:
// in dlv, "break enemy.go:42" then "condition 1 t.id == 12" (the task's
// ID) or, in code, a check of costack.CurrentTask().ID(). A suspended task
// is not on any goroutine's stack on the native engine (on the portable
// engine it is a parked goroutine of its own): it is in no goroutine dump.
// Ask it where it waits instead: [Coroutine.Stack] and [Task.Stack] give
// its trace in the format of runtime.Stack, from the yield to the body, on
// either engine, and [Scheduler.WriteTaskStacks] writes every task's.
// [Scheduler.WriteProfile] counts a scheduler's tasks by stack in pprof's
// format, for a population too large to read task by task (100,000 tasks
// take about 50 ms): go tool pprof -top (or -traces) shows where they
// wait. [WriteProfile] does the same for every suspended coroutine of the
// process (New, Pull and every Scheduler's tasks), and package pprofhttp
// serves it beside net/http/pprof (go tool pprof
// http://host/debug/pprof/costack). Neither stops anything: a Resume that
// wants a coroutine while its stack is read waits microseconds for it.
package costack

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
// Yield is an ordinary yield on the portable engine in the cases below; the
// native engine may refuse it instead, with a panic saying the yield "is not
// supported on the native engine" (so Resume returns a *PanicError and the
// coroutine is dead, its deferred calls run), never a crash:
//
//   - Yield in a deferred call while the body panics (also after a recover
//     in that call).
//   - Yield in a deferred call while the body exits through runtime.Goexit.
//     A refusal here is a panic during Goexit: it is recovered at the bottom
//     of the body and the exit goes on, so the resuming goroutine exits and
//     Resume reports nothing.
//   - Yield inside a function called through reflect.Value.Call or made by
//     reflect.MakeFunc.
//   - Yield while a range-over-func defer record is pending: a defer inside
//     the body of a range-over-func loop. Every other kind of pending defer
//     is supported: open-coded defers live in their frames, and the native
//     engine carries the defer records of the others (defers in loops,
//     functions with more than 8 defers) across the yield, so that they
//     run exactly as on the portable engine.
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
//	StartCoroutine(f)                   s.Go(body)  (runs from the next tick)
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
//	UniTaskTracker                      s.WriteTasks(w), Task.String, OnTaskEnd
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
// is not on any goroutine's stack on the native engine: find it with
// WriteTasks, not in a goroutine dump.
package costack

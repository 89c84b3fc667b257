package interop

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/costack-dev/costack/internal/gls"
)

// Thread is one goroutine locked to one OS thread (runtime.LockOSThread)
// for its whole life, running the calls given to it one at a time, in the
// order they were submitted. Use it for libraries that must be called from
// a single thread — GUI toolkits, OpenGL contexts, some drivers — either
// for chosen calls ([Thread.Do], [DoValue], or [BlockOn] from a scheduler
// task) or for a whole scheduler loop: a loop run inside Do ticks on the
// locked thread, and so do the bodies of the tasks it resumes (they run on
// the resumer; see package costack).
//
// A Thread is safe for concurrent use. Close it when done: its goroutine
// and OS thread live until then (the thread is ended with its goroutine,
// since it is still locked, so state a C library left in it is not reused).
//
// Coroutines and threads: a coroutine body runs on its resumer, on every
// engine, so a body resumed inside a Do runs on the thread, and Do called
// from it runs fn directly. Lock state follows control (see package
// costack, "Threads"): the same coroutine may be resumed inside a Thread's
// calls and outside them, in any order, and runs on the thread exactly
// when its resumer does; a scheduler may tick inside a Do on some frames
// and outside on others.
type Thread struct {
	// id is the gls.ID of the thread's goroutine and tid its OS thread id
	// (or -1), while it runs; both are cleared when it exits, as the
	// runtime and the kernel may reuse them.
	id     atomic.Uintptr
	tid    atomic.Int64
	mu     sync.Mutex
	queue  []runner
	wake   chan struct{}
	closed bool
	stop   context.Context
	cancel context.CancelFunc
	exited chan struct{}
}

// NewThread starts a locked thread and returns once it is running.
func NewThread() *Thread {
	t := &Thread{wake: make(chan struct{}, 1), exited: make(chan struct{})}
	t.stop, t.cancel = context.WithCancel(context.Background())
	started := make(chan struct{})
	go t.loop(started)
	<-started
	return t
}

func (t *Thread) loop(started chan<- struct{}) {
	runtime.LockOSThread()
	// No UnlockOSThread: the goroutine exits locked, so the runtime ends
	// the OS thread instead of reusing it. The deferred call also runs if
	// a call ends the goroutine with runtime.Goexit: the thread is then
	// closed and what is still queued fails.
	defer func() {
		t.mu.Lock()
		t.closed = true
		rest := t.queue
		t.queue = nil
		t.mu.Unlock()
		t.cancel()
		for _, r := range rest {
			r.fail(ErrClosed)
		}
		t.id.Store(0)
		t.tid.Store(-1)
		close(t.exited)
	}()
	t.id.Store(gls.ID())
	t.tid.Store(int64(osThreadID()))
	close(started)
	for {
		t.mu.Lock()
		if len(t.queue) == 0 {
			closed := t.closed
			t.mu.Unlock()
			if closed {
				return
			}
			<-t.wake
			continue
		}
		r := t.queue[0]
		t.queue[0] = nil
		t.queue = t.queue[1:]
		t.mu.Unlock()
		r.run(t.stop)
	}
}

// Do runs fn on the thread and waits for it to return. A panic in fn is
// recovered on the thread and re-raised in Do's caller with the same value;
// the thread survives. Do called on the thread itself (from inside a call it
// is running) runs fn directly. Do returns [ErrClosed], without running fn,
// if the thread is closed or closes before fn starts. If fn calls
// runtime.Goexit, the locked goroutine cannot go on: the thread closes and
// Do returns a [*PanicError] whose Value is [ErrGoexit].
func (t *Thread) Do(fn func()) error {
	_, err := DoValue(t, func() struct{} { fn(); return struct{}{} })
	return err
}

// DoValue is [Thread.Do] for a function with a result.
func DoValue[T any](t *Thread, fn func() T) (T, error) {
	if t.onThread() {
		return fn(), nil
	}
	d := &doCall[T]{fn: fn, done: make(chan struct{})}
	if err := t.submit(d); err != nil {
		var zero T
		return zero, err
	}
	<-d.done
	if d.panicked {
		panic(d.p)
	}
	return d.val, d.err
}

// doCall is one Do.
type doCall[T any] struct {
	fn       func() T
	done     chan struct{}
	val      T
	err      error
	p        any
	panicked bool
}

func (d *doCall[T]) run(context.Context) {
	d.panicked = true
	defer func() {
		if d.panicked {
			d.p = recover()
			if d.p == nil {
				d.panicked = false
				d.err = newPanicError(nil)
			}
		}
		close(d.done)
	}()
	d.val = d.fn()
	d.panicked = false
}

func (d *doCall[T]) fail(err error) {
	d.err = err
	close(d.done)
}

// onThread reports whether the caller runs on behalf of the thread: on its
// goroutine, or — on the portable engine, where a coroutine body runs on a
// goroutine of its own to which the runtime hands the locked OS thread
// while the thread's goroutine waits in Resume — on its OS thread (an OS
// thread locked to a goroutine runs no other goroutine but such bodies).
// Waiting for the thread there would wait forever.
func (t *Thread) onThread() bool {
	if gls.ID() == t.id.Load() {
		return true
	}
	tid := t.tid.Load()
	return tid >= 0 && int64(osThreadID()) == tid
}

func (t *Thread) stopContext() context.Context { return t.stop }

func (t *Thread) submit(r runner) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return ErrClosed
	}
	t.queue = append(t.queue, r)
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
	return nil
}

// Close stops the thread: calls submitted from now on fail with
// [ErrClosed]; calls already submitted still run, with their contexts
// cancelled ([BlockOn], [StartOn]). Close waits for the thread to finish
// them and exit, unless it is called on the thread itself, in which case
// the thread exits after the current call. Close is idempotent.
func (t *Thread) Close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.cancel()
	select {
	case t.wake <- struct{}{}:
	default:
	}
	if !t.onThread() {
		<-t.exited
	}
}

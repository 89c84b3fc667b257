package interop

import (
	"context"
	"errors"

	"github.com/costack-dev/costack/costack"
)

// ErrPending is the error [BlockingCall.Result] returns while the call has
// not ended (for example after it lost a race in yield.Any).
var ErrPending = errors.New("interop: blocking call has not ended")

// Block runs fn on the [DefaultPool] and suspends task t, and only t, until
// fn returns; t then resumes on a later tick with fn's result. The
// scheduler goes on ticking meanwhile, and no other task waits for fn. It
// must be called by t's own body.
//
// fn's context descends from t's (Task.Context): it is cancelled as soon
// as t is cancelled (by Task.Cancel on t, an ancestor or its group), when t
// is closed while it waits (Scheduler.Close) — fn's result is then dropped
// — and if the pool is closed.
// A panic in fn ends the call with a [*PanicError]; the task continues
// normally. The result reaches the task exactly once.
//
// Like any wait, Block inside [Call] panics naming interop.Call, before fn
// is started.
func Block[T any](t *costack.Task, fn func(ctx context.Context) (T, error)) (T, error) {
	return BlockOn(DefaultPool(), t, fn)
}

// BlockOn is [Block] on a given executor: a [*Pool], or a [*Thread] for a
// call that must run on a particular OS thread.
func BlockOn[T any](ex Executor, t *costack.Task, fn func(ctx context.Context) (T, error)) (T, error) {
	b := NewBlockingCall(ex, fn)
	t.Wait(b)
	if !b.Done() {
		// Wait returns only once the call's Wake ended it, which follows
		// the result being stored.
		panic("interop: internal error: task resumed before its blocking call ended")
	}
	return b.f.Result()
}

// BlockingCall is a blocking call as a [costack.Waiter]: waiting on it
// starts fn on an executor and ends when fn returns. Use it to combine a
// blocking call with other waits, for example a timeout:
//
//	c := interop.NewBlockingCall(interop.DefaultPool(), fetch)
//	if yield.Any(t, c, yield.After(time.Second)) == 1 {
//		// timed out: fetch's context has been cancelled
//	}
//
// Whenever the wait ends without the call having ended (another branch of
// an Any won, or the task was cancelled or closed), fn's context is
// cancelled. A BlockingCall is good for one wait; arming it again panics.
type BlockingCall[T any] struct {
	ex    Executor
	fn    func(ctx context.Context) (T, error)
	armed bool
	f     Future[T]
}

// NewBlockingCall returns a waiter that runs fn on ex when a task waits on
// it.
func NewBlockingCall[T any](ex Executor, fn func(ctx context.Context) (T, error)) *BlockingCall[T] {
	if fn == nil {
		panic("interop: blocking call with a nil function")
	}
	return &BlockingCall[T]{ex: ex, fn: fn}
}

// Arm starts the call, for [costack.Task.Wait]. It is not meant to be
// called directly.
func (b *BlockingCall[T]) Arm(w costack.Waker) {
	if b.armed {
		panic("interop: BlockingCall waited on twice")
	}
	b.armed = true
	f := &b.f
	// The context descends from the task's, so that cancelling the task
	// (or an ancestor, or its group) cancels the call at once; the run
	// links it to the executor's stop context (f.linked is false).
	f.init(w.Task().Context(), b.fn)
	f.waker = w
	b.fn = nil
	// However the wait ends, the call has no one left to deliver to:
	// cancel it (a no-op once it has ended).
	w.OnDone(f.cancel)
	f.submitTo(b.ex) // on refusal, wakes w: the wait ends without suspending
}

// Done reports whether the call has ended.
func (b *BlockingCall[T]) Done() bool { return b.armed && b.f.Ready() }

// Result returns the call's result once it has ended: fn's result, or a
// [*PanicError], [ErrClosed] or a context error, as for [Future.Result].
// Before that it returns [ErrPending]; it never waits.
func (b *BlockingCall[T]) Result() (T, error) {
	if !b.Done() {
		var zero T
		return zero, ErrPending
	}
	return b.f.Result()
}

package interop

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/costack-dev/costack/costack"
)

// Executor runs blocking calls on goroutines other than the caller's. It is
// implemented by [*Pool] and [*Thread]; pass one to [BlockOn] or [StartOn].
type Executor interface {
	// submit queues r. It returns ErrClosed (and does not keep r) when the
	// executor is closed; otherwise it calls exactly one of r.run or r.fail
	// later, on another goroutine.
	submit(r runner) error
	// stopContext is cancelled when the executor closes.
	stopContext() context.Context
}

// runner is one queued call.
type runner interface {
	// run runs the call; stop is cancelled when the executor closes.
	run(stop context.Context)
	// fail ends a call that will never run.
	fail(err error)
}

// Pool runs blocking calls on at most Size worker goroutines at once; calls
// beyond that wait in a FIFO queue. Workers are started on demand and exit
// as soon as the queue is empty, so an idle pool holds no goroutines. Each
// call that blocks in a system call or in C holds one OS thread while it
// does, so Size bounds the threads the pool's calls take.
//
// A Pool is safe for concurrent use.
type Pool struct {
	mu      sync.Mutex
	size    int
	workers int
	queue   []runner
	head    int
	closed  bool
	wg      sync.WaitGroup
	stop    context.Context // cancelled by Close
	cancel  context.CancelFunc
}

// NewPool returns a pool configured by opts. Without [PoolSize] it runs
// at most max(128, 16×GOMAXPROCS) calls at once (GOMAXPROCS as NewPool
// reads it): enough for blocking calls to overlap widely, bounded so that
// they cannot take an unbounded number of OS threads. A new pool holds no
// goroutines until calls are submitted to it.
func NewPool(opts ...PoolOption) *Pool {
	cfg := poolConfig{size: max(128, 16*runtime.GOMAXPROCS(0))}
	for _, o := range opts {
		o.apply(&cfg)
	}
	p := &Pool{size: cfg.size}
	p.stop, p.cancel = context.WithCancel(context.Background())
	return p
}

// Size returns the most workers the pool runs at once.
func (p *Pool) Size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.size
}

// SetSize changes the most workers the pool runs at once. Calls already
// running are not interrupted when it shrinks; it panics if n < 1.
func (p *Pool) SetSize(n int) {
	if n < 1 {
		panic("interop: Pool.SetSize with n < 1")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.size = n
	for p.workers < p.size && p.head < len(p.queue) {
		p.spawn(p.pop())
	}
}

// Close shuts the pool down: calls submitted from now on, and calls still
// queued, end with [ErrClosed] without running; the contexts of running
// calls are cancelled, and Close waits for them to return, after which the
// pool holds no goroutines. Close is idempotent. It must not be called by
// a call running on the pool, which it would wait for forever.
func (p *Pool) Close() {
	p.mu.Lock()
	queued := p.queue[p.head:]
	p.queue, p.head = nil, 0
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	for _, r := range queued {
		r.fail(ErrClosed)
	}
	p.wg.Wait()
}

func (p *Pool) stopContext() context.Context { return p.stop }

func (p *Pool) submit(r runner) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if p.workers < p.size {
		p.spawn(r)
	} else {
		p.queue = append(p.queue, r)
	}
	return nil
}

// spawn starts a worker with r as its first call. p.mu is held.
func (p *Pool) spawn(r runner) {
	p.workers++
	p.wg.Add(1)
	go p.work(r)
}

// pop takes the oldest queued call. p.mu is held and the queue is not
// empty.
func (p *Pool) pop() runner {
	r := p.queue[p.head]
	p.queue[p.head] = nil
	p.head++
	if p.head == len(p.queue) {
		p.queue, p.head = p.queue[:0], 0
	} else if p.head > 64 && p.head*2 > len(p.queue) {
		n := copy(p.queue, p.queue[p.head:])
		clear(p.queue[n:])
		p.queue, p.head = p.queue[:n], 0
	}
	return r
}

// work runs calls until the queue is empty. A call that exits its
// goroutine (runtime.Goexit) has already delivered its result; the worker
// then ends and, if calls are waiting, a fresh one takes its place.
func (p *Pool) work(r runner) {
	exited := true
	defer func() {
		if exited {
			p.mu.Lock()
			p.workers--
			if !p.closed && p.head < len(p.queue) && p.workers < p.size {
				p.spawn(p.pop())
			}
			p.mu.Unlock()
		}
		p.wg.Done()
	}()
	for r != nil {
		r.run(p.stop)
		r = p.next()
	}
	exited = false
}

// next returns the next queued call, or nil after retiring the worker.
func (p *Pool) next() runner {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.head == len(p.queue) || p.workers > p.size {
		p.workers--
		return nil
	}
	return p.pop()
}

// Future is a blocking call started with [Start] or [StartOn] (the only way
// to get a working one): its result once it has ended. Its methods are
// safe for concurrent use.
type Future[T any] struct {
	ctx    context.Context
	cancel context.CancelFunc
	fn     func(ctx context.Context) (T, error)
	done   chan struct{}
	ended  atomic.Bool
	// linked is set when ctx descends from the executor's stop context
	// already, so run need not link them.
	linked bool
	val    T
	err    error
	// waker, if set (BlockingCall), is woken once the result is in, on the
	// goroutine that ended the call.
	waker costack.Waker
}

// Start runs fn(ctx') on the [DefaultPool] and returns at once; ctx' is
// derived from ctx and is also cancelled by [Future.Cancel] and by closing
// the pool. It is the form of [Block] for code that is not a scheduler
// task: a goroutine, or a bare coroutine that yields while the call runs
// and lets its resumer wait on [Future.Done].
func Start[T any](ctx context.Context, fn func(ctx context.Context) (T, error)) *Future[T] {
	return StartOn(ctx, DefaultPool(), fn)
}

// StartOn is [Start] on a given executor (a [*Pool] or a [*Thread]).
func StartOn[T any](ctx context.Context, ex Executor, fn func(ctx context.Context) (T, error)) *Future[T] {
	f := new(Future[T])
	f.init(ctx, fn)
	f.submitTo(ex)
	return f
}

// init prepares f to run fn with a context derived from parent.
func (f *Future[T]) init(parent context.Context, fn func(ctx context.Context) (T, error)) {
	if fn == nil {
		panic("interop: blocking call with a nil function")
	}
	f.fn = fn
	f.done = make(chan struct{})
	f.ctx, f.cancel = context.WithCancel(parent)
}

// submitTo hands f to ex, or ends it with ex's refusal.
func (f *Future[T]) submitTo(ex Executor) {
	if err := ex.submit(f); err != nil {
		f.fail(err)
	}
}

// Done returns a channel that is closed once the call has ended.
func (f *Future[T]) Done() <-chan struct{} { return f.done }

// Ready reports whether the call has ended, without waiting.
func (f *Future[T]) Ready() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

// Result waits for the call to end and returns its result: fn's result,
// a [*PanicError] if fn panicked, ErrClosed if the executor closed before
// it ran, or the context's error if its context was done before it ran.
func (f *Future[T]) Result() (T, error) {
	<-f.done
	return f.val, f.err
}

// Cancel cancels the call's context. A call that has not started yet ends
// without running; a running one ends when fn returns.
func (f *Future[T]) Cancel() { f.cancel() }

func (f *Future[T]) run(stop context.Context) {
	if f.ctx.Err() != nil {
		f.fail(context.Cause(f.ctx))
		return
	}
	if !f.linked {
		defer context.AfterFunc(stop, f.cancel)()
	}
	returned := false
	defer func() {
		if !returned {
			r := recover()
			var zero T
			f.finish(zero, newPanicError(r))
		}
	}()
	v, err := f.fn(f.ctx)
	returned = true
	f.finish(v, err)
}

func (f *Future[T]) fail(err error) {
	var zero T
	f.finish(zero, err)
}

// finish delivers the result: exactly once, whatever path the call took.
func (f *Future[T]) finish(v T, err error) {
	if f.ended.Swap(true) {
		panic("interop: internal error: blocking call ended twice")
	}
	f.val, f.err = v, err
	f.fn = nil
	f.cancel()
	close(f.done)
	f.waker.Wake() // the zero Waker does nothing
}

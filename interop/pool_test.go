package interop

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/costack-dev/costack/costack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStartReturnsResult(t *testing.T) {
	f := Start(context.Background(), func(ctx context.Context) (string, error) { return "hello", nil })
	v, err := f.Result()
	require.NoError(t, err)
	assert.Equal(t, "hello", v)
	assert.True(t, f.Ready())
	// Result can be read again; it is the same result.
	v, err = f.Result()
	require.NoError(t, err)
	assert.Equal(t, "hello", v)
}

func TestStartPassesErrors(t *testing.T) {
	boom := errors.New("boom")
	_, err := Start(context.Background(), func(ctx context.Context) (int, error) { return 0, boom }).Result()
	assert.ErrorIs(t, err, boom)
}

func TestPanicInBlockingCallComesBackAsError(t *testing.T) {
	p := NewPool(PoolSize(1))
	defer p.Close()
	boom := errors.New("boom")
	_, err := StartOn(context.Background(), p, func(ctx context.Context) (int, error) { panic(boom) }).Result()
	var pe *PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, boom, pe.Value)
	assert.ErrorIs(t, err, boom)
	assert.NotErrorIs(t, err, ErrGoexit)
	assert.NotEmpty(t, pe.Stack)
	// The pool still works.
	v, err := StartOn(context.Background(), p, func(ctx context.Context) (int, error) { return 2, nil }).Result()
	require.NoError(t, err)
	assert.Equal(t, 2, v)
}

func TestGoexitInBlockingCallComesBackAsError(t *testing.T) {
	p := NewPool(PoolSize(1))
	defer p.Close()
	release := make(chan struct{})
	f1 := StartOn(context.Background(), p, func(ctx context.Context) (int, error) {
		<-release
		runtime.Goexit()
		return 1, nil
	})
	// Queued behind f1 on the single worker: must still run after f1's
	// worker has exited.
	f2 := StartOn(context.Background(), p, func(ctx context.Context) (int, error) { return 2, nil })
	close(release)
	_, err := f1.Result()
	var pe *PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, ErrGoexit, pe.Value)
	assert.ErrorIs(t, err, ErrGoexit)
	assert.NotEmpty(t, pe.Stack)
	assert.Contains(t, err.Error(), "Goexit")
	v, err := f2.Result()
	require.NoError(t, err)
	assert.Equal(t, 2, v)
}

func TestPoolIsBounded(t *testing.T) {
	const size, calls = 3, 40
	p := NewPool(PoolSize(size))
	defer p.Close()
	var running, most atomic.Int32
	var started sync.WaitGroup
	started.Add(size)
	release := make(chan struct{})
	futures := make([]*Future[int], calls)
	for i := range futures {
		futures[i] = StartOn(context.Background(), p, func(ctx context.Context) (int, error) {
			n := running.Add(1)
			defer running.Add(-1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			if i < size {
				started.Done()
			}
			<-release
			return i, nil
		})
	}
	started.Wait() // the first size calls run at once
	close(release)
	for i, f := range futures {
		v, err := f.Result()
		require.NoError(t, err)
		assert.Equal(t, i, v)
	}
	assert.LessOrEqual(t, most.Load(), int32(size))
	assert.Equal(t, int32(size), most.Load())
}

func TestSetSizeStartsWorkersForQueuedCalls(t *testing.T) {
	p := NewPool(PoolSize(1))
	defer p.Close()
	assert.Equal(t, 1, p.Size())
	var started sync.WaitGroup
	started.Add(3)
	release := make(chan struct{})
	var fs []*Future[int]
	for range 3 {
		fs = append(fs, StartOn(context.Background(), p, func(ctx context.Context) (int, error) {
			started.Done()
			<-release
			return 0, nil
		}))
	}
	p.SetSize(3)
	assert.Equal(t, 3, p.Size())
	started.Wait() // all three run at once only after the resize
	close(release)
	for _, f := range fs {
		_, err := f.Result()
		require.NoError(t, err)
	}
	assert.Panics(t, func() { p.SetSize(0) })
	assert.Panics(t, func() { NewPool(PoolSize(0)) })
}

func TestCancelledCallDoesNotRun(t *testing.T) {
	p := NewPool(PoolSize(1))
	defer p.Close()
	release := make(chan struct{})
	first := StartOn(context.Background(), p, func(ctx context.Context) (int, error) { <-release; return 1, nil })
	ran := false
	second := StartOn(context.Background(), p, func(ctx context.Context) (int, error) { ran = true; return 2, nil })
	second.Cancel()
	close(release)
	_, err := second.Result()
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, ran)
	v, err := first.Result()
	require.NoError(t, err)
	assert.Equal(t, 1, v)
}

func TestCancelReachesRunningCall(t *testing.T) {
	started := make(chan struct{})
	f := Start(context.Background(), func(ctx context.Context) (int, error) {
		close(started)
		<-ctx.Done()
		return 0, ctx.Err()
	})
	<-started
	f.Cancel()
	_, err := f.Result()
	assert.ErrorIs(t, err, context.Canceled)
}

func TestParentContextReachesCall(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	f := Start(ctx, func(ctx context.Context) (int, error) {
		close(started)
		<-ctx.Done()
		return 0, ctx.Err()
	})
	<-started
	cancel()
	_, err := f.Result()
	assert.ErrorIs(t, err, context.Canceled)
}

// TestStartOnTakesContextFirst: StartOn's ctx (its first argument, as
// everywhere in Go) is the parent of the call's context, on a Pool and on a
// Thread, and a call whose parent is done before it runs does not run.
func TestStartOnTakesContextFirst(t *testing.T) {
	p := NewPool(PoolSize(1))
	defer p.Close()
	th := NewThread()
	defer th.Close()
	for name, ex := range map[string]Executor{"pool": p, "thread": th} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			started := make(chan struct{})
			f := StartOn(ctx, ex, func(ctx context.Context) (int, error) {
				close(started)
				<-ctx.Done()
				return 0, context.Cause(ctx)
			})
			<-started
			stop := errors.New("stop")
			cancel(stop)
			_, err := f.Result()
			assert.ErrorIs(t, err, stop)

			_, err = StartOn(ctx, ex, func(ctx context.Context) (int, error) {
				t.Error("ran with a done parent context")
				return 0, nil
			}).Result()
			assert.ErrorIs(t, err, stop)
		})
	}
}

func TestPoolClose(t *testing.T) {
	p := NewPool(PoolSize(1))
	started := make(chan struct{})
	running := StartOn(context.Background(), p, func(ctx context.Context) (int, error) {
		close(started)
		<-ctx.Done() // Close cancels it
		return 7, nil
	})
	queued := StartOn(context.Background(), p, func(ctx context.Context) (int, error) { return 0, nil })
	<-started
	p.Close()
	v, err := running.Result()
	require.NoError(t, err)
	assert.Equal(t, 7, v)
	_, err = queued.Result()
	assert.ErrorIs(t, err, ErrClosed)
	_, err = StartOn(context.Background(), p, func(ctx context.Context) (int, error) { return 0, nil }).Result()
	assert.ErrorIs(t, err, ErrClosed)
	p.Close() // idempotent
}

// TestEveryResultDeliveredOnce runs many calls on a small pool while some
// are cancelled and the pool is closed midway: every future ends exactly
// once (finish panics on a second delivery), with its own value or an
// error.
func TestEveryResultDeliveredOnce(t *testing.T) {
	p := NewPool(PoolSize(4))
	const n = 2000
	fs := make([]*Future[int], n)
	for i := range fs {
		fs[i] = StartOn(context.Background(), p, func(ctx context.Context) (int, error) {
			if i%7 == 0 {
				runtime.Gosched()
			}
			return i, nil
		})
		if i%5 == 0 {
			fs[i].Cancel()
		}
		if i == n/2 {
			go p.Close()
		}
	}
	p.Close()
	var ok, cancelled, closed int
	for i, f := range fs {
		v, err := f.Result()
		switch {
		case err == nil:
			assert.Equal(t, i, v)
			ok++
		case errors.Is(err, context.Canceled):
			cancelled++
		case errors.Is(err, ErrClosed):
			closed++
		default:
			t.Fatalf("call %d: unexpected error %v", i, err)
		}
	}
	assert.Equal(t, n, ok+cancelled+closed)
	t.Logf("ok %d, cancelled %d, closed %d", ok, cancelled, closed)
}

func TestBlockYieldInBareCoroutine(t *testing.T) {
	release := make(chan struct{})
	co := costack.New(func(y *costack.Yielder[int, string], _ int) string {
		v, err := BlockYield(context.Background(), y, "waiting", func(ctx context.Context) (string, error) {
			<-release
			return "result", nil
		})
		if err != nil {
			return err.Error()
		}
		return v
	})
	out, done, err := co.Resume(0)
	require.NoError(t, err)
	require.False(t, done, "the first resume returns while the call runs")
	assert.Equal(t, "waiting", out)
	close(release)
	for !done {
		out, done, err = co.Resume(0)
		require.NoError(t, err)
		runtime.Gosched()
	}
	assert.Equal(t, "result", out)
}

func TestClosingCoroutineInBlockYieldCancelsCall(t *testing.T) {
	started := make(chan struct{})
	result := make(chan error, 1)
	co := costack.New(func(y *costack.Yielder[int, int], _ int) int {
		_, _ = BlockYield(context.Background(), y, 0, func(ctx context.Context) (int, error) {
			close(started)
			<-ctx.Done()
			result <- ctx.Err()
			return 0, ctx.Err()
		})
		return 1
	})
	_, done, err := co.Resume(0)
	require.NoError(t, err)
	require.False(t, done)
	<-started
	require.NoError(t, co.Close())
	assert.ErrorIs(t, <-result, context.Canceled)
}

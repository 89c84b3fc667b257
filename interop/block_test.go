package interop

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/costack-dev/costack/costack"
	"github.com/costack-dev/costack/yield"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tickUntil ticks s until cond holds. The pause between ticks only gives
// pool workers a chance to run; the limit is a hang guard, not a timing
// assertion.
func tickUntil(t *testing.T, s *costack.Scheduler, cond func() bool) (ticks int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "condition not reached after %d ticks", ticks)
		s.Tick()
		ticks++
		time.Sleep(50 * time.Microsecond)
	}
	return ticks
}

func TestBlockSuspendsOnlyTheTask(t *testing.T) {
	s := costack.NewScheduler()
	defer s.Close()
	release := make(chan struct{})
	started := make(chan struct{})
	var got string
	var gotErr error
	blocked := s.Go(func(tk *costack.Task) {
		got, gotErr = Block(tk, func(ctx context.Context) (string, error) {
			close(started)
			<-release
			return "result", nil
		})
	})
	var frames atomic.Int64
	ticker := s.Go(func(tk *costack.Task) {
		for {
			frames.Add(1)
			tk.Yield()
		}
	})
	s.Tick()
	<-started
	// The call is blocked: the scheduler keeps ticking, the other task runs
	// every tick, the blocked task waits.
	for i := 0; i < 100; i++ {
		s.Tick()
	}
	assert.EqualValues(t, 101, frames.Load())
	assert.False(t, blocked.Done())
	close(release)
	tickUntil(t, s, blocked.Done)
	require.NoError(t, blocked.Err())
	require.NoError(t, gotErr)
	assert.Equal(t, "result", got)
	assert.EqualValues(t, s.Frame(), frames.Load(), "the other task never missed a tick")
	ticker.Cancel()
	s.Tick()
	assert.True(t, ticker.Done())
}

func TestBlockErrorsAndPanicsComeBack(t *testing.T) {
	s := costack.NewScheduler()
	defer s.Close()
	boom := errors.New("boom")
	var errs []error
	var after bool
	tk := s.Go(func(tk *costack.Task) {
		_, err := Block(tk, func(ctx context.Context) (int, error) { return 0, boom })
		errs = append(errs, err)
		_, err = Block(tk, func(ctx context.Context) (int, error) { panic("fn panicked") })
		errs = append(errs, err)
		after = true
	})
	tickUntil(t, s, tk.Done)
	require.NoError(t, tk.Err(), "a panic in fn does not end the task")
	require.Len(t, errs, 2)
	assert.ErrorIs(t, errs[0], boom)
	var pe *PanicError
	require.ErrorAs(t, errs[1], &pe)
	assert.Equal(t, "fn panicked", pe.Value)
	assert.True(t, after)
}

func TestCancellingTaskCancelsBlockingCall(t *testing.T) {
	s := costack.NewScheduler()
	defer s.Close()
	started := make(chan struct{})
	ctxErr := make(chan error, 1)
	var returned, deferred bool
	tk := s.Go(func(tk *costack.Task) {
		defer func() { deferred = true }()
		_, _ = Block(tk, func(ctx context.Context) (int, error) {
			close(started)
			<-ctx.Done()
			ctxErr <- ctx.Err()
			return 0, ctx.Err()
		})
		returned = true
	})
	s.Tick()
	<-started
	tk.Cancel()
	// The task is closed at the next tick; unwinding through Block cancels
	// the call's context.
	tickUntil(t, s, tk.Done)
	assert.ErrorIs(t, <-ctxErr, context.Canceled)
	assert.False(t, returned, "a cancelled task unwinds through Block")
	assert.True(t, deferred)
	assert.NoError(t, tk.Err())
}

func TestClosingSchedulerCancelsBlockingCalls(t *testing.T) {
	s := costack.NewScheduler()
	const n = 20
	var started sync.WaitGroup
	started.Add(n)
	var cancelled atomic.Int32
	tasks := make([]*costack.Task, n)
	for i := range tasks {
		tasks[i] = s.Go(func(tk *costack.Task) {
			_, _ = Block(tk, func(ctx context.Context) (int, error) {
				started.Done()
				<-ctx.Done()
				cancelled.Add(1)
				return 0, ctx.Err()
			})
			t.Error("Block returned after Close")
		})
	}
	s.Tick()
	started.Wait()
	s.Close()
	for _, tk := range tasks {
		assert.True(t, tk.Done())
	}
	// The calls return once their contexts are cancelled; their workers
	// then exit (goleak checks that at the end).
	for cancelled.Load() < n {
		runtime.Gosched()
	}
}

func TestYieldInsideCallPanicsInTasks(t *testing.T) {
	waits := map[string]func(tk *costack.Task){
		"Task.Yield":   func(tk *costack.Task) { tk.Yield() },
		"yield.Frames": func(tk *costack.Task) { yield.Frames(tk, 3) },
		"yield.For":    func(tk *costack.Task) { yield.For(tk, time.Second) },
		"yield.On":     func(tk *costack.Task) { yield.On(tk, yield.NewSignal()) },
		"Block": func(tk *costack.Task) {
			_, _ = Block(tk, func(ctx context.Context) (int, error) {
				t.Error("a Block refused inside Call must not start its call")
				return 0, nil
			})
		},
	}
	for name, wait := range waits {
		t.Run(name, func(t *testing.T) {
			s := costack.NewScheduler()
			defer s.Close()
			var msg string
			tk := s.Go(func(tk *costack.Task) {
				msg = recoverMessage(func() { Call(func() { nest(200, func() { wait(tk) }) }) })
				tk.Yield() // still a working task
				// Unrecovered, it ends the task with the error.
				Call(func() { wait(tk) })
			})
			tickUntil(t, s, tk.Done)
			assert.Contains(t, msg, "interop.Call")
			var pe *costack.PanicError
			require.ErrorAs(t, tk.Err(), &pe)
			assert.Contains(t, fmt.Sprint(pe.Value), "interop.Call")
		})
	}
}

func TestBlockOnThreadRunsOnOneOSThread(t *testing.T) {
	needThreadID(t)
	th := NewThread()
	defer th.Close()
	want, err := DoValue(th, osThreadID)
	require.NoError(t, err)
	s := costack.NewScheduler()
	defer s.Close()
	var tids []int
	tk := s.Go(func(tk *costack.Task) {
		for range 10 {
			tid, err := BlockOn(th, tk, func(ctx context.Context) (int, error) { return osThreadID(), nil })
			if err != nil {
				panic(err)
			}
			tids = append(tids, tid)
			tk.Yield()
		}
	})
	tickUntil(t, s, tk.Done)
	require.NoError(t, tk.Err())
	require.Len(t, tids, 10)
	for _, tid := range tids {
		assert.Equal(t, want, tid)
	}
}

// TestSchedulerLoopOnThread runs a whole scheduler — creation, ticks and
// close — on a locked thread: the loop and the task bodies all see one OS
// thread id, tick after tick.
func TestSchedulerLoopOnThread(t *testing.T) {
	needThreadID(t)
	th := NewThread()
	defer th.Close()
	var loop, bodies []int
	err := th.Do(func() {
		s := costack.NewScheduler()
		defer s.Close()
		for range 3 {
			s.Go(func(tk *costack.Task) {
				for {
					bodies = append(bodies, osThreadID())
					yield.Frames(tk, 2)
				}
			})
		}
		for range 30 {
			s.Tick()
			loop = append(loop, osThreadID())
		}
	})
	require.NoError(t, err)
	require.Len(t, loop, 30)
	require.Len(t, bodies, 45)
	for _, tid := range append(loop, bodies...) {
		assert.Equal(t, loop[0], tid)
	}
}

func TestBlockingCallWithTimeout(t *testing.T) {
	s := costack.NewScheduler()
	defer s.Close()
	ctxErr := make(chan error, 1)
	var first int
	var c *BlockingCall[int]
	tk := s.Go(func(tk *costack.Task) {
		c = NewBlockingCall(DefaultPool(), func(ctx context.Context) (int, error) {
			<-ctx.Done() // only ends when cancelled
			ctxErr <- ctx.Err()
			return 0, ctx.Err()
		})
		first = yield.Any(tk, c, yield.InFrames(5))
	})
	tickUntil(t, s, tk.Done)
	require.NoError(t, tk.Err())
	assert.Equal(t, 1, first, "the timeout wins")
	assert.ErrorIs(t, <-ctxErr, context.Canceled, "the losing call is cancelled")
	for !c.Done() {
		runtime.Gosched()
	}
	_, err := c.Result()
	assert.ErrorIs(t, err, context.Canceled)
}

func TestBlockingCallResultBeforeItEnds(t *testing.T) {
	c := NewBlockingCall(DefaultPool(), func(ctx context.Context) (int, error) { return 1, nil })
	assert.False(t, c.Done())
	_, err := c.Result()
	assert.ErrorIs(t, err, ErrPending)
}

func TestBlockOnClosedPool(t *testing.T) {
	p := NewPool(PoolSize(1))
	p.Close()
	s := costack.NewScheduler()
	defer s.Close()
	var err error
	tk := s.Go(func(tk *costack.Task) {
		_, err = BlockOn(p, tk, func(ctx context.Context) (int, error) { return 1, nil })
	})
	s.Tick() // the wait ends while it is armed: no suspension
	assert.True(t, tk.Done())
	assert.ErrorIs(t, err, ErrClosed)
}

// TestBlockStress: many tasks make many blocking calls through a small
// pool, while some tasks are cancelled (one scheduler worker), or on a
// scheduler with two workers. Every task that is not cancelled gets each of
// its results, exactly once and in order; cancelled tasks get nothing after
// they are cancelled.
//
// Cancels are not combined with several workers: the scheduler can then
// hand one task to two workers in a tick (a task queued by its Yield and
// again by Cancel), which is a costack issue, not one of interop.
func TestBlockStress(t *testing.T) {
	for _, c := range []struct {
		workers int
		cancel  bool
	}{{1, true}, {2, false}} {
		t.Run(fmt.Sprintf("workers=%d,cancel=%v", c.workers, c.cancel), func(t *testing.T) {
			blockStress(t, c.workers, c.cancel)
		})
	}
}

func blockStress(t *testing.T, workers int, cancel bool) {
	p := NewPool(PoolSize(8))
	defer p.Close()
	s := costack.NewScheduler(costack.Workers(workers))
	defer s.Close()
	const tasks, calls = 300, 10
	results := make([][]int, tasks)
	ts := make([]*costack.Task, tasks)
	for i := range ts {
		ts[i] = s.Go(func(tk *costack.Task) {
			for j := range calls {
				v, err := BlockOn(p, tk, func(ctx context.Context) (int, error) {
					if j%3 == 0 {
						runtime.Gosched()
					}
					return i*calls + j, nil
				})
				if err != nil {
					panic(err)
				}
				results[i] = append(results[i], v)
				if j%4 == 0 {
					tk.Yield()
				}
			}
		})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	cancelled := make([]bool, tasks)
	ticks := tickUntil(t, s, func() bool {
		if k := rng.IntN(tasks * 4); cancel && k < tasks && !cancelled[k] {
			cancelled[k] = true
			ts[k].Cancel()
		}
		return s.Len() == 0
	})
	t.Logf("%d ticks", ticks)
	for i, tk := range ts {
		require.NoError(t, tk.Err())
		if !cancelled[i] {
			require.Len(t, results[i], calls, "task %d", i)
		}
		for j, v := range results[i] {
			require.Equal(t, i*calls+j, v, "task %d call %d", i, j)
		}
	}
}

// BenchmarkBlock measures one Block round trip of a task: arm, submit to
// the pool, run a trivial call on a worker, wake, resume on the next tick.
func BenchmarkBlock(b *testing.B) {
	p := NewPool(PoolSize(4))
	defer p.Close()
	s := costack.NewScheduler()
	defer s.Close()
	var n atomic.Int64
	s.Go(func(tk *costack.Task) {
		for {
			v, _ := BlockOn(p, tk, func(ctx context.Context) (int64, error) { return 1, nil })
			n.Add(v)
		}
	})
	b.ReportAllocs()
	for b.Loop() {
		want := n.Load() + 1
		for n.Load() < want {
			s.Tick()
			runtime.Gosched() // a game loop would sleep until the next frame
		}
	}
}

// Issue 18: cancellation did not reach interop.Block calls started by
// children. A child's call now sees its context done as soon as the parent
// is cancelled, before any tick.
func TestBlockInChildIsCancelledWithTheParent(t *testing.T) {
	s := costack.NewScheduler()
	defer s.Close()
	started := make(chan struct{})
	cause := make(chan error, 1)
	var childErr error
	parent := s.Go(func(tk *costack.Task) {
		tk.Scheduler().Go(func(tk *costack.Task) {
			_, childErr = Block(tk, func(ctx context.Context) (int, error) {
				close(started)
				<-ctx.Done()
				cause <- context.Cause(ctx)
				return 0, ctx.Err()
			})
		})
		yield.On(tk, yield.NewSignal()) // forever
	})
	s.Tick()
	s.Tick() // the child starts its call
	<-started
	parent.Cancel()
	select {
	case err := <-cause:
		assert.ErrorIs(t, err, costack.ErrCancelled)
	case <-time.After(10 * time.Second): // a hang guard, not a timing assertion
		t.Fatal("the child's blocking call was not cancelled")
	}
	tickUntil(t, s, func() bool { return parent.Done() })
	assert.NoError(t, childErr, "the child was closed in Block: it never saw the result")
}

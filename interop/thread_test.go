package interop

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/costack-dev/costack/costack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func needThreadID(t *testing.T) {
	t.Helper()
	if osThreadID() < 0 {
		t.Skip("no thread id on " + runtime.GOOS)
	}
}

func TestThreadRunsEveryCallOnOneOSThread(t *testing.T) {
	needThreadID(t)
	th := NewThread()
	defer th.Close()
	first, err := DoValue(th, osThreadID)
	require.NoError(t, err)
	for range 50 {
		// Other goroutines and GCs between calls do not move it.
		done := make(chan struct{})
		go func() { runtime.GC(); close(done) }()
		<-done
		tid, err := DoValue(th, osThreadID)
		require.NoError(t, err)
		assert.Equal(t, first, tid)
	}
	// Calls submitted with StartOn run there too.
	tid, err := StartOn(context.Background(), th, func(ctx context.Context) (int, error) { return osThreadID(), nil }).Result()
	require.NoError(t, err)
	assert.Equal(t, first, tid)
}

// TestCoroutineLoopOnThread runs a loop of coroutine resumes — the shape
// of a scheduler's ticks — inside one Do: every tick and every body step
// runs on the locked thread.
func TestCoroutineLoopOnThread(t *testing.T) {
	needThreadID(t)
	th := NewThread()
	defer th.Close()
	want, err := DoValue(th, osThreadID)
	require.NoError(t, err)
	var seen []int
	err = th.Do(func() {
		co := costack.New(func(y *costack.Yielder[int, int], _ int) int {
			for {
				y.Yield(osThreadID())
			}
		})
		defer co.Close()
		for range 20 { // ticks
			seen = append(seen, osThreadID())
			v, _, err := co.Resume(0)
			if err != nil {
				panic(err)
			}
			seen = append(seen, v)
		}
	})
	require.NoError(t, err)
	require.Len(t, seen, 40)
	for _, tid := range seen {
		assert.Equal(t, want, tid)
	}
}

// TestCoroutineResumedInsideAndOutsideThread: the same coroutine resumed in
// turn inside Do and from the test's goroutine runs on the thread exactly
// when its resumer does, on every engine (issue 16 lifted the portable
// engine's rule that a coroutine keep the lock state of its first resume).
func TestCoroutineResumedInsideAndOutsideThread(t *testing.T) {
	needThreadID(t)
	th := NewThread()
	defer th.Close()
	thread, err := DoValue(th, osThreadID)
	require.NoError(t, err)
	co := costack.New(func(y *costack.Yielder[int, int], _ int) int {
		for {
			y.Yield(osThreadID())
		}
	})
	defer co.Close()
	for i := range 20 {
		inside := i%3 != 1 // first resume inside, then both ways round
		var tid int
		if inside {
			tid, err = DoValue(th, func() int {
				v, _, err := co.Resume(0)
				if err != nil {
					panic(err)
				}
				return v
			})
			require.NoError(t, err)
			assert.Equal(t, thread, tid, "resume %d, inside the thread", i)
		} else {
			tid, _, err = co.Resume(0)
			require.NoError(t, err)
			assert.NotEqual(t, thread, tid, "resume %d, outside the thread", i)
		}
	}
}

func TestThreadDoPanicReachesCallerAndThreadSurvives(t *testing.T) {
	th := NewThread()
	defer th.Close()
	boom := errors.New("boom")
	assert.PanicsWithValue(t, boom, func() { _ = th.Do(func() { panic(boom) }) })
	v, err := DoValue(th, func() int { return 3 })
	require.NoError(t, err)
	assert.Equal(t, 3, v)
}

func TestThreadDoIsReentrant(t *testing.T) {
	th := NewThread()
	defer th.Close()
	v, err := DoValue(th, func() int {
		w, err := DoValue(th, func() int { return 5 })
		if err != nil {
			return -1
		}
		return w + 1
	})
	require.NoError(t, err)
	assert.Equal(t, 6, v)
}

func TestThreadClose(t *testing.T) {
	th := NewThread()
	require.NoError(t, th.Do(func() {}))
	th.Close()
	th.Close() // idempotent
	assert.ErrorIs(t, th.Do(func() { t.Error("ran after Close") }), ErrClosed)
	_, err := StartOn(context.Background(), th, func(ctx context.Context) (int, error) { return 0, nil }).Result()
	assert.ErrorIs(t, err, ErrClosed)
}

func TestThreadCloseFromInside(t *testing.T) {
	th := NewThread()
	require.NoError(t, th.Do(th.Close))
	assert.ErrorIs(t, th.Do(func() {}), ErrClosed)
	th.Close() // waits for the exit
}

func TestGoexitOnThreadClosesIt(t *testing.T) {
	th := NewThread()
	err := th.Do(runtime.Goexit)
	var pe *PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, ErrGoexit, pe.Value)
	assert.ErrorIs(t, err, ErrGoexit)
	assert.ErrorIs(t, th.Do(func() {}), ErrClosed)
	th.Close()
}

// TestDoFromCoroutineRunningOnThread: a coroutine body resumed by a call
// running on the thread is on the thread too (on the native engine it runs
// on the thread's goroutine; on the portable engine on its own goroutine,
// to which the runtime hands the locked OS thread). Do there runs fn
// directly instead of waiting for the thread forever.
func TestDoFromCoroutineRunningOnThread(t *testing.T) {
	th := NewThread()
	defer th.Close()
	v, err := DoValue(th, func() int {
		co := costack.New(func(y *costack.Yielder[int, int], _ int) int {
			w, err := DoValue(th, func() int { return 41 })
			if err != nil {
				return -1
			}
			return w + 1
		})
		out, _, err := co.Resume(0)
		if err != nil {
			return -2
		}
		return out
	})
	require.NoError(t, err)
	assert.Equal(t, 42, v)
}

package costack

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeSource is an EventSource on a ManualClock: Wait records its timeout,
// runs the test's hook (which may wake tasks, as an I/O poller would), and
// moves the clock by the timeout unless the hook or an Interrupt ended the
// wait first. Nothing in it depends on real time.
type fakeSource struct {
	clock      *ManualClock
	mu         sync.Mutex
	timeouts   []time.Duration
	interrupts int
	pending    bool
	hook       func(timeout time.Duration) (woke bool)
}

func (f *fakeSource) Wait(timeout time.Duration) {
	f.mu.Lock()
	f.timeouts = append(f.timeouts, timeout)
	interrupted := f.pending
	f.pending = false
	hook := f.hook
	f.mu.Unlock()
	if interrupted {
		return
	}
	if hook != nil && hook(timeout) {
		return
	}
	if timeout < 0 {
		panic("fakeSource: Wait with no timeout and nothing to wake")
	}
	f.clock.Advance(timeout)
}

func (f *fakeSource) Interrupt() {
	f.mu.Lock()
	f.pending = true
	f.interrupts++
	f.mu.Unlock()
}

func newFakeRun(t *testing.T, opts ...SchedulerOption) (*Scheduler, *fakeSource) {
	clock := NewManualClock(time.Unix(1_000_000, 0))
	src := &fakeSource{clock: clock}
	return newSched(t, append([]SchedulerOption{WithClock(clock), WithEventSource(src)}, opts...)...), src
}

func TestRunReturnsWhenNoTaskIsLeft(t *testing.T) {
	s, src := newFakeRun(t)
	require.NoError(t, s.Run(context.Background()), "no task: at once")
	assert.Zero(t, s.Frame())
	var frames []uint64
	s.Go(func(t *Task) {
		t.Yield()
		frames = append(frames, t.Scheduler().Frame())
		t.Wait(schedFrames(3))
		frames = append(frames, t.Scheduler().Frame())
	})
	require.NoError(t, s.Run(context.Background()))
	assert.Equal(t, []uint64{2, 5}, frames, "every tick is a frame")
	assert.Equal(t, uint64(5), s.Frame())
	assert.Empty(t, src.timeouts, "frame waits keep Run ticking: it never slept")
}

func TestRunTimeFollowsTheClock(t *testing.T) {
	s, src := newFakeRun(t)
	var at []time.Duration
	s.Go(func(t *Task) {
		sc := t.Scheduler()
		t.Wait(schedAfter(250 * time.Millisecond))
		at = append(at, sc.Now())
		t.Wait(schedAfter(time.Second))
		at = append(at, sc.Now())
	})
	require.NoError(t, s.Run(context.Background()))
	// The first tick comes at once (the task is new) and advances Now by
	// the time elapsed since Run began: none. Then Run sleeps exactly until
	// each wait is due, and the tick after the sleep advances Now by it.
	assert.Equal(t, []time.Duration{250 * time.Millisecond, 1250 * time.Millisecond}, at)
	assert.Equal(t, []time.Duration{250 * time.Millisecond, time.Second}, src.timeouts)
	assert.Equal(t, uint64(3), s.Frame())
}

func TestRunWakeFromAnotherGoroutineInterruptsTheSleep(t *testing.T) {
	s := newSched(t)
	wakers := make(chan Waker)
	var got []int
	for i := range 3 {
		s.Go(func(t *Task) {
			t.Wait(WaiterFunc(func(w Waker) { wakers <- w }))
			got = append(got, i)
		})
	}
	go func() {
		var ws []Waker
		for range 3 {
			ws = append(ws, <-wakers)
		}
		// Run is in the default source's Wait with no timeout by now, or
		// about to be: either way the wake must reach it.
		for _, w := range ws {
			w.Wake()
		}
	}()
	require.NoError(t, s.Run(context.Background()))
	assert.ElementsMatch(t, []int{0, 1, 2}, got)
}

func TestRunGoFromAnotherGoroutineInterruptsTheSleep(t *testing.T) {
	s := newSched(t)
	release := make(chan struct{})
	started := make(chan Waker, 1)
	s.Go(func(t *Task) {
		t.Wait(WaiterFunc(func(w Waker) { started <- w }))
	})
	ran := make(chan struct{})
	go func() {
		w := <-started
		s.Go(func(t *Task) {
			close(ran)
			<-release
		})
		<-ran
		w.Wake()
	}()
	close(release)
	require.NoError(t, s.Run(context.Background()))
	select {
	case <-ran:
	default:
		t.Fatal("the task started from another goroutine did not run")
	}
}

func TestRunSourceWakesTasksInsideWait(t *testing.T) {
	// An I/O poller as event source: Wait itself wakes the tasks whose
	// events came in, on Run's goroutine.
	s, src := newFakeRun(t)
	var mu sync.Mutex
	var parked []Waker
	s.Go(func(t *Task) {
		for range 3 {
			t.Wait(WaiterFunc(func(w Waker) {
				mu.Lock()
				parked = append(parked, w)
				mu.Unlock()
			}))
		}
	})
	src.hook = func(timeout time.Duration) bool {
		mu.Lock()
		ws := parked
		parked = nil
		mu.Unlock()
		WakeAll(ws)
		return len(ws) > 0
	}
	require.NoError(t, s.Run(context.Background()))
	assert.Equal(t, []time.Duration{-1, -1, -1}, src.timeouts, "no timer armed: Wait without limit")
	assert.Equal(t, uint64(4), s.Frame())
}

func TestRunReturnsContextErrorAndLeavesTasks(t *testing.T) {
	s := NewScheduler()
	unwound := false
	waiting := make(chan struct{})
	s.Go(func(t *Task) {
		defer func() { unwound = true }()
		t.Wait(WaiterFunc(func(Waker) { close(waiting) })) // forever
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	<-waiting
	cancel()
	err := <-done
	assert.True(t, errors.Is(err, context.Canceled), "got %v", err)
	assert.Equal(t, 1, s.Len(), "the task stays")
	assert.False(t, unwound)
	s.Close()
	assert.True(t, unwound, "Close ends it")

	s2 := newSched(t)
	s2.Go(func(t *Task) { t.Wait(new(schedSignal)) })
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel2()
	assert.ErrorIs(t, s2.Run(ctx2), context.DeadlineExceeded)
}

func TestRunPollsPredicatesOncePerFrameDuration(t *testing.T) {
	s, src := newFakeRun(t, FrameDuration(10*time.Millisecond))
	start := src.clock.Now()
	var polls int
	var woke time.Duration
	s.Go(func(t *Task) {
		t.Wait(WaiterFunc(func(w Waker) {
			w.WakeWhen(func() bool {
				polls++
				return src.clock.Now().Sub(start) >= 35*time.Millisecond
			})
		}))
		woke = t.Scheduler().Now()
	})
	require.NoError(t, s.Run(context.Background()))
	assert.Equal(t, 40*time.Millisecond, woke)
	assert.Equal(t, 4, polls, "at 10, 20, 30 and 40ms")
	assert.Equal(t, []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}, src.timeouts)
}

func TestRunWithWorkers(t *testing.T) {
	s := newSched(t, Workers(2))
	const n = 2000
	var sum atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		s.Go(func(t *Task) {
			for k := range i % 4 {
				if k%2 == 0 {
					t.Yield()
					continue
				}
				t.Wait(WaiterFunc(func(w Waker) {
					wg.Add(1)
					go func() {
						defer wg.Done()
						w.Wake()
					}()
				}))
			}
			sum.Add(int64(i))
		})
	}
	require.NoError(t, s.Run(context.Background()))
	wg.Wait()
	assert.Equal(t, int64(n*(n-1)/2), sum.Load())
}

func TestRunMisuse(t *testing.T) {
	s, src := newFakeRun(t)
	var inBody any
	s.Go(func(t *Task) {
		func() {
			defer func() { inBody = recover() }()
			_ = t.Scheduler().Run(context.Background())
		}()
	})
	require.NoError(t, s.Run(context.Background()))
	assert.NotNil(t, inBody, "Run from a task body panics")

	// Tick and Close while Run sleeps.
	s.Go(func(t *Task) { t.Wait(schedAfter(time.Second)) })
	var tickPanic, closePanic any
	src.hook = func(time.Duration) bool {
		func() {
			defer func() { tickPanic = recover() }()
			s.Tick()
		}()
		func() {
			defer func() { closePanic = recover() }()
			s.Close()
		}()
		return false
	}
	require.NoError(t, s.Run(context.Background()))
	assert.NotNil(t, tickPanic)
	assert.NotNil(t, closePanic)

	s.Close()
	assert.Panics(t, func() { _ = s.Run(context.Background()) }, "Run after Close")
}

package yield_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/costack-dev/costack/costack"
	"github.com/costack-dev/costack/yield"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newSched(t *testing.T, opts ...costack.SchedulerOption) *costack.Scheduler {
	s := costack.NewScheduler(opts...)
	t.Cleanup(s.Close)
	return s
}

func ticks(s *costack.Scheduler, n int) {
	for range n {
		s.Tick()
	}
}

func TestFramesRunsAgainExactlyNFramesLater(t *testing.T) {
	s := newSched(t)
	for _, n := range []int{1, 2, 3, 10, 300, 1000} {
		var got []uint64
		s.Go(func(t *costack.Task) {
			for range 3 {
				f := t.Scheduler().Frame()
				yield.Frames(t, n)
				got = append(got, t.Scheduler().Frame()-f)
			}
		})
		ticks(s, 3*n+1)
		assert.Equal(t, []uint64{uint64(n), uint64(n), uint64(n)}, got, "n=%d", n)
	}
}

func TestFramesOnFrameFRunsOnFPlus3(t *testing.T) {
	s := newSched(t)
	var frames []uint64
	s.Go(func(t *costack.Task) {
		yield.Frames(t, 4) // now at frame 5
		frames = append(frames, t.Scheduler().Frame())
		yield.Frames(t, 3)
		frames = append(frames, t.Scheduler().Frame())
		yield.Frames(t, 0) // no wait
		frames = append(frames, t.Scheduler().Frame())
	})
	for range 7 {
		s.Tick()
		assert.LessOrEqual(t, len(frames), 1)
	}
	s.Tick()
	assert.Equal(t, []uint64{5, 8, 8}, frames)
}

func TestForUsesSchedulerTimeNotWallClock(t *testing.T) {
	s := newSched(t, costack.FrameDuration(100*time.Millisecond))
	var at []time.Duration
	s.Go(func(t *costack.Task) {
		yield.For(t, 250*time.Millisecond)
		at = append(at, t.Scheduler().Now())
		yield.For(t, 24*time.Hour)
		at = append(at, t.Scheduler().Now())
	})
	start := time.Now()
	ticks(s, 3) // task arms at 100ms, due at 350ms
	assert.Empty(t, at)
	s.Tick() // 400ms
	require.Equal(t, []time.Duration{400 * time.Millisecond}, at)
	s.TickDt(24 * time.Hour)
	assert.Equal(t, []time.Duration{400 * time.Millisecond, 24*time.Hour + 400*time.Millisecond}, at)
	// A day of scheduler time passed in (much) less than a day.
	assert.Less(t, time.Since(start), time.Hour)
}

func TestUntilEvaluatedOncePerTick(t *testing.T) {
	s := newSched(t)
	calls := 0
	ready := false
	var woke uint64
	s.Go(func(t *costack.Task) {
		yield.Until(t, func() bool { calls++; return ready })
		woke = t.Scheduler().Frame()
	})
	ticks(s, 5)
	assert.Equal(t, 5, calls, "once when called (frame 1), then at the start of frames 2..5")
	ready = true
	s.Tick()
	assert.Equal(t, uint64(6), woke)
	assert.Equal(t, 6, calls)
	ticks(s, 3)
	assert.Equal(t, 6, calls, "not evaluated after it held")

	var frame uint64
	s.Go(func(t *costack.Task) {
		yield.Until(t, func() bool { return true })
		frame = t.Scheduler().Frame()
	})
	s.Tick()
	assert.Equal(t, s.Frame(), frame, "a condition that holds does not suspend")
}

func TestSignalWakesAllWaitersNextTick(t *testing.T) {
	s := newSched(t)
	sig := yield.NewSignal()
	var log []string
	for i := range 3 {
		s.Go(func(t *costack.Task) {
			for {
				yield.On(t, sig)
				log = append(log, fmt.Sprintf("%d@%d", i, t.Scheduler().Frame()))
			}
		})
	}
	s.Tick()
	assert.Equal(t, 3, sig.Waiting())
	sig.Fire()
	assert.Equal(t, 0, sig.Waiting())
	assert.Empty(t, log, "woken tasks run on the next tick")
	s.Tick()
	assert.Equal(t, []string{"0@2", "1@2", "2@2"}, log)
	ticks(s, 3)
	assert.Len(t, log, 3, "a signal does not latch")
	var zero yield.Signal
	zero.Fire()
	assert.Equal(t, 0, zero.Waiting())
}

func TestSignalFiredByTask(t *testing.T) {
	s := newSched(t)
	sig := yield.NewSignal()
	var log []string
	s.Go(func(t *costack.Task) {
		yield.On(t, sig)
		log = append(log, fmt.Sprint("listener ", t.Scheduler().Frame()))
	})
	s.Go(func(t *costack.Task) {
		yield.Frames(t, 2)
		sig.Fire()
		log = append(log, fmt.Sprint("fired ", t.Scheduler().Frame()))
	})
	ticks(s, 4)
	assert.Equal(t, []string{"fired 3", "listener 4"}, log)
}

func TestJoin(t *testing.T) {
	s := newSched(t)
	var log []string
	child := s.Go(func(t *costack.Task) {
		yield.Frames(t, 3)
		panic(errors.New("child failed"))
	})
	s.Go(func(t *costack.Task) {
		yield.Join(t, child)
		log = append(log, fmt.Sprintf("joined at %d: %v", t.Scheduler().Frame(), child.Err()))
		yield.Join(t, child)
		log = append(log, "again without waiting")
	})
	ticks(s, 6)
	assert.Equal(t, []string{"joined at 5: costack: coroutine panicked: child failed", "again without waiting"}, log)
}

func TestAllWaitsForEvery(t *testing.T) {
	s := newSched(t)
	a, b := yield.NewSignal(), yield.NewSignal()
	var woke uint64
	s.Go(func(t *costack.Task) {
		yield.All(t, a, b, yield.InFrames(3))
		woke = t.Scheduler().Frame()
	})
	s.Tick() // arms at frame 1
	b.Fire()
	ticks(s, 3) // frame 4: frames done, a not yet
	assert.Zero(t, woke)
	a.Fire() // b fired before a: caught anyway
	s.Tick()
	assert.Equal(t, uint64(5), woke)

	var empty uint64
	s.Go(func(t *costack.Task) {
		yield.All(t)
		empty = t.Scheduler().Frame()
	})
	s.Tick()
	assert.Equal(t, s.Frame(), empty)
}

func TestAnyReturnsFirstAndAbandonsOthers(t *testing.T) {
	// 1/60 s is not a whole number of nanoseconds: use an exact frame.
	s := newSched(t, costack.FrameDuration(10*time.Millisecond))
	hit := yield.NewSignal()
	var got []string
	s.Go(func(t *costack.Task) {
		for range 2 {
			i := yield.Any(t, hit, yield.After(time.Second), yield.InFrames(1000))
			got = append(got, fmt.Sprintf("%d@%d", i, t.Scheduler().Frame()))
		}
	})
	s.Tick()
	hit.Fire()
	s.Tick()     // woken by hit at frame 2
	ticks(s, 99) // timeout: 1s = 100 frames after frame 2
	assert.Len(t, got, 1)
	s.Tick()
	assert.Equal(t, []string{"0@2", "1@102"}, got)
	assert.Equal(t, 0, hit.Waiting(), "the abandoned signal wait is stale")
	assert.Equal(t, -1, yield.Any(nil))
}

func TestNestedCombinators(t *testing.T) {
	s := newSched(t)
	a, b, c := yield.NewSignal(), yield.NewSignal(), yield.NewSignal()
	var woke uint64
	s.Go(func(t *costack.Task) {
		// (a and b) or c
		t.Wait(yield.AnyOf(yield.AllOf(a, b), c))
		woke = t.Scheduler().Frame()
	})
	s.Tick()
	a.Fire()
	ticks(s, 2)
	assert.Zero(t, woke)
	b.Fire()
	s.Tick()
	assert.Equal(t, uint64(4), woke)

	woke = 0
	s.Go(func(t *costack.Task) {
		t.Wait(yield.AnyOf(yield.AllOf(a, b), c))
		woke = t.Scheduler().Frame()
	})
	s.Tick()
	c.Fire()
	s.Tick()
	assert.Equal(t, uint64(6), woke)
}

func TestSignalFiredByBodyTakesEffectAtTickEnd(t *testing.T) {
	s := newSched(t)
	sig := yield.NewSignal()
	var log []string
	s.Go(func(t *costack.Task) {
		sig.Fire() // before the listener below has started waiting
		log = append(log, fmt.Sprint("fired ", t.Scheduler().Frame()))
	})
	s.Go(func(t *costack.Task) {
		yield.On(t, sig)
		log = append(log, fmt.Sprint("listener ", t.Scheduler().Frame()))
	})
	ticks(s, 3)
	assert.Equal(t, []string{"fired 1", "listener 2"}, log)
}

func TestSignalsFiredByBodiesAreDeterministicAcrossWorkers(t *testing.T) {
	run := func(workers int) []uint64 {
		s := costack.NewScheduler(costack.Workers(workers))
		defer s.Close()
		const n = 1000
		sigs := make([]*yield.Signal, 10)
		for i := range sigs {
			sigs[i] = yield.NewSignal()
		}
		wakes := make([]uint64, n)
		for i := range n {
			s.Go(func(t *costack.Task) {
				for k := 0; ; k++ {
					if (i+k)%7 == 0 {
						sigs[(i*k)%10].Fire()
					}
					if yield.Any(t, sigs[(i+k)%10], yield.InFrames(1+i%5)) == 0 {
						wakes[i] += t.Scheduler().Frame()
					}
				}
			})
		}
		ticks(s, 40)
		return wakes
	}
	one := run(1)
	assert.Equal(t, one, run(2))
	assert.Equal(t, one, run(3))
}

func TestCancelWhileWaitingOnYieldWaits(t *testing.T) {
	s := newSched(t)
	sig := yield.NewSignal()
	unwound := 0
	var tasks []*costack.Task
	for _, w := range []costack.Waiter{sig, yield.After(time.Hour), yield.InFrames(1 << 20), yield.When(func() bool { return false }), yield.AllOf(sig, sig), yield.AnyOf(sig)} {
		tasks = append(tasks, s.Go(func(t *costack.Task) {
			defer func() { unwound++ }()
			t.Wait(w)
		}))
	}
	ticks(s, 2)
	assert.Equal(t, len(tasks), s.Len())
	for _, task := range tasks {
		task.Cancel()
	}
	s.Tick()
	assert.Equal(t, len(tasks), unwound)
	assert.Equal(t, 0, s.Len())
}

func TestDeterministicAcrossWorkers(t *testing.T) {
	run := func(workers int) []int {
		s := costack.NewScheduler(costack.Workers(workers))
		defer s.Close()
		pos := make([]int, 1500)
		for i := range pos {
			s.Go(func(t *costack.Task) {
				rnd := uint32(i)*2654435761 + 1
				for {
					rnd ^= rnd << 13
					rnd ^= rnd >> 17
					rnd ^= rnd << 5
					pos[i] += int(rnd%7) - 3
					switch rnd % 4 {
					case 0:
						yield.Frames(t, int(rnd%5))
					case 1:
						yield.For(t, time.Duration(rnd%100)*time.Millisecond)
					default:
						t.Yield()
					}
				}
			})
		}
		ticks(s, 50)
		return pos
	}
	one := run(1)
	assert.Equal(t, one, run(2))
	assert.Equal(t, one, run(4))
}

package costack

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// schedFrames is a frame wait built on the exported Waiter mechanism, as
// package yield builds its own (yield imports costack, so these tests cannot
// import yield).
type schedFrames int

func (n schedFrames) Arm(w Waker) { w.WakeAtFrame(w.Task().Scheduler().Frame() + uint64(n)) }

type schedSignal struct {
	mu sync.Mutex
	ws []Waker
}

func (s *schedSignal) Arm(w Waker) {
	s.mu.Lock()
	s.ws = append(s.ws, w)
	s.mu.Unlock()
}

func (s *schedSignal) fire() {
	s.mu.Lock()
	ws := s.ws
	s.ws = nil
	s.mu.Unlock()
	WakeAll(ws)
}

func newSched(t *testing.T, opts ...SchedulerOption) *Scheduler {
	s := NewScheduler(opts...)
	t.Cleanup(s.Close)
	return s
}

func TestSchedulerNewTaskRunsOnNextTick(t *testing.T) {
	s := newSched(t)
	var ran []uint64
	s.Go(func(t *Task) {
		for {
			ran = append(ran, t.Scheduler().Frame())
			t.Yield()
		}
	})
	assert.Empty(t, ran, "Go must not run the body")
	assert.Equal(t, 1, s.Len())
	for range 3 {
		s.Tick()
	}
	assert.Equal(t, []uint64{1, 2, 3}, ran)
}

func TestSchedulerTaskStartedDuringTickRunsNextTick(t *testing.T) {
	s := newSched(t)
	var log []string
	s.Go(func(t *Task) {
		log = append(log, fmt.Sprint("parent ", t.Scheduler().Frame()))
		t.Scheduler().Go(func(t *Task) {
			log = append(log, fmt.Sprint("child ", t.Scheduler().Frame()))
		})
		log = append(log, "parent ends")
	})
	s.Tick()
	assert.Equal(t, []string{"parent 1", "parent ends"}, log)
	s.Tick()
	assert.Equal(t, []string{"parent 1", "parent ends", "child 2"}, log)
	assert.Equal(t, 0, s.Len())
}

func TestSchedulerFramesWaitIsExact(t *testing.T) {
	s := newSched(t)
	for _, n := range []int{2, 3, 7, wheelSize - 1, wheelSize, wheelSize + 1, 3 * wheelSize} {
		var woke []uint64
		s.Go(func(t *Task) {
			for range 3 {
				f := t.Scheduler().Frame()
				t.Wait(schedFrames(n))
				woke = append(woke, t.Scheduler().Frame()-f)
			}
		})
		for range 3*n + 2 {
			s.Tick()
		}
		assert.Equal(t, []uint64{uint64(n), uint64(n), uint64(n)}, woke, "n=%d", n)
	}
}

func TestSchedulerTimeWaitUsesSchedulerTime(t *testing.T) {
	s := newSched(t, FrameDuration(10*time.Millisecond))
	var at []time.Duration
	s.Go(func(t *Task) {
		sc := t.Scheduler()
		t.Wait(WaiterFunc(func(w Waker) { w.WakeAtTime(sc.Now() + 25*time.Millisecond) }))
		at = append(at, sc.Now())
		t.Wait(WaiterFunc(func(w Waker) { w.WakeAtTime(sc.Now() + time.Hour) }))
		at = append(at, sc.Now())
	})
	s.Tick() // 10ms: the task arms at 10ms, due at 35ms
	s.Tick() // 20ms
	s.Tick() // 30ms
	assert.Empty(t, at)
	s.Tick() // 40ms
	assert.Equal(t, []time.Duration{40 * time.Millisecond}, at)
	s.TickDt(time.Hour - time.Millisecond)
	assert.Len(t, at, 1)
	s.TickDt(time.Millisecond)
	assert.Equal(t, []time.Duration{40 * time.Millisecond, time.Hour + 40*time.Millisecond}, at)
	assert.Equal(t, uint64(6), s.Frame())
}

func TestSchedulerPanicEndsTaskTickGoesOn(t *testing.T) {
	s := newSched(t)
	other := 0
	bad := s.Go(func(t *Task) {
		t.Yield()
		panic("boom")
	})
	s.Go(func(t *Task) {
		for {
			other++
			t.Yield()
		}
	})
	s.Tick()
	s.Tick()
	require.True(t, bad.Done())
	var pe *PanicError
	require.True(t, errors.As(bad.Err(), &pe))
	assert.Equal(t, "boom", pe.Value)
	assert.Equal(t, 2, other)
	s.Tick()
	assert.Equal(t, 3, other)
	assert.Equal(t, 1, s.Len())
}

func TestSchedulerCloseRunsDefers(t *testing.T) {
	s := NewScheduler()
	var log []string
	s.Go(func(t *Task) {
		defer func() { log = append(log, "yielder") }()
		for {
			t.Yield()
		}
	})
	s.Go(func(t *Task) {
		defer func() { log = append(log, "waiter") }()
		t.Wait(new(schedSignal))
	})
	s.Go(func(t *Task) {
		defer func() { log = append(log, "returned") }()
	})
	s.Tick()
	s.Go(func(t *Task) { log = append(log, "fresh body ran") })
	s.Close()
	assert.Equal(t, []string{"returned", "yielder", "waiter"}, log)
	assert.Equal(t, 0, s.Len())
	s.Close() // idempotent
	assert.Panics(t, func() { s.Go(func(*Task) {}) })
	assert.Panics(t, s.Tick)
}

func TestSchedulerCancel(t *testing.T) {
	s := newSched(t)
	var log []string
	waiting := s.Go(func(t *Task) {
		defer func() { log = append(log, "waiting unwound") }()
		t.Wait(new(schedSignal))
		log = append(log, "waiting continued")
	})
	yielding := s.Go(func(t *Task) {
		defer func() { log = append(log, "yielding unwound") }()
		for {
			t.Yield()
		}
	})
	self := s.Go(func(t *Task) {
		defer func() { log = append(log, "self unwound") }()
		t.Cancel()
		log = append(log, "self goes on until it yields")
		t.Yield()
		log = append(log, "self continued")
	})
	unstarted := s.Go(func(t *Task) { log = append(log, "unstarted ran") })
	unstarted.Cancel()
	s.Tick()
	assert.Equal(t, []string{"self goes on until it yields", "self unwound"}, log)
	assert.True(t, self.Done())
	assert.True(t, unstarted.Done())
	log = nil
	waiting.Cancel()
	yielding.Cancel()
	assert.False(t, waiting.Done(), "cancel closes at the next opportunity, not at once")
	s.Tick()
	assert.ElementsMatch(t, []string{"waiting unwound", "yielding unwound"}, log)
	assert.True(t, waiting.Done())
	assert.True(t, yielding.Done())
	assert.NoError(t, waiting.Err())
	assert.Equal(t, 0, s.Len())
	waiting.Cancel() // no effect
}

func TestSchedulerOrderIsDeterministic(t *testing.T) {
	run := func() []string {
		s := NewScheduler()
		defer s.Close()
		sig := new(schedSignal)
		var log []string
		for i := range 6 {
			s.Go(func(t *Task) {
				for k := 0; ; k++ {
					log = append(log, fmt.Sprintf("%d@%d", i, t.Scheduler().Frame()))
					switch (i + k) % 3 {
					case 0:
						t.Yield()
					case 1:
						t.Wait(schedFrames(2))
					case 2:
						if i == 5 {
							sig.fire()
						}
						t.Wait(sig)
					}
				}
			})
		}
		for range 10 {
			s.Tick()
		}
		return log
	}
	first := run()
	for range 3 {
		assert.Equal(t, first, run())
	}
	// The documented order: the tasks yielded/woken/started before the tick
	// first, in the order of those calls.
	assert.Equal(t, []string{"0@1", "1@1", "2@1", "3@1", "4@1", "5@1"}, first[:6])
}

func TestSchedulerOrderWithinTick(t *testing.T) {
	s := newSched(t)
	sig := new(schedSignal)
	var log []string
	task := func(name string, wait func(t *Task)) {
		s.Go(func(t *Task) {
			wait(t)
			log = append(log, name)
		})
	}
	task("frames-a", func(t *Task) { t.Wait(schedFrames(2)) })
	task("signal", func(t *Task) { t.Wait(sig) })
	task("poll", func(t *Task) {
		t.Wait(WaiterFunc(func(w Waker) { w.WakeWhen(func() bool { return true }) }))
	})
	task("time", func(t *Task) {
		t.Wait(WaiterFunc(func(w Waker) { w.WakeAtTime(t.Scheduler().Now() + 1) }))
	})
	task("frames-b", func(t *Task) { t.Wait(schedFrames(2)) })
	task("yield", func(t *Task) { t.Yield(); t.Yield() })
	s.Tick()
	sig.fire()
	s.Tick()
	s.Tick()
	// Frame 2: wakes before the tick (signal) and yields, then frames (none
	// due), time, polls. Frame 3: frame waits in arm order.
	assert.Equal(t, []string{"signal", "time", "poll", "yield", "frames-a", "frames-b"}, log)
}

func TestSchedulerJoinAndTaskAsWaiter(t *testing.T) {
	s := newSched(t)
	var log []string
	worker := s.Go(func(t *Task) {
		t.Wait(schedFrames(3))
		log = append(log, fmt.Sprint("worker done ", t.Scheduler().Frame()))
	})
	s.Go(func(t *Task) {
		t.Wait(worker)
		log = append(log, fmt.Sprint("joined ", t.Scheduler().Frame()))
		t.Wait(worker) // ended already: no suspension
		log = append(log, fmt.Sprint("joined again ", t.Scheduler().Frame()))
	})
	for range 5 {
		s.Tick()
	}
	assert.Equal(t, []string{"worker done 4", "joined 5", "joined again 5"}, log)
}

func TestSchedulerWakeFromAnotherGoroutine(t *testing.T) {
	// The mechanism interop.Block uses: Arm starts work elsewhere and wakes
	// the task from there; OnDone tells it when the wait is over.
	s := newSched(t)
	var wg sync.WaitGroup
	results := make([]int, 50)
	var doneCalls, lateWakes atomic.Int32
	for i := range results {
		s.Go(func(t *Task) {
			var r int
			t.Wait(WaiterFunc(func(w Waker) {
				w.OnDone(func() { doneCalls.Add(1) })
				wg.Add(1)
				go func() {
					defer wg.Done()
					r = i * i // handed over by Wake
					w.Wake()
					if w.Wake() {
						lateWakes.Add(1) // only the first Wake counts
					}
				}()
			}))
			results[i] = r
		})
	}
	for s.Len() > 0 {
		s.Tick()
		time.Sleep(time.Millisecond) // not asserted: only lets the goroutines run
	}
	wg.Wait()
	for i, r := range results {
		assert.Equal(t, i*i, r)
	}
	assert.Equal(t, int32(len(results)), doneCalls.Load())
	assert.Zero(t, lateWakes.Load())
}

func TestSchedulerOnDoneRunsWhenTaskIsClosed(t *testing.T) {
	s := NewScheduler()
	var keep Waker
	cancelled := false
	task := s.Go(func(t *Task) {
		t.Wait(WaiterFunc(func(w Waker) {
			keep = w
			w.OnDone(func() { cancelled = true })
		}))
	})
	s.Tick()
	assert.True(t, keep.Pending())
	assert.False(t, cancelled)
	task.Cancel()
	s.Tick()
	assert.True(t, cancelled)
	assert.False(t, keep.Pending())
	assert.False(t, keep.Wake(), "a late Wake does nothing")
	s.Tick()

	cancelled = false
	s.Go(func(t *Task) {
		t.Wait(WaiterFunc(func(w Waker) { w.OnDone(func() { cancelled = true }) }))
	})
	s.Tick()
	s.Close()
	assert.True(t, cancelled)
}

func TestSchedulerWakeDuringArmDoesNotSuspend(t *testing.T) {
	s := newSched(t)
	var frames []uint64
	s.Go(func(t *Task) {
		t.Wait(WaiterFunc(func(w Waker) { w.Wake() }))
		frames = append(frames, t.Scheduler().Frame())
	})
	s.Tick()
	assert.Equal(t, []uint64{1}, frames)
}

func TestSchedulerSubWakers(t *testing.T) {
	s := newSched(t)
	a, b := new(schedSignal), new(schedSignal)
	var got []string
	s.Go(func(t *Task) {
		// All of a and b, with sub-wakers.
		t.Wait(WaiterFunc(func(w Waker) {
			var left atomic.Int32
			left.Store(2)
			for _, sig := range []*schedSignal{a, b} {
				sig.Arm(w.Sub(func() {
					if left.Add(-1) == 0 {
						w.Wake()
					}
				}))
			}
		}))
		got = append(got, fmt.Sprint("all ", t.Scheduler().Frame()))
	})
	s.Tick()
	b.fire()
	s.Tick()
	assert.Empty(t, got)
	a.fire()
	s.Tick()
	assert.Equal(t, []string{"all 3"}, got)
}

func TestSchedulerApplyOrderMatchesOneWorker(t *testing.T) {
	run := func(workers int) ([]int, []int) {
		s := NewScheduler(Workers(workers))
		defer s.Close()
		var applied []int
		entities := make([]int, 1000)
		for i := range entities {
			s.Go(func(t *Task) {
				for k := 0; ; k++ {
					entities[i] += i*k + 1
					t.Apply(func() { applied = append(applied, i) })
					if (i+k)%3 == 0 {
						t.Wait(schedFrames(1 + i%4))
					} else {
						t.Yield()
					}
				}
			})
		}
		for range 20 {
			s.Tick()
		}
		return applied, entities
	}
	a1, e1 := run(1)
	for _, n := range []int{2, 3} {
		an, en := run(n)
		assert.Equal(t, a1, an, "apply order with %d workers", n)
		assert.Equal(t, e1, en, "entities with %d workers", n)
	}
}

func TestSchedulerWorkersWithSharedSignal(t *testing.T) {
	s := newSched(t, Workers(2))
	sig, inner := new(schedSignal), new(schedSignal)
	var count, innerCount atomic.Int64
	for i := range 500 {
		s.Go(func(t *Task) {
			for {
				count.Add(1)
				t.Wait(sig)
			}
		})
		// Fired from bodies on both workers while others arm: the order is
		// up to timing, the bookkeeping must stay right (see -race).
		s.Go(func(t *Task) {
			for {
				innerCount.Add(1)
				if i%50 == 0 {
					inner.fire()
					t.Yield()
				} else {
					t.Wait(inner)
				}
			}
		})
	}
	for range 10 {
		s.Tick()
		sig.fire()
	}
	assert.Equal(t, int64(500*10), count.Load())
	assert.GreaterOrEqual(t, innerCount.Load(), int64(500+10*9))
}

func TestSchedulerMisuse(t *testing.T) {
	s := newSched(t)
	var task *Task
	var tickPanic, closePanic any
	task = s.Go(func(t *Task) {
		func() {
			defer func() { tickPanic = recover() }()
			t.Scheduler().Tick()
		}()
		func() {
			defer func() { closePanic = recover() }()
			t.Scheduler().Close()
		}()
	})
	s.Tick()
	assert.NotNil(t, tickPanic)
	assert.NotNil(t, closePanic)
	assert.True(t, task.Done())
	assert.Panics(t, func() { task.Yield() }, "Yield outside the body")
	assert.Panics(t, func() { Waker{}.WakeAtFrame(1) })
	assert.False(t, Waker{}.Wake())
	assert.False(t, Waker{}.Pending())
	assert.Panics(t, func() { s.Go(nil) })
}

func TestSchedulerStaleWakersDoNotResume(t *testing.T) {
	s := newSched(t)
	var old Waker
	var log []uint64
	s.Go(func(t *Task) {
		t.Wait(WaiterFunc(func(w Waker) {
			old = w
			w.WakeAtFrame(2)
		}))
		log = append(log, t.Scheduler().Frame())
		t.Wait(schedFrames(5))
		log = append(log, t.Scheduler().Frame())
	})
	s.Tick()
	s.Tick()
	assert.False(t, old.Wake(), "the old wait is over")
	for range 6 {
		s.Tick()
	}
	assert.Equal(t, []uint64{2, 7}, log)
}

func TestSchedulerManyTasksFinish(t *testing.T) {
	s := newSched(t, Workers(2))
	n := 20000
	var sum atomic.Int64
	for i := range n {
		s.Go(func(t *Task) {
			for k := range i % 5 {
				t.Wait(schedFrames(1 + k))
			}
			sum.Add(int64(i))
		})
	}
	for s.Len() > 0 {
		s.Tick()
	}
	assert.Equal(t, int64(n*(n-1)/2), sum.Load())
}

func TestSchedulerFramesMatchOneWorker(t *testing.T) {
	// Wakes, Go calls and yields made by bodies are collected per worker
	// and merged in worker order, and a join on a task that ends in the same
	// tick ends at the next tick whichever ran first: every task runs in the
	// same frames whatever the number of workers. (The order within a frame
	// may differ for tasks woken by another worker's task, so compare the
	// sorted logs.)
	run := func(workers int) []string {
		s := NewScheduler(Workers(workers))
		defer s.Close()
		var log []string
		var spawn func(id string, depth int) *Task
		spawn = func(id string, depth int) *Task {
			return s.Go(func(t *Task) {
				t.Apply(func() { log = append(log, fmt.Sprint(id, "@", t.Scheduler().Frame())) })
				if depth == 0 {
					t.Wait(schedFrames(1 + len(id)%3))
					return
				}
				var kids []*Task
				for k := range 4 {
					kids = append(kids, spawn(fmt.Sprint(id, k), depth-1))
				}
				for _, k := range kids {
					t.Wait(k)
					t.Apply(func() { log = append(log, fmt.Sprint(id, " joined @", t.Scheduler().Frame())) })
				}
			})
		}
		for i := range 8 {
			spawn(fmt.Sprint(i), 3)
		}
		for s.Len() > 0 {
			s.Tick()
		}
		slices.Sort(log)
		return log
	}
	one := run(1)
	require.Greater(t, len(one), 8*85)
	assert.Equal(t, one, run(2))
	assert.Equal(t, one, run(3))
}

func TestSchedulerCancelFromOtherGoroutinesWhileTicking(t *testing.T) {
	s := newSched(t, Workers(2))
	sig := new(schedSignal)
	var started, unwound atomic.Int32
	const n = 400
	tasks := make([]*Task, n)
	for i := range tasks {
		tasks[i] = s.Go(func(t *Task) {
			started.Add(1)
			defer unwound.Add(1)
			for k := 0; ; k++ {
				switch (i + k) % 3 {
				case 0:
					t.Yield()
				case 1:
					t.Wait(schedFrames(1 + k%3))
				default:
					t.Wait(WaiterFunc(func(w Waker) {
						sig.Arm(w)
						w.WakeAtFrame(t.Scheduler().Frame() + 2)
					}))
				}
			}
		})
	}
	s.Tick()
	s.Tick()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 4 {
				tasks[i].Cancel()
				if i%16 == 0 {
					time.Sleep(50 * time.Microsecond) // not asserted: spreads the cancels over ticks
				}
			}
		}()
	}
	for range 50 {
		s.Tick()
		sig.fire()
	}
	wg.Wait()
	for s.Len() > 0 {
		s.Tick()
	}
	assert.Equal(t, int32(n), started.Load())
	assert.Equal(t, int32(n), unwound.Load())
	for _, task := range tasks {
		assert.True(t, task.Done())
		assert.NoError(t, task.Err())
	}
}

// schedAfter is a scheduler-time wait built on the Waker mechanism.
type schedAfter time.Duration

func (d schedAfter) Arm(w Waker) { w.WakeAtTime(w.Task().Scheduler().Now() + time.Duration(d)) }

func TestSchedulerWaitsMatchModel(t *testing.T) {
	// Random scripts of frame and time waits, short and long (beyond the
	// wheel, into the heaps), under ticks of varying length: every task must
	// run exactly in the frames a direct model predicts.
	for seed := range 4 {
		rnd := uint64(seed)*0x9E3779B97F4A7C15 + 1
		next := func(n int) int {
			rnd ^= rnd << 13
			rnd ^= rnd >> 7
			rnd ^= rnd << 17
			return int(rnd % uint64(n))
		}
		const frames = 1500
		dts := make([]time.Duration, frames+1) // dts[f]: the length of tick f
		nows := make([]time.Duration, frames+1)
		for f := 1; f <= frames; f++ {
			dts[f] = time.Duration(1+next(30)) * time.Millisecond
			nows[f] = nows[f-1] + dts[f]
		}
		type step struct {
			frames int           // > 0: a frame wait
			d      time.Duration // otherwise a time wait
		}
		s := newSched(t, Workers(1+seed%2))
		var got, want [][]uint64
		for i := range 60 {
			var script []step
			for range 1 + next(8) {
				if next(2) == 0 {
					n := 1 + next(20)
					if next(4) == 0 {
						n = 200 + next(400) // near and past the wheel's reach
					}
					script = append(script, step{frames: n})
				} else {
					script = append(script, step{d: time.Duration(next(3000)) * time.Millisecond})
				}
			}
			// The model.
			var w []uint64
			f := uint64(1)
			for _, st := range script {
				if st.frames > 0 {
					f += uint64(st.frames)
				} else {
					due := nows[f] + st.d
					g := f + 1
					for g < frames && nows[g] < due {
						g++
					}
					f = g
				}
				if f >= frames {
					break
				}
				w = append(w, f)
			}
			want = append(want, w)
			got = append(got, nil)
			s.Go(func(t *Task) {
				for _, st := range script {
					if st.frames > 0 {
						t.Wait(schedFrames(st.frames))
					} else {
						t.Wait(schedAfter(st.d))
					}
					f := t.Scheduler().Frame()
					t.Apply(func() { got[i] = append(got[i], f) })
				}
			})
		}
		for f := 1; f < frames; f++ {
			s.TickDt(dts[f])
		}
		steps := 0
		for _, w := range want {
			steps += len(w)
		}
		require.Greater(t, steps, 150, "the model must cover many waits")
		assert.Equal(t, want, got, "seed %d", seed)
	}
}

func TestSchedulerWaitingTasksAreNotPolled(t *testing.T) {
	// Far frame waits sit in a heap, time waits in another, signal waits in
	// the signal: a tick looks at none of them until they are due.
	s := newSched(t)
	sig := new(schedSignal)
	resumes := 0
	const n = 3000
	for i := range n {
		s.Go(func(t *Task) {
			for {
				resumes++
				switch i % 3 {
				case 0:
					t.Wait(schedFrames(10_000))
				case 1:
					t.Wait(schedAfter(time.Hour))
				default:
					t.Wait(sig)
				}
			}
		})
	}
	s.Tick()
	require.Equal(t, n, resumes)
	for range 300 {
		s.Tick()
	}
	assert.Equal(t, n, resumes)
	assert.Len(t, s.far, n/3)
	assert.Len(t, s.times, n/3)
	assert.Empty(t, s.polls)
	for i := range s.wheel {
		assert.Empty(t, s.wheel[i])
	}
	sig.fire()
	s.Tick()
	assert.Equal(t, n+n/3, resumes)
}

// Cancelling tasks that are queued by their Yield must not hand them to two
// workers in one tick (once seen as "Close of a coroutine that is running").
func TestSchedulerCancelQueuedTasksWithTwoWorkers(t *testing.T) {
	for range 20 {
		s := NewScheduler(Workers(2))
		var tasks []*Task
		ran := make([]int, 64)
		for i := range 64 {
			tasks = append(tasks, s.Go(func(tk *Task) {
				for {
					ran[i]++
					tk.Yield()
				}
			}))
		}
		s.Tick()
		for i := 0; i < len(tasks); i += 2 {
			tasks[i].Cancel()
		}
		s.Tick()
		s.Tick()
		for i, tk := range tasks {
			if i%2 == 0 {
				assert.True(t, tk.Done(), "cancelled task %d", i)
				assert.NoError(t, tk.Err())
				assert.Equal(t, 1, ran[i])
			} else {
				assert.False(t, tk.Done())
				assert.Equal(t, 3, ran[i])
			}
		}
		s.Close()
		assert.Zero(t, s.Len())
	}
}

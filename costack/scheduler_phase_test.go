package costack

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPhasesRunInOrderWithinATick(t *testing.T) {
	s := newSched(t)
	var log []string
	for _, p := range []Phase{EndOfFrame, LateUpdate, Update, FixedUpdate} {
		s.Go(func(t *Task) {
			for {
				log = append(log, fmt.Sprint(t.Scheduler().Frame(), " ", t.Phase()))
				t.Yield()
			}
		}, InPhase(p))
	}
	s.Tick()
	s.Tick()
	assert.Equal(t, []string{
		"1 FixedUpdate", "1 Update", "1 LateUpdate", "1 EndOfFrame",
		"2 FixedUpdate", "2 Update", "2 LateUpdate", "2 EndOfFrame",
	}, log)
}

func TestYieldToLaterPhaseIsThisTickEarlierIsNext(t *testing.T) {
	s := newSched(t)
	var log []string
	at := func(t *Task) { log = append(log, fmt.Sprint(t.Scheduler().Frame(), " ", t.Phase())) }
	s.Go(func(t *Task) {
		at(t)                  // 1 Update
		t.YieldTo(LateUpdate)  // later: this tick
		at(t)                  // 1 LateUpdate
		t.YieldTo(EndOfFrame)  // later: this tick
		at(t)                  // 1 EndOfFrame
		t.YieldTo(Update)      // earlier: next tick
		at(t)                  // 2 Update
		t.YieldTo(Update)      // the same phase: next tick
		at(t)                  // 3 Update
		t.YieldTo(FixedUpdate) // earlier: next tick's fixed step
		at(t)                  // 4 FixedUpdate
		t.Yield()              // home phase, next tick
		at(t)                  // 5 Update
		t.Wait(schedFrames(2)) // waits resume in the home phase
		at(t)                  // 7 Update
	})
	for range 7 {
		s.Tick()
	}
	assert.Equal(t, []string{"1 Update", "1 LateUpdate", "1 EndOfFrame", "2 Update", "3 Update",
		"4 FixedUpdate", "5 Update", "7 Update"}, log)
}

func TestHomePhase(t *testing.T) {
	s := newSched(t)
	sig := new(schedSignal)
	var log []string
	s.Go(func(t *Task) {
		for range 3 {
			log = append(log, fmt.Sprint(t.Scheduler().Frame(), " ", t.Phase()))
			t.Wait(sig)
		}
	}, InPhase(LateUpdate))
	s.Go(func(t *Task) {
		t.Yield()
		sig.fire() // during Update of frame 2: the waiter resumes in frame 3
		t.Yield()
		t.Yield()
		sig.fire()
	})
	for range 5 {
		s.Tick()
	}
	assert.Equal(t, []string{"1 LateUpdate", "3 LateUpdate", "5 LateUpdate"}, log)
}

func TestFixedUpdateAccumulator(t *testing.T) {
	s := newSched(t, FrameDuration(10*time.Millisecond), FixedStep(4*time.Millisecond, 8))
	steps := map[uint64]int{}
	var stepTimes []time.Duration
	s.Go(func(t *Task) {
		for {
			steps[t.Scheduler().Frame()]++
			stepTimes = append(stepTimes, t.Scheduler().FixedStep())
			t.YieldTo(FixedUpdate) // the next fixed step, this tick or the next
		}
	}, InPhase(FixedUpdate))
	s.Tick() // acc 10: 2 steps, 2 left
	s.Tick() // acc 12: 3 steps, 0 left
	s.Tick() // acc 10: 2 steps, 2 left
	s.TickDt(time.Millisecond)
	s.TickDt(time.Millisecond) // acc 4: 1 step
	s.TickDt(100 * time.Millisecond)
	assert.Equal(t, map[uint64]int{1: 2, 2: 3, 3: 2, 5: 1, 6: 8}, steps, "at most 8 steps in a tick")
	assert.Equal(t, 4*time.Millisecond, stepTimes[0])
	s.TickDt(3 * time.Millisecond) // the extra whole steps were dropped, the fraction kept (0)
	assert.Zero(t, steps[7])
	s.TickDt(time.Millisecond)
	assert.Equal(t, 1, steps[8])
}

func TestFixedUpdateWaitersCarryOverTicksWithNoStep(t *testing.T) {
	s := newSched(t, FixedStep(10*time.Millisecond, 4))
	var frames []uint64
	s.Go(func(t *Task) {
		for range 2 {
			t.YieldTo(FixedUpdate)
			frames = append(frames, t.Scheduler().Frame())
		}
	})
	s.TickDt(time.Millisecond) // the task yields to FixedUpdate
	s.TickDt(time.Millisecond) // no step: it waits
	s.TickDt(time.Millisecond)
	s.TickDt(8 * time.Millisecond) // acc 11: a step
	s.TickDt(time.Millisecond)
	s.TickDt(10 * time.Millisecond)
	assert.Equal(t, []uint64{4, 6}, frames)
}

func TestPhasesFramesMatchAcrossWorkers(t *testing.T) {
	run := func(workers int) []string {
		s := NewScheduler(Workers(workers), FixedStep(time.Second/120, 4))
		defer s.Close()
		var log []string
		for i := range 300 {
			s.Go(func(t *Task) {
				for k := 0; ; k++ {
					f, p := t.Scheduler().Frame(), t.Phase()
					t.Apply(func() { log = append(log, fmt.Sprint(i, "@", f, p)) })
					switch (i + k) % 5 {
					case 0:
						t.YieldTo(LateUpdate)
					case 1:
						t.YieldTo(FixedUpdate)
					case 2:
						t.YieldTo(EndOfFrame)
					case 3:
						t.Wait(schedFrames(1 + i%3))
					default:
						t.Yield()
					}
				}
			}, InPhase(Phase(i%numPhases)))
		}
		for range 20 {
			s.Tick()
		}
		slices.Sort(log)
		return log
	}
	one := run(1)
	require.Greater(t, len(one), 300*20)
	assert.Equal(t, one, run(2))
	assert.Equal(t, one, run(3))
}

func TestPhaseMisuse(t *testing.T) {
	assert.Panics(t, func() { InPhase(Phase(9)) })
	assert.Panics(t, func() { FixedStep(0, 1) })
	assert.Panics(t, func() { FixedStep(time.Second, 0) })
	s := newSched(t)
	var got any
	s.Go(func(t *Task) {
		defer func() { got = recover() }()
		t.YieldTo(Phase(7))
	})
	s.Tick()
	assert.NotNil(t, got)
	assert.Equal(t, "Phase(9)", Phase(9).String())
}

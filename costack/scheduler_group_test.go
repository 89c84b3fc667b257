package costack

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// taskAfter is a time wait on the waiting task's own clock, as yield.For
// does it.
type taskAfter time.Duration

func (d taskAfter) Arm(w Waker) { w.WakeAtTime(w.Task().Now() + time.Duration(d)) }

func TestGroupPauseAndResume(t *testing.T) {
	s := newSched(t)
	g := s.NewGroup("enemies")
	var log []string
	for _, name := range []string{"a", "b"} {
		g.Go(func(t *Task) {
			for {
				log = append(log, fmt.Sprint(name, t.Scheduler().Frame()))
				t.Yield()
			}
		})
	}
	s.Go(func(t *Task) {
		for {
			log = append(log, fmt.Sprint("x", t.Scheduler().Frame()))
			if t.Scheduler().Frame() == 2 {
				g.Pause() // from a body: from the next tick on
			}
			t.Yield()
		}
	})
	s.Tick()
	s.Tick()
	assert.True(t, g.Paused())
	s.Tick()
	s.Tick()
	g.Resume()
	s.Tick()
	assert.Equal(t, []string{"a1", "b1", "x1", "a2", "b2", "x2", "x3", "x4", "x5", "a5", "b5"}, log,
		"paused for frames 3 and 4; resumed tasks run after the ones ready before")
	assert.False(t, g.Paused())
	assert.Equal(t, 2, g.Len())
}

func TestGroupPausedTasksKeepTheirWakes(t *testing.T) {
	s := newSched(t)
	g := s.NewGroup("level")
	sig := new(schedSignal)
	var woke []uint64
	g.Go(func(t *Task) {
		t.Wait(sig)
		woke = append(woke, t.Scheduler().Frame())
		t.Wait(schedFrames(1))
		woke = append(woke, t.Scheduler().Frame())
	})
	s.Tick()
	g.Pause()
	s.Tick()
	sig.fire() // ready for frame 3, but paused: held
	s.Tick()
	s.Tick()
	assert.Empty(t, woke)
	g.Resume()
	s.Tick()
	s.Tick()
	assert.Equal(t, []uint64{5, 6}, woke)
}

func TestGroupClockStopsWhilePausedAndScales(t *testing.T) {
	s := newSched(t, FrameDuration(10*time.Millisecond))
	g := s.NewGroup("slowmo")
	var woke []time.Duration
	g.Go(func(t *Task) {
		t.Wait(taskAfter(40 * time.Millisecond))
		woke = append(woke, t.Scheduler().Now())
		t.Wait(taskAfter(20 * time.Millisecond))
		woke = append(woke, t.Scheduler().Now())
	})
	s.Tick() // 10ms: armed at group time 10ms, due at 50ms
	g.Pause()
	for range 5 {
		s.Tick() // 20..60ms: the group's clock stands at 10ms
	}
	assert.Equal(t, 10*time.Millisecond, g.Now())
	g.Resume()
	g.SetTimeScale(0.5)
	for range 7 {
		s.Tick() // 70..130ms: group time 15, 20, ..., 45ms
	}
	assert.Empty(t, woke)
	assert.Equal(t, 45*time.Millisecond, g.Now())
	s.Tick() // 140ms: group 50ms
	require.Equal(t, []time.Duration{140 * time.Millisecond}, woke)
	g.SetTimeScale(2)
	s.Tick() // 150ms: group 70ms: due
	assert.Equal(t, []time.Duration{140 * time.Millisecond, 150 * time.Millisecond}, woke)
	assert.Equal(t, 2.0, g.TimeScale())
	assert.Panics(t, func() { g.SetTimeScale(-1) })
}

func TestGroupCancelEndsMembersAndChildren(t *testing.T) {
	s := newSched(t)
	g := s.NewGroup("wave")
	var unwound []string
	var kids []*Task
	for i := range 3 {
		g.Go(func(t *Task) {
			defer func() { unwound = append(unwound, fmt.Sprint("member", i)) }()
			kids = append(kids, t.Scheduler().Go(func(t *Task) { // joins the group
				defer func() { unwound = append(unwound, fmt.Sprint("child", i)) }()
				t.Wait(new(schedSignal))
			}))
			t.Wait(new(schedSignal))
		})
	}
	other := s.Go(func(t *Task) { t.Wait(new(schedSignal)) })
	s.Tick()
	s.Tick()
	require.Equal(t, 6, g.Len())
	for _, k := range kids {
		assert.Same(t, g, k.Group())
	}
	g.Cancel()
	s.Tick()
	// Children first: those with no children of their own are closed by
	// their worker as it meets them; their parents at the end of the phase.
	assert.Equal(t, []string{"child0", "child1", "child2", "member0", "member1", "member2"}, unwound)
	assert.Zero(t, g.Len())
	assert.False(t, other.Done())
}

func TestGroupCancelWhilePaused(t *testing.T) {
	s := newSched(t)
	g := s.NewGroup("menu")
	unwound := 0
	for range 4 {
		g.Go(func(t *Task) {
			defer func() { unwound++ }()
			for {
				t.Yield()
			}
		})
	}
	s.Tick()
	g.Pause()
	s.Tick() // held
	s.Tick()
	g.Cancel()
	s.Tick()
	assert.Equal(t, 4, unwound, "cancelled while paused: closed at the next tick")
	assert.Zero(t, s.Len())
}

func TestGoIntoPausedGroup(t *testing.T) {
	s := newSched(t)
	g := s.NewGroup("later")
	g.Pause()
	s.Tick()
	ran := false
	g.Go(func(t *Task) { ran = true })
	s.Tick()
	s.Tick()
	assert.False(t, ran)
	g.Resume()
	s.Tick()
	assert.True(t, ran)
}

func TestGroupResumeFromAnotherGoroutineWakesRun(t *testing.T) {
	s := newSched(t)
	g := s.NewGroup("g")
	g.Pause()
	done := false
	g.Go(func(t *Task) { done = true })
	go func() {
		time.Sleep(time.Millisecond) // not asserted: lets Run go to sleep first
		g.Resume()
	}()
	require.NoError(t, s.Run(context.Background()))
	assert.True(t, done)
}

func TestGroupPauseRaceWithCancelAndWorkers(t *testing.T) {
	// Pause, cancel and resume while two workers run the group's tasks:
	// the bookkeeping must stay right (see -race) and every task end.
	s := newSched(t, Workers(2))
	g := s.NewGroup("g")
	const n = 400
	tasks := make([]*Task, n)
	for i := range tasks {
		tasks[i] = g.Go(func(t *Task) {
			for k := 0; ; k++ {
				if (i+k)%3 == 0 {
					t.Wait(schedFrames(1 + k%2))
				} else {
					t.Yield()
				}
			}
		})
	}
	for f := range 30 {
		switch f % 4 {
		case 1:
			g.Pause()
		case 3:
			g.Resume()
		}
		if f >= 10 {
			for i := f; i < n; i += 20 {
				tasks[i].Cancel()
			}
		}
		s.Tick()
	}
	g.Resume()
	g.Cancel()
	s.Tick()
	s.Tick()
	assert.Zero(t, s.Len())
	for _, task := range tasks {
		assert.True(t, task.Done())
	}
}

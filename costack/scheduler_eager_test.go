package costack

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An eager task started by a task runs inside Go, up to its first yield;
// then it is scheduled as any other, and its starter goes on after Go.
func TestEagerRunsInsideGo(t *testing.T) {
	s := NewScheduler()
	defer s.Close()
	var events []string
	s.Go(func(tk *Task) {
		s.Go(func(tk *Task) {
			events = append(events, "child first")
			tk.Yield()
			events = append(events, "child second")
		}, Eager())
		events = append(events, "after Go")
		s.Go(func(tk *Task) { events = append(events, "lazy child") })
		events = append(events, "after lazy Go")
	})
	s.Tick()
	assert.Equal(t, []string{"child first", "after Go", "after lazy Go"}, events)
	s.Tick()
	assert.Equal(t, []string{"child first", "after Go", "after lazy Go", "child second", "lazy child"}, events)
	assert.Equal(t, 0, s.Len())
}

// Eager from outside the scheduler's tasks changes nothing: the task first
// runs on the next Tick.
func TestEagerOutsideATaskWaitsForTheTick(t *testing.T) {
	s := NewScheduler()
	defer s.Close()
	ran := false
	s.Go(func(*Task) { ran = true }, Eager())
	assert.False(t, ran)
	s.Tick()
	assert.True(t, ran)
}

// A tree of eager tasks that end without waiting runs depth first within
// one tick, with only the path from the root alive at once.
func TestEagerTreeRunsDepthFirst(t *testing.T) {
	for _, workers := range []int{1, 2} {
		s := NewScheduler(Workers(workers))
		maxLive, leaves := 0, 0
		var spawn func(depth int)
		spawn = func(depth int) {
			s.Go(func(*Task) {
				maxLive = max(maxLive, s.Len())
				if depth == 0 {
					leaves++
					return
				}
				for range 4 {
					spawn(depth - 1)
				}
			}, Eager())
		}
		s.Go(func(*Task) { spawn(5) })
		s.Tick()
		assert.Equal(t, 1024, leaves, "workers %d", workers)
		assert.LessOrEqual(t, maxLive, 7, "workers %d: the root task and one task per level", workers)
		assert.Equal(t, 0, s.Len())
		s.Close()
	}
}

// An eager task that panics ends with the panic; its starter goes on.
func TestEagerPanicEndsOnlyTheChild(t *testing.T) {
	s := NewScheduler()
	defer s.Close()
	var child *Task
	after := false
	s.Go(func(*Task) {
		child = s.Go(func(*Task) { panic("boom") }, Eager(), Detached())
		after = true
	})
	s.Tick()
	assert.True(t, after)
	require.True(t, child.Done())
	var pe *PanicError
	require.True(t, errors.As(child.Err(), &pe), "%v", child.Err())
	assert.Equal(t, "boom", pe.Value)
}

// An eager child that waits is woken as any task; with profile labels on,
// the starter's run is not disturbed.
func TestEagerChildWaits(t *testing.T) {
	s := NewScheduler(ProfileLabels(true))
	defer s.Close()
	var got []int
	release := make(chan struct{})
	close(release)
	s.Go(func(tk *Task) {
		child := s.Go(func(tk *Task) {
			got = append(got, 1)
			tk.Yield()
			got = append(got, 3)
		}, Eager(), Named("child"))
		got = append(got, 2)
		tk.Yield()
		assert.True(t, child.Done())
		got = append(got, 4)
	}, Named("starter"))
	for range 3 {
		s.Tick()
	}
	assert.Equal(t, []int{1, 2, 3, 4}, got)
}

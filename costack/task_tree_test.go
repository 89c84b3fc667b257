package costack

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 18: a child started with Go and joined by its parent kept running
// after parent.Cancel().
func TestCancelParentCancelsChildrenInnermostFirst(t *testing.T) {
	s := newSched(t)
	var unwound []string
	parent := s.Go(func(t *Task) {
		defer func() { unwound = append(unwound, "parent") }()
		for i := range 2 {
			kid := t.Scheduler().Go(func(t *Task) {
				defer func() { unwound = append(unwound, fmt.Sprint("child", i)) }()
				t.Scheduler().Go(func(t *Task) {
					defer func() { unwound = append(unwound, fmt.Sprint("grandchild", i)) }()
					for {
						t.Yield()
					}
				})
				t.Wait(new(schedSignal))
			})
			if i == 1 {
				t.Wait(kid) // joined
			}
		}
	})
	for range 3 { // the grandchildren first run in frame 3
		s.Tick()
	}
	require.Equal(t, 5, s.Len())
	parent.Cancel()
	s.Tick()
	assert.Equal(t, []string{"grandchild0", "grandchild1", "child0", "child1", "parent"}, unwound)
	assert.Zero(t, s.Len())
}

func TestChildrenOutliveAReturningParent(t *testing.T) {
	s := newSched(t)
	var child *Task
	grand := s.Go(func(t *Task) {
		t.Scheduler().Go(func(t *Task) { // the parent: returns at once
			child = t.Scheduler().Go(func(t *Task) {
				for {
					t.Yield()
				}
			})
		})
		t.Wait(new(schedSignal))
	})
	for range 4 {
		s.Tick()
	}
	require.False(t, child.Done(), "the child outlives its parent")
	grand.Cancel() // the child passed to its grandparent
	s.Tick()
	assert.True(t, child.Done())
	assert.True(t, child.Cancelled())
}

func TestDetachedChildSurvivesParentCancel(t *testing.T) {
	s := newSched(t)
	var detached *Task
	parent := s.Go(func(t *Task) {
		detached = t.Scheduler().Go(func(t *Task) {
			for {
				t.Yield()
			}
		}, Detached())
		t.Wait(new(schedSignal))
	})
	s.Tick()
	parent.Cancel()
	s.Tick()
	s.Tick()
	assert.True(t, parent.Done())
	assert.False(t, detached.Done())
}

func TestChildStartedByCancelledParentNeverRuns(t *testing.T) {
	s := newSched(t)
	ran := false
	var late *Task
	parent := s.Go(func(t *Task) {
		defer func() {
			late = t.Scheduler().Go(func(*Task) { ran = true })
		}()
		t.Wait(new(schedSignal))
	})
	s.Tick()
	parent.Cancel()
	s.Tick()
	s.Tick()
	require.NotNil(t, late)
	assert.True(t, late.Done())
	assert.False(t, ran, "born into a cancelled tree: ends without running")
}

func TestCloseClosesChildrenFirst(t *testing.T) {
	s := NewScheduler()
	var unwound []string
	s.Go(func(t *Task) {
		defer func() { unwound = append(unwound, "root") }()
		t.Scheduler().Go(func(t *Task) {
			defer func() { unwound = append(unwound, "kid") }()
			t.Wait(new(schedSignal))
		})
		t.Wait(new(schedSignal))
	})
	s.Tick()
	s.Tick()
	s.Close()
	assert.Equal(t, []string{"kid", "root"}, unwound)
}

func TestTaskContext(t *testing.T) {
	s := newSched(t)
	var kidCtx context.Context
	parent := s.Go(func(t *Task) {
		kid := t.Scheduler().Go(func(t *Task) { t.Wait(new(schedSignal)) })
		kidCtx = kid.Context()
		t.Wait(new(schedSignal))
	})
	ended := s.Go(func(t *Task) {})
	s.Tick()
	ctx := parent.Context()
	assert.NoError(t, ctx.Err())
	assert.Error(t, ended.Context().Err(), "the context of an ended task is done")
	parent.Cancel()
	assert.ErrorIs(t, ctx.Err(), context.Canceled, "done at once, before the task is closed")
	assert.ErrorIs(t, context.Cause(ctx), ErrCancelled)
	assert.ErrorIs(t, context.Cause(kidCtx), ErrCancelled, "the children's too")
	s.Tick()
	assert.True(t, parent.Done())

	// A task that returns: its context is done, not cancelled.
	var c context.Context
	s.Go(func(t *Task) { c = t.Context() })
	s.Tick()
	require.Error(t, c.Err())
	assert.False(t, errors.Is(context.Cause(c), ErrCancelled))
}

func TestCancelTreeWhileChildrenRunOnOtherWorkers(t *testing.T) {
	// Trees cancelled from another goroutine while their tasks run on two
	// workers: every task ends, each after its children (see -race).
	s := newSched(t, Workers(2))
	var order atomic.Int64
	const trees = 40
	roots := make([]*Task, trees)
	var bad atomic.Int32
	for r := range roots {
		roots[r] = s.Go(func(t *Task) {
			var kidEnds []*atomic.Int64
			for range 3 {
				var end atomic.Int64
				kidEnds = append(kidEnds, &end)
				t.Scheduler().Go(func(t *Task) {
					defer func() { end.Store(order.Add(1)) }()
					for k := 0; ; k++ {
						if k%2 == 0 {
							t.Yield()
						} else {
							t.Wait(schedFrames(2))
						}
					}
				})
			}
			defer func() {
				me := order.Add(1)
				for _, e := range kidEnds {
					if v := e.Load(); v == 0 || v > me {
						bad.Add(1)
					}
				}
			}()
			for {
				t.Yield()
			}
		})
	}
	s.Tick()
	s.Tick()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, r := range roots {
			r.Cancel()
		}
	}()
	for s.Len() > 0 {
		s.Tick()
	}
	<-done
	assert.Zero(t, bad.Load(), "a parent ended before one of its children")
}

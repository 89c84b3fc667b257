package yield_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/costack-dev/costack/costack"
	"github.com/costack-dev/costack/yield"
	"github.com/stretchr/testify/assert"
)

func TestForRealtimeIgnoresSchedulerTimeAndPauses(t *testing.T) {
	clock := costack.NewManualClock(time.Unix(0, 0))
	s := newSched(t, costack.WithClock(clock))
	g := s.NewGroup("ui")
	g.SetTimeScale(0) // scheduler-time waits of the group stand still
	var log []string
	g.Go(func(t *costack.Task) {
		yield.ForRealtime(t, 100*time.Millisecond)
		log = append(log, fmt.Sprint("real ", t.Scheduler().Frame()))
	})
	g.Go(func(t *costack.Task) {
		yield.For(t, time.Millisecond)
		log = append(log, "scaled")
	})
	s.Tick() // both arm
	s.TickDt(time.Hour)
	assert.Empty(t, log, "an hour of scheduler time is no real time")
	clock.Advance(99 * time.Millisecond)
	s.Tick()
	assert.Empty(t, log)
	clock.Advance(time.Millisecond)
	s.Tick()
	assert.Equal(t, []string{"real 4"}, log, "and a time scale of 0 does not stop real time")
}

func TestForUsesTheGroupClock(t *testing.T) {
	s := newSched(t, costack.FrameDuration(10*time.Millisecond))
	g := s.NewGroup("fast")
	g.SetTimeScale(2)
	var woke time.Duration
	g.Go(func(t *costack.Task) {
		yield.For(t, 100*time.Millisecond)
		woke = t.Scheduler().Now()
	})
	for range 8 {
		s.Tick()
	}
	assert.Equal(t, 60*time.Millisecond, woke, "armed at 10ms of scheduler time, 50ms later at twice the speed")
}

func TestWhile(t *testing.T) {
	s := newSched(t)
	busy := true
	var at uint64
	s.Go(func(t *costack.Task) {
		yield.While(t, func() bool { return busy })
		at = t.Scheduler().Frame()
		yield.While(t, func() bool { return false }) // does not wait
	})
	s.Tick()
	s.Tick()
	busy = false
	s.Tick()
	assert.Equal(t, uint64(3), at)
	assert.Zero(t, s.Len())
}

func TestPhase(t *testing.T) {
	s := newSched(t)
	var log []string
	s.Go(func(t *costack.Task) {
		log = append(log, t.Phase().String())
		yield.Phase(t, costack.EndOfFrame)
		log = append(log, fmt.Sprint(t.Phase(), " ", t.Scheduler().Frame()))
	})
	s.Tick()
	assert.Equal(t, []string{"Update", "EndOfFrame 1"}, log)
}

func TestWaitersDescribeThemselves(t *testing.T) {
	sig := &yield.Signal{Name: "door"}
	for _, c := range []struct {
		w    costack.Waiter
		want string
	}{
		{yield.InFrames(3), "yield.InFrames(3)"},
		{yield.After(1500 * time.Millisecond), "yield.After(1.5s)"},
		{yield.AfterRealtime(time.Second), "yield.AfterRealtime(1s)"},
		{sig, "signal door"},
		{yield.AllOf(sig, yield.InFrames(1)), "yield.AllOf(signal door, yield.InFrames(1))"},
		{yield.AnyOf(sig), "yield.AnyOf(signal door)"},
	} {
		assert.Equal(t, c.want, fmt.Sprint(c.w))
	}
	assert.True(t, strings.HasPrefix(fmt.Sprint(yield.When(func() bool { return true })), "yield.When(github.com/costack-dev/costack/yield_test.TestWaitersDescribeThemselves"))
	assert.True(t, strings.HasPrefix(fmt.Sprint(yield.WhenNot(func() bool { return true })), "yield.WhenNot("))
	assert.True(t, strings.HasPrefix(fmt.Sprint(yield.NewSignal()), "signal 0x"))
}

func TestJoinReturnsTheError(t *testing.T) {
	s := newSched(t)
	bad := s.Go(func(*costack.Task) { panic("x") })
	var err error
	s.Go(func(t *costack.Task) { err = yield.Join(t, bad) })
	s.Tick()
	s.Tick()
	var pe *costack.PanicError
	assert.ErrorAs(t, err, &pe)
}

func TestJoinAllAndAny(t *testing.T) {
	s := newSched(t)
	boom := errors.New("boom")
	mk := func(frames int, v int, err error) *costack.TaskOf[int] {
		return costack.GoResult(s, func(t *costack.Task) (int, error) {
			yield.Frames(t, frames)
			return v, err
		})
	}
	var all []int
	var allErr error
	var anyI, anyV int
	s.Go(func(tk *costack.Task) {
		all, allErr = yield.JoinAll(tk, mk(3, 1, nil), mk(1, 2, boom), mk(2, 3, nil))
		var err error
		anyI, anyV, err = yield.JoinAny(tk, mk(5, 10, nil), mk(2, 20, nil))
		assert.NoError(t, err)
		i, _, err := yield.JoinAny[int](tk)
		assert.Equal(t, -1, i)
		assert.ErrorIs(t, err, costack.ErrNotDone)
	})
	for range 10 {
		s.Tick()
	}
	assert.Equal(t, []int{1, 2, 3}, all)
	assert.ErrorIs(t, allErr, boom)
	assert.Equal(t, 1, anyI)
	assert.Equal(t, 20, anyV)
}

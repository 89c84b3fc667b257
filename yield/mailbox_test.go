package yield_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/costack-dev/costack/costack"
	"github.com/costack-dev/costack/yield"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 18: examples/actors needed a careful WaiterFunc to avoid a lost
// wake-up. A message sent between a receiver's check and its wait, or
// before it ever waits, must not be missed.
func TestMailboxLosesNoWakeup(t *testing.T) {
	s := newSched(t)
	mb := yield.NewMailbox[int](0)
	var got []int
	s.Go(func(tk *costack.Task) {
		for range 6 {
			v, ok := mb.Receive(tk)
			assert.True(t, ok)
			got = append(got, v)
		}
	})
	require.NoError(t, mb.Send(0)) // before the receiver ever ran
	s.Go(func(tk *costack.Task) {
		for i := 1; i < 6; i++ {
			assert.NoError(t, mb.Send(i))
			if i%2 == 0 {
				tk.Yield()
			}
		}
	})
	for range 10 {
		s.Tick()
	}
	assert.Equal(t, []int{0, 1, 2, 3, 4, 5}, got)
	assert.Zero(t, s.Len())
}

func TestMailboxFromOtherGoroutinesUnderRun(t *testing.T) {
	s := newSched(t, costack.Workers(2))
	const senders, each = 8, 500
	mb := yield.NewMailbox[int](0)
	sum := 0
	s.Go(func(t *costack.Task) {
		for range senders * each {
			v, _ := mb.Receive(t)
			sum += v
		}
	})
	var wg sync.WaitGroup
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				assert.NoError(t, mb.Send(g*each+i))
			}
		}()
	}
	require.NoError(t, s.Run(context.Background()))
	wg.Wait()
	n := senders * each
	assert.Equal(t, n*(n-1)/2, sum)
}

func TestMailboxBounded(t *testing.T) {
	s := newSched(t)
	mb := yield.NewMailbox[string](2)
	require.NoError(t, mb.Send("a"))
	require.NoError(t, mb.Send("b"))
	assert.ErrorIs(t, mb.Send("c"), yield.ErrFull)
	var sent []uint64
	s.Go(func(tk *costack.Task) {
		assert.NoError(t, mb.SendWait(tk, "c")) // waits for room
		sent = append(sent, tk.Scheduler().Frame())
	})
	var got []string
	s.Go(func(t *costack.Task) {
		t.Yield()
		for range 3 {
			v, _ := mb.Receive(t)
			got = append(got, v)
			t.Yield()
		}
	})
	for range 6 {
		s.Tick()
	}
	assert.Equal(t, []string{"a", "b", "c"}, got)
	assert.Equal(t, []uint64{3}, sent, "room made in frame 2, the sender goes on in frame 3")
	assert.Panics(t, func() { yield.NewMailbox[int](-1) })
}

func TestMailboxClose(t *testing.T) {
	s := newSched(t)
	mb := yield.NewMailbox[int](1)
	require.NoError(t, mb.Send(7))
	var got []int
	okAfter := true
	sendErr := errors.New("not returned")
	s.Go(func(t *costack.Task) { sendErr = mb.SendWait(t, 8) }) // full: waits
	s.Go(func(t *costack.Task) {
		for {
			v, ok := mb.Receive(t)
			if !ok {
				okAfter = ok
				return
			}
			got = append(got, v)
		}
	})
	s.Tick() // the sender waits for room; the receiver takes 7 and waits
	mb.Close()
	mb.Close()
	s.Tick()
	assert.Equal(t, []int{7}, got)
	assert.False(t, okAfter, "closed and empty")
	assert.ErrorIs(t, sendErr, yield.ErrClosed, "closed before there was room")
	assert.Zero(t, s.Len(), "Close woke every waiter")
	assert.ErrorIs(t, mb.Send(1), yield.ErrClosed)

	// What is in a closed mailbox is still received.
	mb2 := yield.NewMailbox[int](0)
	require.NoError(t, mb2.Send(1))
	mb2.Close()
	v, ok := mb2.TryReceive()
	assert.True(t, ok)
	assert.Equal(t, 1, v)
}

func TestMailboxWithTimeout(t *testing.T) {
	s := newSched(t, costack.FrameDuration(10*time.Millisecond))
	mb := &yield.Mailbox[int]{Name: "inbox"}
	var log []string
	task := s.Go(func(tk *costack.Task) {
		for range 3 {
			switch yield.Any(tk, mb, yield.After(25*time.Millisecond)) {
			case 0:
				v, ok := mb.TryReceive()
				assert.True(t, ok)
				log = append(log, "msg", string(rune('0'+v)))
			case 1:
				log = append(log, "timeout")
			}
		}
	})
	s.Tick()
	assert.Equal(t, "task#1 waiting for yield.AnyOf(mailbox inbox (0 messages), yield.After(25ms))", task.String())
	for range 4 {
		s.Tick()
	}
	require.NoError(t, mb.Send(5))
	for range 5 {
		s.Tick()
	}
	assert.Equal(t, []string{"timeout", "msg", "5", "timeout"}, log)
}

func TestMailboxDropsStaleReceivers(t *testing.T) {
	s := newSched(t)
	mb := yield.NewMailbox[int](0)
	got := 0
	s.Go(func(t *costack.Task) {
		for {
			if yield.Any(t, mb, yield.InFrames(1)) == 0 { // times out every frame
				v, _ := mb.TryReceive()
				got += v
			}
		}
	})
	for range 1000 {
		s.Tick()
	}
	// 1000 timed-out waits; a Send still wakes the one live wait.
	require.NoError(t, mb.Send(5))
	s.Tick()
	assert.Equal(t, 5, got)
	assert.Zero(t, mb.Len())
}

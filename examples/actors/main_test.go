package main

import (
	"bytes"
	"testing"

	"github.com/costack-dev/costack/costack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunSmall(t *testing.T) {
	for _, workers := range []string{"1", "2"} {
		var out bytes.Buffer
		require.NoError(t, run([]string{"-depth", "3", "-ring", "50", "-laps", "3", "-workers", workers}, &out))
		assert.Contains(t, out.String(), "sum 499500")
		assert.Contains(t, out.String(), "150 hops")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	var out bytes.Buffer
	assert.Error(t, run([]string{"-depth", "0"}, &out))
	assert.Error(t, run([]string{"-depth", "2", "-ring", "10", "-laps", "100", "-max-ticks", "20"}, &out))
}

func TestMailboxKeepsOrderAndDoesNotLoseWakeups(t *testing.T) {
	s := costack.NewScheduler()
	defer s.Close()
	var got []int
	sink := Spawn(s, func(self *Actor, t *costack.Task) {
		for range 6 {
			got = append(got, self.Receive(t).Val)
		}
	})
	Spawn(s, func(self *Actor, t *costack.Task) {
		for i := range 3 {
			sink.Send(Message{Val: i})
		}
		t.Yield()
		for i := 3; i < 6; i++ {
			sink.Send(Message{Val: i})
			t.Yield()
		}
	})
	for range 10 {
		s.Tick()
	}
	assert.Equal(t, []int{0, 1, 2, 3, 4, 5}, got)
	assert.Equal(t, 0, s.Len())
}

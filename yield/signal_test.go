package yield

import (
	"testing"

	"github.com/costack-dev/costack/costack"
	"github.com/stretchr/testify/assert"
)

func TestSignalDropsStaleWaiters(t *testing.T) {
	s := costack.NewScheduler()
	defer s.Close()
	sig := NewSignal()
	s.Go(func(t *costack.Task) {
		for {
			Any(t, sig, InFrames(1)) // times out every frame
		}
	})
	for range 1000 {
		s.Tick()
	}
	sig.mu.Lock()
	n := len(sig.waiters)
	sig.mu.Unlock()
	assert.Less(t, n, 100, "timed-out waits do not pile up")
	assert.Equal(t, 1, sig.Waiting())
}

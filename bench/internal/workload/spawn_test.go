package workload

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestSkynet(t *testing.T) {
	for _, leaves := range []int{1, 10, 1000} {
		want := SkynetWant(leaves)
		assert.Equal(t, want, SkynetGoroutine(leaves), "goroutine, %d leaves", leaves)
		for _, workers := range []int{1, 2} {
			got, err := SkynetCostack(leaves, workers)
			require.NoError(t, err)
			assert.Equal(t, want, got, "costack, %d workers, %d leaves", workers, leaves)
		}
	}
	goleak.VerifyNone(t)
}

// TestChurn checks that n/life entities end and are spawned in every tick,
// on every implementation, and that Close leaves nothing behind.
func TestChurn(t *testing.T) {
	for _, impl := range Impls {
		t.Run(fmt.Sprint(impl), func(t *testing.T) {
			c := NewChurn(impl, 1000, 10)
			for tick := range 25 {
				spawned, d := c.Tick()
				assert.Equal(t, 100, spawned, "tick %d", tick)
				assert.Positive(t, d)
			}
			c.Close()
			goleak.VerifyNone(t)
		})
	}
}

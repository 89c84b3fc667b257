package gls

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestIDStableWithinGoroutine(t *testing.T) {
	id := ID()
	require.NotZero(t, id)
	assert.Equal(t, id, ID())
	other := make(chan uintptr)
	go func() { other <- ID() }()
	assert.NotEqual(t, id, <-other)
}

func TestCellsArePerGoroutine(t *testing.T) {
	var tab Table[int]
	*tab.Get() = -1
	const n = 500
	var wg sync.WaitGroup
	got := make([]bool, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			c := tab.Get()
			*c = i
			for range 100 {
				if tab.Get() != c || *c != i {
					return
				}
			}
			*c = 0
			got[i] = true
		}()
	}
	close(start)
	wg.Wait()
	for i, ok := range got {
		assert.True(t, ok, "goroutine %d saw a foreign cell", i)
	}
	assert.Equal(t, -1, *tab.Get(), "the calling goroutine's cell survived growth")
}

func BenchmarkGet(b *testing.B) {
	var tab Table[int]
	for b.Loop() {
		*tab.Get()++
	}
}

package costack

import (
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
)

// dropSuspended makes n coroutines, suspends each once and drops them; each
// body's deferred call runs onClose when the coroutine is closed.
func dropSuspended(n int, onClose func()) {
	for range n {
		c := New(func(y *Yielder[int, int], _ int) int {
			defer onClose()
			y.Yield(0)
			return 0
		})
		if _, _, err := c.Resume(0); err != nil {
			panic(err)
		}
	}
}

// Dropped coroutines are closed by a few closer goroutines, not by a
// goroutine each: a million dropped at once would be a million goroutines
// (and their stacks) at the moment the memory is to be given back.
func TestDroppedCoroutinesShareClosers(t *testing.T) {
	if !strings.HasPrefix(Engine(), "native") {
		t.Skip("a portable coroutine's deferred calls run on its own goroutine:", Engine())
	}
	const n = 2000
	var mu sync.Mutex
	goroutines := map[uintptr]bool{}
	var closed atomic.Int64
	dropSuspended(n, func() {
		mu.Lock()
		goroutines[goroutineID()] = true
		mu.Unlock()
		closed.Add(1)
	})
	collectUntil(t, func() bool { return closed.Load() == n }, "the dropped coroutines were not all closed")
	mu.Lock()
	defer mu.Unlock()
	assert.LessOrEqual(t, len(goroutines), 2*runtime.GOMAXPROCS(0)+8, "%d dropped coroutines closed on %d goroutines", n, len(goroutines))
}

// A deferred call that blocks holds up only its own coroutine's close: the
// others dropped with it, and after it, are closed.
func TestBlockedCloseDoesNotHoldUpOthers(t *testing.T) {
	release := make(chan struct{})
	var blocked atomic.Bool
	dropSuspended(1, func() {
		blocked.Store(true)
		<-release
	})
	collectUntil(t, blocked.Load, "the first dropped coroutine was not closed")
	var closed atomic.Int64
	dropSuspended(100, func() { closed.Add(1) })
	collectUntil(t, func() bool { return closed.Load() == 100 }, "coroutines dropped after a blocked close were not closed")
	close(release)
}

// A deferred call that calls runtime.Goexit ends its closer; the others are
// still closed.
func TestGoexitInDroppedCloseKeepsClosing(t *testing.T) {
	var closed atomic.Int64
	dropSuspended(3, func() {
		closed.Add(1)
		runtime.Goexit()
	})
	dropSuspended(50, func() { closed.Add(1) })
	collectUntil(t, func() bool { return closed.Load() == 53 }, "coroutines were left unclosed after a Goexit in a close")
}

package costack

// Pull moves a sequence whose yields are dear to copy (a recursive
// generator) to a goroutine of its own (iter.go, hostAfter); what a caller
// sees stays iter.Pull's.

import (
	"fmt"
	"iter"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/costack-dev/costack/internal/engine"
)

// deepSeq yields 0, 1, ..., n-1, each from depth levels of recursion
// whose every level has a deferred call (logged as "unwound d") and a
// local read after the yield; then, if fail, it panics.
func deepSeq(n, depth int, fail bool, log *[]string) iter.Seq[int] {
	var level func(d int, yield func(int) bool) bool
	level = func(d int, yield func(int) bool) bool {
		if d == 0 {
			for i := 0; i < n; i++ {
				if !yield(i) {
					return false
				}
			}
			if fail {
				panic("deep seq fails")
			}
			return true
		}
		defer func() {
			if d == depth {
				*log = append(*log, fmt.Sprint("unwound ", d))
			}
		}()
		mark := [4]int{d}
		ok := level(d-1, yield)
		if mark[0] != d {
			panic("a frame's local changed across a yield")
		}
		return ok
	}
	return func(yield func(int) bool) { level(depth, yield) }
}

// pullWatched is Pull on the native engine that also returns its
// coroutine, for the tests to look at.
func pullWatched(t *testing.T, seq iter.Seq[int]) (func() (int, bool), func(), *Coroutine[struct{}, int]) {
	t.Helper()
	if err := engine.Available(engine.Native); err != nil {
		t.Skip("no native engine:", err)
	}
	var co *Coroutine[struct{}, int]
	next, stop := pull("costack.Pull", seq, func(body func(*Yielder[struct{}, int], struct{}) int) *Coroutine[struct{}, int] {
		co = mustNewOn(t, engine.Native, body)
		return co
	})
	return next, stop, co
}

func TestPullMovesADeepSequenceToAGoroutine(t *testing.T) {
	var log []string
	next, stop, co := pullWatched(t, deepSeq(100, 60, false, &log))
	for i := range hostAfter + 1 {
		v, ok := next()
		require.Equal(t, i, v)
		require.True(t, ok)
	}
	assert.Equal(t, 0, co.s.co.ImageSize(), "moved: no image")
	runtime.GC()
	for i := hostAfter + 1; i < 50; i++ {
		v, ok := next()
		require.Equal(t, i, v)
		require.True(t, ok)
	}
	stop()
	assert.Equal(t, []string{"unwound 60"}, log, "stop unwound the moved sequence")
	_, ok := next()
	assert.False(t, ok)
	assert.Equal(t, Dead, co.Status())
}

func TestPullKeepsAShallowSequence(t *testing.T) {
	var log []string
	next, stop, co := pullWatched(t, deepSeq(100, 2, false, &log))
	for range 3 * hostAfter {
		next()
	}
	assert.Greater(t, co.s.co.ImageSize(), 0, "not moved: a small image")
	stop()
}

// The sequence moves between two yields wherever it is resumed from; what
// the caller sees is iter.Pull's: the values, a panic, stop's unwinding.
func TestPullMovedSequenceBehavesAsIterPull(t *testing.T) {
	for _, fail := range []bool{false, true} {
		sameAsIterPull(t, func(pull pullFunc) (trace []string) {
			var log []string
			next, stop := pull(deepSeq(3*hostAfter, 50, fail, &log))
			for {
				var v int
				var ok bool
				msg := try(func() { v, ok = next() })
				trace = append(trace, fmt.Sprint(v, ok, msg))
				if !ok || msg != "ok" {
					break
				}
			}
			stop()
			return append(trace, log...)
		})
	}
}

func TestDroppedMovedPullIsClosed(t *testing.T) {
	closed := make(chan struct{})
	func() {
		var log []string
		seq := deepSeq(100, 60, false, &log)
		next, _, co := pullWatched(t, func(yield func(int) bool) {
			defer close(closed)
			seq(yield)
		})
		for range 2 * hostAfter {
			next()
		}
		require.Equal(t, 0, co.s.co.ImageSize(), "moved")
	}()
	// The goroutine it moved to ends too (goleak, TestMain).
	collectUntilClosed(t, closed, "a dropped Pull whose sequence moved was not closed")
}

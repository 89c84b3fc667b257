package costack

// Pull and Pull2 against iter.Pull and iter.Pull2 where they used to
// differ (issue 16, findings 2 and 3), on every engine: each scenario runs
// with iter.Pull and with costack.Pull, and what a caller sees must be the
// same, panics included (with "iter." read as "costack.").

import (
	"fmt"
	"iter"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type pullFunc func(iter.Seq[int]) (func() (int, bool), func())

// pullers returns iter.Pull and costack.Pull on every engine.
func pullers(t *testing.T) map[string]pullFunc {
	m := map[string]pullFunc{"iter.Pull": iter.Pull[int]}
	for _, k := range misuseEngines() {
		m["costack.Pull/"+k.String()] = func(seq iter.Seq[int]) (func() (int, bool), func()) {
			next, stop, err := pullOn(k, seq)
			require.NoError(t, err)
			return next, stop
		}
	}
	return m
}

// sameAsIterPull runs scenario with every puller and checks that each
// costack.Pull trace equals iter.Pull's, with "iter." read as "costack.".
func sameAsIterPull(t *testing.T, scenario func(pull pullFunc) []string) {
	t.Helper()
	ps := pullers(t)
	want := scenario(ps["iter.Pull"])
	for i := range want {
		want[i] = strings.ReplaceAll(want[i], "iter.", "costack.")
	}
	for name, p := range ps {
		if name == "iter.Pull" {
			continue
		}
		assert.Equal(t, want, scenario(p), name)
	}
}

// try runs f and returns what it panicked with, as a string, or "ok".
func try(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint("panic: ", r)
		}
	}()
	f()
	return "ok"
}

// Finding 2: a yield kept past the end of seq returns false (it used to
// panic "Yield of a dead coroutine").
func TestPullYieldAfterSeqReturned(t *testing.T) {
	sameAsIterPull(t, func(pull pullFunc) (trace []string) {
		var kept func(int) bool
		next, stop := pull(func(yield func(int) bool) {
			kept = yield
			yield(1)
		})
		v, ok := next()
		trace = append(trace, fmt.Sprint(v, ok))
		v, ok = next()
		trace = append(trace, fmt.Sprint(v, ok))
		trace = append(trace, try(func() { trace = append(trace, fmt.Sprint("kept yield: ", kept(2))) }))
		stop()
		trace = append(trace, try(func() { trace = append(trace, fmt.Sprint("after stop: ", kept(3))) }))
		return trace
	})
}

// The same after stop, and after seq panicked.
func TestPullYieldAfterStopAndPanic(t *testing.T) {
	sameAsIterPull(t, func(pull pullFunc) (trace []string) {
		var kept func(int) bool
		next, stop := pull(func(yield func(int) bool) {
			kept = yield
			for yield(1) {
			}
		})
		next()
		stop()
		trace = append(trace, fmt.Sprint("after stop: ", kept(2)))
		next, _ = pull(func(yield func(int) bool) {
			kept = yield
			panic("seq panics")
		})
		trace = append(trace, try(func() { next() }))
		trace = append(trace, fmt.Sprint("after panic: ", kept(3)))
		return trace
	})
}

// Finding 3: yield called from outside while seq is suspended panics in
// Pull's terms, and the iterator goes on.
func TestPullYieldWhileSuspended(t *testing.T) {
	sameAsIterPull(t, func(pull pullFunc) (trace []string) {
		var kept func(int) bool
		next, stop := pull(func(yield func(int) bool) {
			kept = yield
			for i := 1; yield(i); i++ {
			}
		})
		v, ok := next()
		trace = append(trace, fmt.Sprint(v, ok))
		trace = append(trace, try(func() { kept(9) }))
		v, ok = next()
		trace = append(trace, fmt.Sprint(v, ok), "the iterator goes on")
		stop()
		return trace
	})
}

// next called by seq itself.
func TestPullNextFromSeq(t *testing.T) {
	sameAsIterPull(t, func(pull pullFunc) (trace []string) {
		var next func() (int, bool)
		var stop func()
		next, stop = pull(func(yield func(int) bool) {
			trace = append(trace, try(func() { next() }))
			yield(1)
			trace = append(trace, "seq goes on")
		})
		v, ok := next()
		trace = append(trace, fmt.Sprint(v, ok))
		v, ok = next()
		trace = append(trace, fmt.Sprint(v, ok))
		stop()
		return trace
	})
}

// During stop, next called by seq returns nothing, and yield returns false
// without suspending.
func TestPullNextAndYieldDuringStop(t *testing.T) {
	sameAsIterPull(t, func(pull pullFunc) (trace []string) {
		var next func() (int, bool)
		var stop func()
		next, stop = pull(func(yield func(int) bool) {
			if !yield(1) {
				v, ok := next()
				trace = append(trace, fmt.Sprint("next in stop: ", v, ok))
				trace = append(trace, fmt.Sprint("yield in stop: ", yield(2)))
			}
		})
		next()
		stop()
		return trace
	})
}

// The same for Pull2, whose messages name Pull2.
func TestPull2Misuse(t *testing.T) {
	scenario := func(pull func(iter.Seq2[int, string]) (func() (int, string, bool), func())) (trace []string) {
		var kept func(int, string) bool
		var next func() (int, string, bool)
		var stop func()
		next, stop = pull(func(yield func(int, string) bool) {
			kept = yield
			trace = append(trace, try(func() { next() }))
			yield(1, "a")
		})
		k, v, ok := next()
		trace = append(trace, fmt.Sprint(k, v, ok))
		trace = append(trace, try(func() { kept(2, "b") }))
		k, v, ok = next()
		trace = append(trace, fmt.Sprint(k, v, ok))
		trace = append(trace, fmt.Sprint(kept(3, "c")))
		stop()
		return trace
	}
	want := scenario(iter.Pull2[int, string])
	for i := range want {
		want[i] = strings.ReplaceAll(want[i], "iter.", "costack.")
	}
	for _, k := range misuseEngines() {
		got := scenario(func(seq iter.Seq2[int, string]) (func() (int, string, bool), func()) {
			next, stop, err := pull2On(k, seq)
			require.NoError(t, err)
			return next, stop
		})
		assert.Equal(t, want, got, k.String())
	}
}

// Documented differences. stop called by seq itself panics (iter.Pull
// returns from the pending next, and leaves seq's goroutine blocked);
// yield from another goroutine panics as every Yield from another
// goroutine does. Neither harms the iterator.
func TestPullDocumentedMisuse(t *testing.T) {
	for _, k := range misuseEngines() {
		t.Run(k.String(), func(t *testing.T) {
			var stop func()
			var msgs []string
			next, stop, err := pullOn(k, func(yield func(int) bool) {
				msgs = append(msgs, try(stop))
				done := make(chan string)
				go func() { done <- try(func() { yield(5) }) }()
				msgs = append(msgs, <-done)
				for i := 1; yield(i); i++ {
				}
			})
			require.NoError(t, err)
			v, ok := next()
			assert.Equal(t, 1, v)
			assert.True(t, ok)
			v, ok = next()
			assert.Equal(t, 2, v)
			assert.True(t, ok)
			stop()
			require.Len(t, msgs, 2)
			assert.Equal(t, "panic: costack.Pull: stop called by the sequence itself", msgs[0])
			assert.Contains(t, msgs[1], "panic: "+msgYieldGoroutine)
		})
	}
}

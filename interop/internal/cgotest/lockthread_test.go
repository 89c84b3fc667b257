package cgotest

// Thread locks and cgo callbacks across coroutine switches, on the engine
// of the run (issue 16, finding 1): a coroutine resumed from inside a cgo
// callback or from a locked goroutine runs on that thread, on every
// engine, and can be resumed from anywhere afterwards. On the portable
// engine each of these ended the program before its switches synced the
// runtime's lock record.

import (
	"runtime"
	"strings"
	"testing"

	"github.com/costack-dev/costack/costack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// onGoroutine runs f on a goroutine of its own and waits; the goroutine
// releases any lock f left (so that the runtime keeps the thread).
func onGoroutine(f func(unlock func())) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		locks := 0
		f(func() { locks++ })
		for range locks {
			runtime.UnlockOSThread()
		}
	}()
	<-done
}

func TestResumeFromCallbacksAndLockedGoroutines(t *testing.T) {
	needCgo(t)
	if ThreadID() < 0 {
		t.Skip("no gettid")
	}
	t.Log("engine:", costack.Engine())
	co := costack.New(func(y *costack.Yielder[int, int], _ int) int {
		for {
			y.Yield(ThreadID())
		}
	})
	defer co.Close()
	resume := func() int {
		tid, _, err := co.Resume(0)
		require.NoError(t, err)
		return tid
	}
	for round := range 3 {
		// From inside a cgo callback: the body runs on the callback's
		// thread.
		onGoroutine(func(func()) {
			CallBack(round, func() {
				want := ThreadID()
				assert.Equal(t, want, resume(), "resumed inside a callback")
			})
		})
		// From a plain goroutine.
		onGoroutine(func(func()) { resume() })
		// From a locked goroutine: the body runs on its thread.
		onGoroutine(func(locked func()) {
			runtime.LockOSThread()
			locked()
			assert.Equal(t, ThreadID(), resume(), "resumed by a locked goroutine")
		})
	}
}

// A body that locks its thread and yields stays on it: the resumer holds
// the lock meanwhile, and the body's own C calls and callbacks run on that
// thread.
func TestBodyLockAcrossYieldsAndCallbacks(t *testing.T) {
	needCgo(t)
	if ThreadID() < 0 {
		t.Skip("no gettid")
	}
	var tids []int
	co := costack.New(func(y *costack.Yielder[int, int], _ int) int {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for range 3 {
			tids = append(tids, ThreadID())
			CallBack(2, func() { tids = append(tids, ThreadID()) })
			y.Yield(0)
		}
		return 0
	})
	onGoroutine(func(func()) {
		// The body's lock is this goroutine's between the resumes; the
		// body releases it when it ends.
		for {
			_, done, err := co.Resume(0)
			require.NoError(t, err)
			if done {
				break
			}
			runtime.Gosched()
		}
	})
	require.Len(t, tids, 6)
	for _, tid := range tids {
		assert.Equal(t, tids[0], tid)
	}
}

// A yield inside a cgo callback the body made is refused with a panic on
// every engine (the C frames cannot be suspended), and the coroutine goes
// on; before, the portable engine ended the program.
func TestYieldInRawCallbackRefusedInProcess(t *testing.T) {
	needCgo(t)
	msg, after, err := rawCallbackYield()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(msg, "costack: Yield inside a cgo callback is not supported"), "refused with %q", msg)
	assert.Equal(t, "ended", after)
}

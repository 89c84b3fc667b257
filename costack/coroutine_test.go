package costack

import (
	"errors"
	"fmt"
	"iter"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEngineDescribesItself(t *testing.T) {
	e := Engine()
	t.Log("engine:", e)
	assert.True(t, strings.HasPrefix(e, "native") || strings.HasPrefix(e, "portable"), e)
}

func TestNothingRunsBeforeFirstResume(t *testing.T) {
	ran := false
	c := New(func(y *Yielder[int, int], in int) int { ran = true; return in })
	assert.False(t, ran)
	assert.Equal(t, Suspended, c.Status())
	out, done, err := c.Resume(7)
	require.NoError(t, err)
	assert.True(t, ran)
	assert.True(t, done)
	assert.Equal(t, 7, out)
	assert.Equal(t, Dead, c.Status())
}

func TestValuesFlowBothWays(t *testing.T) {
	// The body echoes the running sum of what it is sent; the first Resume's
	// argument is the body's parameter, later ones are what Yield returns.
	c := New(func(y *Yielder[int, string], in int) string {
		sum := in
		for i := 0; i < 3; i++ {
			sum += y.Yield(fmt.Sprint("sum=", sum))
		}
		return fmt.Sprint("final=", sum)
	})
	var outs []string
	for _, in := range []int{1, 10, 100, 1000} {
		out, done, err := c.Resume(in)
		require.NoError(t, err)
		assert.Equal(t, in == 1000, done)
		outs = append(outs, out)
	}
	assert.Equal(t, []string{"sum=1", "sum=11", "sum=111", "final=1111"}, outs)
	_, done, err := c.Resume(0)
	assert.True(t, done)
	assert.ErrorIs(t, err, ErrDead)
}

func TestStatusThroughLife(t *testing.T) {
	var inner *Coroutine[int, int]
	var outer *Coroutine[int, int]
	var seen []Status
	inner = New(func(y *Yielder[int, int], _ int) int {
		seen = append(seen, inner.Status(), outer.Status())
		return 0
	})
	outer = New(func(y *Yielder[int, int], _ int) int {
		seen = append(seen, outer.Status())
		_, _, err := inner.Resume(0)
		require.NoError(t, err)
		seen = append(seen, outer.Status(), inner.Status())
		y.Yield(1)
		return 2
	})
	assert.Equal(t, Suspended, outer.Status())
	_, _, err := outer.Resume(0)
	require.NoError(t, err)
	assert.Equal(t, Suspended, outer.Status())
	assert.Equal(t, []Status{Running, Running, Normal, Running, Dead}, seen)
	_, done, err := outer.Resume(0)
	require.NoError(t, err)
	assert.True(t, done)
	assert.Equal(t, Dead, outer.Status())
	for s, want := range map[Status]string{Suspended: "suspended", Running: "running", Normal: "normal", Dead: "dead", 9: "Status(9)"} {
		assert.Equal(t, want, s.String())
	}
}

func TestResumeSelfAndParentIsErrRunning(t *testing.T) {
	var outer, inner *Coroutine[int, int]
	var selfErr, parentErr, closeParentErr, closeSelfErr error
	inner = New(func(y *Yielder[int, int], _ int) int {
		_, _, parentErr = outer.Resume(0)
		closeParentErr = outer.Close()
		return 0
	})
	outer = New(func(y *Yielder[int, int], _ int) int {
		_, _, selfErr = outer.Resume(0)
		closeSelfErr = outer.Close()
		_, _, err := inner.Resume(0)
		require.NoError(t, err)
		return 1
	})
	out, done, err := outer.Resume(0)
	require.NoError(t, err)
	assert.True(t, done)
	assert.Equal(t, 1, out)
	assert.ErrorIs(t, selfErr, ErrRunning)
	assert.ErrorIs(t, parentErr, ErrRunning)
	assert.ErrorIs(t, closeSelfErr, ErrRunning)
	assert.ErrorIs(t, closeParentErr, ErrRunning)
}

func TestCloseRunsDefersInnermostFirst(t *testing.T) {
	var order []string
	yieldedAgain := false
	c := New(func(y *Yielder[struct{}, int], _ struct{}) int {
		defer func() { order = append(order, "outer") }()
		func() {
			defer func() { order = append(order, "middle") }()
			func() {
				defer func() { order = append(order, "inner") }()
				y.Yield(1)
				yieldedAgain = true // Yield must not return after Close.
				y.Yield(2)
			}()
		}()
		return 3
	})
	out, done, err := c.Resume(struct{}{})
	require.NoError(t, err)
	require.False(t, done)
	require.Equal(t, 1, out)
	require.NoError(t, c.Close())
	assert.Equal(t, []string{"inner", "middle", "outer"}, order)
	assert.False(t, yieldedAgain)
	assert.Equal(t, Dead, c.Status())
	_, done, err = c.Resume(struct{}{})
	assert.True(t, done)
	assert.ErrorIs(t, err, ErrDead)
	assert.NoError(t, c.Close(), "closing a dead coroutine")
}

func TestCloseNeverStartedDoesNotRun(t *testing.T) {
	ran := false
	c := New(func(y *Yielder[int, int], in int) int { ran = true; return 0 })
	require.NoError(t, c.Close())
	assert.False(t, ran)
	assert.Equal(t, Dead, c.Status())
	_, _, err := c.Resume(0)
	assert.ErrorIs(t, err, ErrDead)
}

func TestCloseReportsDeferredPanic(t *testing.T) {
	boom := errors.New("boom")
	c := New(func(y *Yielder[int, int], in int) int {
		defer func() { panic(boom) }()
		y.Yield(0)
		return 0
	})
	_, _, err := c.Resume(0)
	require.NoError(t, err)
	err = c.Close()
	var pe *PanicError
	require.ErrorAs(t, err, &pe)
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, Dead, c.Status())
}

func TestRecoveredCloseIsUnwoundAgain(t *testing.T) {
	var recovered []bool
	c := New(func(y *Yielder[int, int], in int) int {
		for i := 0; i < 3; i++ {
			func() {
				defer func() { recovered = append(recovered, IsClosing(recover())) }()
				y.Yield(i)
			}()
		}
		return 0
	})
	_, _, err := c.Resume(0)
	require.NoError(t, err)
	require.NoError(t, c.Close())
	// The first recover swallows the unwind; the next Yield unwinds again,
	// and so on until the body returns.
	assert.Equal(t, []bool{true, true, true}, recovered)
	assert.Equal(t, Dead, c.Status())
}

//go:noinline
func panicDeepInside(depth int, v any) {
	if depth == 0 {
		panic(v)
	}
	panicDeepInside(depth-1, v)
}

func TestPanicBecomesPanicError(t *testing.T) {
	sentinel := errors.New("sentinel")
	for _, v := range []any{"text", 42, sentinel} {
		c := New(func(y *Yielder[int, int], in int) int {
			y.Yield(1)
			panicDeepInside(5, v)
			return 0
		})
		_, _, err := c.Resume(0)
		require.NoError(t, err)
		out, done, err := c.Resume(0)
		assert.True(t, done)
		assert.Zero(t, out)
		var pe *PanicError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, v, pe.Value)
		assert.Contains(t, pe.Error(), fmt.Sprint(v))
		assert.Contains(t, string(pe.Stack), "panicDeepInside", "the stack shows the coroutine's frames")
		if v == sentinel {
			assert.ErrorIs(t, err, sentinel)
		} else {
			assert.Nil(t, pe.Unwrap())
		}
		assert.Equal(t, Dead, c.Status())
		_, _, err = c.Resume(0)
		assert.ErrorIs(t, err, ErrDead)
	}
}

func TestPanicNilIsReported(t *testing.T) {
	c := New(func(y *Yielder[int, int], in int) int { panic(nil) })
	_, _, err := c.Resume(0)
	var pe *PanicError
	require.ErrorAs(t, err, &pe)
	var pn *runtime.PanicNilError
	assert.ErrorAs(t, err, &pn)
}

func TestYielderKeptPastBodyPanics(t *testing.T) {
	var kept *Yielder[int, int]
	c := New(func(y *Yielder[int, int], in int) int {
		kept = y
		y.Yield(0)
		return 0
	})
	_, _, err := c.Resume(0)
	require.NoError(t, err)
	assert.PanicsWithValue(t, "costack: Yield of a suspended coroutine: a Yielder must not be kept past its body", func() { kept.Yield(1) })
	_, done, err := c.Resume(0)
	require.NoError(t, err)
	require.True(t, done)
	assert.PanicsWithValue(t, "costack: Yield of a dead coroutine: a Yielder must not be kept past its body", func() { kept.Yield(1) })
}

func TestYieldFromAnotherCoroutinePanics(t *testing.T) {
	var recovered any
	outer := New(func(y *Yielder[int, int], in int) int {
		inner := New(func(_ *Yielder[int, int], in int) int {
			defer func() { recovered = recover() }()
			y.Yield(1) // outer's Yielder, inside inner's body
			return 0
		})
		_, _, err := inner.Resume(0)
		require.NoError(t, err)
		return y.Yield(2)
	})
	out, done, err := outer.Resume(0)
	require.NoError(t, err)
	assert.False(t, done)
	assert.Equal(t, 2, out, "outer went on after the misuse")
	assert.Contains(t, fmt.Sprint(recovered), "resuming another coroutine")
	_, done, err = outer.Resume(0)
	require.NoError(t, err)
	assert.True(t, done)
}

func TestYieldFromAnotherGoroutinePanics(t *testing.T) {
	c := New(func(y *Yielder[int, int], in int) int {
		var recovered any
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { recovered = recover() }()
			y.Yield(1)
		}()
		wg.Wait()
		return y.Yield(len(fmt.Sprint(recovered)))
	})
	out, done, err := c.Resume(0)
	require.NoError(t, err)
	assert.False(t, done)
	assert.Positive(t, out, "the other goroutine's Yield panicked")
	require.NoError(t, c.Close())
}

func TestGoexitInBody(t *testing.T) {
	var bodyDeferred, resumerDeferred, afterResume bool
	c := New(func(y *Yielder[int, int], in int) int {
		defer func() { bodyDeferred = true }()
		y.Yield(0)
		runtime.Goexit()
		return 1
	})
	_, _, err := c.Resume(0)
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { resumerDeferred = true }()
		_, _, _ = c.Resume(0)
		afterResume = true
	}()
	<-done
	assert.True(t, bodyDeferred)
	assert.True(t, resumerDeferred)
	assert.False(t, afterResume, "the resuming goroutine exits")
	assert.Equal(t, Dead, c.Status())
	_, _, err = c.Resume(0)
	assert.ErrorIs(t, err, ErrDead)

	// The goroutine that ran the body is left in a sane state: a later
	// coroutine on a fresh goroutine works as usual.
	d := New(func(y *Yielder[int, int], in int) int { return in + 1 })
	out, _, err := d.Resume(1)
	require.NoError(t, err)
	assert.Equal(t, 2, out)
}

//go:noinline
func resumeAtDepth(depth int, c *Coroutine[int, int], in int) (int, bool, error) {
	var pad [16]int
	pad[depth%16] = depth
	if depth > 0 {
		return resumeAtDepth(depth-1, c, in+pad[depth%16]-depth)
	}
	return c.Resume(in)
}

func TestResumeFromManyGoroutinesAndDepths(t *testing.T) {
	type node struct {
		next *node
		v    int
	}
	c := New(func(y *Yielder[int, int], in int) int {
		var head *node
		local := [8]int{}
		p := &local
		sum := 0
		for i := 0; i < 200; i++ {
			head = &node{head, in}
			p[i%8] += in
			sum += in
			in = y.Yield(sum)
		}
		total := 0
		for n := head; n != nil; n = n.next {
			total += n.v
		}
		return total - sum + p[0]*0
	})
	want := 0
	for i := 0; i < 201; i++ {
		res := make(chan int)
		go func() {
			out, _, err := resumeAtDepth(i%37, c, i)
			assert.NoError(t, err)
			res <- out
		}()
		out := <-res
		if i < 200 {
			want += i
			assert.Equal(t, want, out)
		} else {
			assert.Equal(t, 0, out)
		}
		runtime.GC()
	}
	assert.Equal(t, Dead, c.Status())
}

// TestFootprint: a suspended coroutine holds more than a fresh one (its
// saved frames, or on the portable engine its goroutine's stack), and Close
// gives all of that back: the engine then holds no more than it did for the
// fresh coroutine.
func TestFootprint(t *testing.T) {
	c := New(func(y *Yielder[int, int], in int) int {
		y.Yield(0)
		return 0
	})
	fresh, freshEngine := c.Footprint(), c.s.co.Footprint()
	assert.GreaterOrEqual(t, fresh, sizeofState[int, int]())
	_, _, err := c.Resume(0)
	require.NoError(t, err)
	suspended, suspendedEngine := c.Footprint(), c.s.co.Footprint()
	assert.Greater(t, suspended, fresh, "a suspended coroutine holds its saved state")
	assert.Equal(t, suspended-fresh, suspendedEngine-freshEngine, "what it holds more is the engine's")
	t.Logf("footprint: fresh %d B, suspended %d B (%s)", fresh, suspended, Engine())
	require.NoError(t, c.Close())
	require.Equal(t, Dead, c.Status())
	assert.LessOrEqual(t, c.s.co.Footprint(), freshEngine, "Close released the saved state")
	assert.Equal(t, sizeofState[int, int](), c.Footprint())
}

func TestDroppedSuspendedCoroutineIsClosed(t *testing.T) {
	closed := make(chan struct{})
	func() {
		c := New(func(y *Yielder[int, int], in int) int {
			defer close(closed)
			y.Yield(0)
			return 0
		})
		_, _, err := c.Resume(0)
		require.NoError(t, err)
	}()
	collectUntilClosed(t, closed, "a dropped suspended coroutine was not closed")
}

// A handle dropped by its last Resume is not collected while the body runs
// (its finalizer would find the coroutine running and leave it): the
// coroutine is closed once it has yielded.
func TestDroppedDuringResumeIsClosedAfterItYields(t *testing.T) {
	closed := make(chan struct{})
	func() {
		c := New(func(y *Yielder[int, int], in int) int {
			defer close(closed)
			// The caller no longer refers to the handle: give the
			// collector and the finalizer goroutine every chance to run.
			for range 5 {
				runtime.GC()
				time.Sleep(time.Millisecond)
			}
			y.Yield(0)
			return 0
		})
		_, _, err := c.Resume(0)
		require.NoError(t, err)
	}()
	collectUntilClosed(t, closed, "a coroutine dropped while running was not closed after it yielded")
}

// collectUntilClosed runs the collector until ch is closed by a cleanup or a
// deferred call, and fails with msg if that takes more than ten seconds.
func collectUntilClosed(t *testing.T, ch chan struct{}, msg string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		select {
		case <-ch:
			return
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
	}
}

func TestDroppedCoroutineReferencesAreCollected(t *testing.T) {
	collected := make(chan struct{})
	func() {
		obj := new([64]byte)
		runtime.AddCleanup(obj, func(ch chan struct{}) { close(ch) }, collected)
		c := New(func(y *Yielder[int, int], in int) int {
			local := obj
			y.Yield(0)
			return int(local[0])
		})
		_, _, err := c.Resume(0)
		require.NoError(t, err)
	}()
	collectUntilClosed(t, collected, "an object referenced only by a dropped coroutine was not collected")
}

// pullScenario drives a pull iterator through a fixed script and records
// what it sees, so that costack.Pull can be compared with iter.Pull.
func pullScenario(pull func(iter.Seq[int]) (func() (int, bool), func()), panicAt int, stopAt int) (trace []string) {
	seq := func(yield func(int) bool) {
		defer func() { trace = append(trace, "seq deferred") }()
		for i := 0; i < 5; i++ {
			if i == panicAt {
				panic(fmt.Sprint("seq panic ", i))
			}
			if !yield(i) {
				trace = append(trace, fmt.Sprint("yield false at ", i))
				if yield(-1) {
					trace = append(trace, "yield true after false")
				}
				return
			}
		}
	}
	next, stop := pull(seq)
	call := func(name string, f func()) {
		defer func() {
			if r := recover(); r != nil {
				trace = append(trace, fmt.Sprint(name, " panicked: ", r))
			}
		}()
		f()
	}
	for i := 0; i < 7; i++ {
		if i == stopAt {
			call("stop", stop)
		}
		call("next", func() {
			v, ok := next()
			trace = append(trace, fmt.Sprint("next ", v, " ", ok))
		})
	}
	call("stop", stop)
	call("stop", stop)
	return trace
}

func TestPullMatchesIterPull(t *testing.T) {
	for _, panicAt := range []int{-1, 0, 2} {
		for _, stopAt := range []int{-1, 0, 1, 3, 6} {
			want := pullScenario(iter.Pull[int], panicAt, stopAt)
			got := pullScenario(Pull[int], panicAt, stopAt)
			assert.Equal(t, want, got, "panicAt=%d stopAt=%d", panicAt, stopAt)
		}
	}
}

func TestPull2MatchesIterPull2(t *testing.T) {
	seq := func(yield func(string, int) bool) {
		for i, s := range []string{"a", "b", "c"} {
			if !yield(s, i) {
				return
			}
		}
	}
	run := func(pull func(iter.Seq2[string, int]) (func() (string, int, bool), func())) (trace []string) {
		next, stop := pull(seq)
		for range 2 {
			k, v, ok := next()
			trace = append(trace, fmt.Sprint(k, v, ok))
		}
		stop()
		k, v, ok := next()
		return append(trace, fmt.Sprint(k, v, ok))
	}
	assert.Equal(t, run(iter.Pull2[string, int]), run(Pull2[string, int]))
}

func TestPullGoexitPropagates(t *testing.T) {
	var deferred, after bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { deferred = true }()
		next, _ := Pull(func(yield func(int) bool) { runtime.Goexit() })
		next()
		after = true
	}()
	<-done
	assert.True(t, deferred)
	assert.False(t, after)
}

func TestPullNextInsideSeqPanics(t *testing.T) {
	var next func() (int, bool)
	var stop func()
	var msg any
	next, stop = Pull(func(yield func(int) bool) {
		func() {
			defer func() { msg = recover() }()
			next()
		}()
		yield(1)
	})
	v, ok := next()
	assert.Equal(t, 1, v)
	assert.True(t, ok)
	assert.Equal(t, "costack.Pull: next called again before yield", fmt.Sprint(msg))
	stop()
}

// physicalCallers returns the names of the functions of the physical frames
// above its caller (an inlined call is not a frame).
func physicalCallers() []string {
	pcs := make([]uintptr, 32)
	var names []string
	for _, pc := range pcs[:runtime.Callers(2, pcs)] {
		if f := runtime.FuncForPC(pc - 1); f != nil {
			// FuncForPC names the innermost inlined function at pc but
			// gives the entry of the physical one.
			names = append(names, runtime.FuncForPC(f.Entry()).Name())
		}
	}
	return names
}

// On the native engine, Yielder.Yield is inlined into the body, so that no
// frame of this package sits between the body and the engine's switch in a
// suspended image (nor is returned through on every resume). Seen from a
// deferred call run while Close unwinds the body from its yield.
func TestYieldIsInlinedIntoTheBody(t *testing.T) {
	if !strings.HasPrefix(Engine(), "native") {
		t.Skip("portable engine:", Engine())
	}
	var frames []string
	c := New(func(y *Yielder[int, int], in int) int {
		defer func() { frames = physicalCallers() }()
		return y.Yield(in)
	})
	_, _, err := c.Resume(1)
	require.NoError(t, err)
	require.NoError(t, c.Close())
	i := slices.IndexFunc(frames, func(s string) bool { return strings.HasSuffix(s, "engine.yieldSwitch") })
	require.GreaterOrEqual(t, i, 0, "no switch frame in %v", frames)
	require.Greater(t, len(frames), i+1)
	assert.Contains(t, frames[i+1], "TestYieldIsInlinedIntoTheBody", "the frame above the switch is %s, not the body", frames[i+1])
}

// A coroutine's state is one allocation; with word-sized values it fits
// the runtime's 128-byte size class (the next is 144), which millions of
// suspended coroutines each pay. A field added to it, to the engine's
// Coroutine or to running.Co costs them 16 bytes each.
func TestStateSizeClass(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(state[int, int]{}), uintptr(128))
	assert.LessOrEqual(t, unsafe.Sizeof(state[float64, *int]{}), uintptr(128))
}

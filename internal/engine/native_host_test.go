//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package engine

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Moving a suspended native coroutine to a goroutine of its own (Host,
// native_host.go).

// hostDescent yields at the bottom of a descent d levels deep whose every
// level holds a heap pointer, a pointer into its own frame, a stack
// object and a deferred call (stack-allocated records from level 9 on:
// a loop defer), logging the deferred calls as they run; it returns the
// sum of the levels' values, read after the yield.
//
//go:noinline
func hostDescent(c *Coroutine, d int, log *[]int) int {
	box := &struct{ v int }{d}
	var local [4]int
	p := &local[d%4]
	*p = d
	for i := 0; i < 1+d%2; i++ {
		defer func(i int) { *log = append(*log, d*10+i) }(i) // a loop defer: a record
	}
	r := 0
	if d > 0 {
		r = hostDescent(c, d-1, log)
	} else {
		yieldAt(c, 2)
		runtime.GC()
		yieldAt(c, 3)
	}
	return r + box.v + *p
}

func TestHostContinuesBodyOnItsOwnGoroutine(t *testing.T) {
	needNative(t)
	var log []int
	got := -1
	var c *Coroutine
	c, err := NewOn(Native, func() { got = hostDescent(c, 40, &log) })
	require.NoError(t, err)
	o, _ := c.Resume()
	require.Equal(t, Yielded, o)
	image := c.ImageSize()
	require.Greater(t, image, 0)
	assert.True(t, c.HostAdvised(), "a %d-byte image walked in full", image)
	before, ok := frameFuncs(c)
	require.True(t, ok)

	require.True(t, c.Host())
	assert.False(t, c.Host(), "a coroutine moves once")
	assert.False(t, c.HostAdvised())
	// Moving, not yet moved: still the native image.
	assert.Equal(t, image, c.ImageSize())
	assert.GreaterOrEqual(t, c.Footprint(), image)
	pending, ok := frameFuncs(c)
	require.True(t, ok)
	assert.Equal(t, before, pending)

	runtime.GC()
	done := make(chan Outcome)
	go func() { o, _ := resumeAt(c, 5); done <- o }() // the move, from another goroutine
	require.Equal(t, Yielded, <-done)
	assert.Equal(t, 0, c.ImageSize(), "hosted: no image")
	after, ok := frameFuncs(c)
	require.True(t, ok)
	// The same frames, on the host: the body's (this package's, so Frames
	// would drop them all) from the yield up to run.
	assert.Equal(t, body(before), body(after))
	assert.Contains(t, body(after), "hostDescent")
	assert.Empty(t, log, "no deferred call ran")

	o, _ = c.Resume()
	require.Equal(t, Returned, o)
	assert.Equal(t, 2*(40*41/2), got, "every level's values survived the move")
	assert.Len(t, log, 41+20)
	assert.Equal(t, 0, log[0]/10, "innermost level's deferred call first")
	assert.Equal(t, 40, log[len(log)-1]/10)
}

// frameFuncs returns the functions of a suspended coroutine's frames,
// the engine's included.
func frameFuncs(c *Coroutine) ([]string, bool) {
	pcs, ok := c.Callers()
	var out []string
	it := runtime.CallersFrames(pcs)
	for {
		f, more := it.Next()
		if f.Function != "" {
			out = append(out, f.Function[strings.LastIndex(f.Function, ".")+1:])
		}
		if !more {
			return out, ok
		}
	}
}

// body returns the names from the first below the yield (yieldAt's
// frames) up to run, as one string.
func body(names []string) string {
	i, j := 0, len(names)
	for i < j && names[i] != "yieldAt" {
		i++
	}
	for i < j && names[i] == "yieldAt" {
		i++
	}
	for k := i; k < len(names); k++ {
		if names[k] == "run" {
			j = k + 1
			break
		}
	}
	return strings.Join(names[i:j], " ")
}

func TestHostedCoroutineIsClosedWithItsDefers(t *testing.T) {
	needNative(t)
	for _, resumeFirst := range []bool{false, true} {
		var log []int
		var c *Coroutine
		c, _ = NewOn(Native, func() { hostDescent(c, 12, &log) })
		c.Resume()
		require.True(t, c.Host())
		if resumeFirst {
			o, _ := c.Resume()
			require.Equal(t, Yielded, o)
		}
		// Closing moves it first if it has not (the unwind runs on the
		// host), and the host's goroutine ends (goleak, TestMain).
		o, p := c.Close()
		require.Equal(t, Returned, o)
		require.Nil(t, p)
		assert.True(t, c.Finished())
		assert.Len(t, log, 13+6, "resumed first: %v", resumeFirst)
	}
}

func TestHostedCoroutinePanicsAndExits(t *testing.T) {
	needNative(t)
	var c *Coroutine
	c, _ = NewOn(Native, func() {
		yieldAt(c, 30)
		panic("boom")
	})
	c.Resume()
	require.True(t, c.Host())
	o, p := c.Resume()
	require.Equal(t, Panicked, o)
	assert.Equal(t, "boom", p.Value)
	assert.Contains(t, string(p.Stack), "TestHostedCoroutinePanicsAndExits")

	deferred := false
	c, _ = NewOn(Native, func() {
		defer func() { deferred = true }()
		yieldAt(c, 30)
		runtime.Goexit()
	})
	c.Resume()
	require.True(t, c.Host())
	exited := make(chan bool)
	go func() {
		defer func() { exited <- true }()
		c.Resume()
		t.Error("Resume returned after the body's Goexit")
	}()
	<-exited
	assert.True(t, deferred)
	assert.True(t, c.Finished())
}

func TestHostedCoroutineNestsWithNativeOnes(t *testing.T) {
	needNative(t)
	var outer, inner, innermost *Coroutine
	var phases []Phase
	innermost, _ = NewOn(Native, func() {
		for {
			yieldAt(innermost, 3)
		}
	})
	inner, _ = NewOn(Native, func() {
		for i := 0; ; i++ {
			phases = append(phases, outer.Phase())
			innermost.Resume() // a native coroutine on the host's stack
			yieldAt(inner, 40)
		}
	})
	outer, _ = NewOn(Native, func() {
		for i := 0; ; i++ {
			inner.Resume()
			if i == 0 {
				require.True(t, inner.Host())
			}
			assert.Equal(t, Running, outer.Phase(), "the outer coroutine runs again after the inner one yields")
			yieldAt(outer, 2)
		}
	})
	for range 4 {
		o, _ := outer.Resume()
		require.Equal(t, Yielded, o)
	}
	assert.Equal(t, []Phase{Normal, Normal, Normal, Normal}, phases)
	assert.Equal(t, 0, inner.ImageSize())
	for _, c := range []*Coroutine{outer, inner, innermost} {
		o, _ := c.Close()
		assert.Equal(t, Returned, o)
	}
}

func TestHostedCoroutineKeepsItsThreadLock(t *testing.T) {
	needNative(t)
	if err := portableLocks(); err != nil {
		t.Skip(err)
	}
	var c *Coroutine
	locked := false
	c, _ = NewOn(Native, func() {
		yieldAt(c, 20)
		runtime.LockOSThread()
		yieldAt(c, 20)
		locked = lockedOSThread()
		runtime.UnlockOSThread()
	})
	c.Resume()
	require.True(t, c.Host())
	c.Resume()
	o, _ := c.Resume()
	require.Equal(t, Returned, o)
	assert.True(t, locked)
}

func TestHostMoveWaitsForRoom(t *testing.T) {
	needNative(t)
	var c *Coroutine
	got := -1
	c, _ = NewOn(Native, func() { got = bigFrames(c, 60) }) // ~250 KB of frames
	c.Resume()
	require.True(t, c.Host())
	old := debug.SetMaxStack(128 << 10)
	o, _ := c.Resume()
	debug.SetMaxStack(old)
	require.Equal(t, NoStack, o, "the host's stack may not grow to the image")
	assert.Equal(t, Suspended, c.Phase())
	assert.Greater(t, c.ImageSize(), 60*4096, "still moving, the image kept")
	o, _ = c.Resume()
	require.Equal(t, Returned, o)
	assert.Equal(t, 60*61/2, got)
}

func TestHostRefusesWhatItCannotMove(t *testing.T) {
	for _, k := range kinds() {
		var c *Coroutine
		c, _ = NewOn(k, func() { yieldAt(c, 1) })
		assert.False(t, c.Host(), "fresh")
		c.Resume()
		if k == Portable {
			assert.False(t, c.Host(), "portable already")
			assert.False(t, c.HostAdvised())
		} else {
			assert.False(t, c.HostAdvised(), "a small shaped image")
		}
		c.Resume()
		assert.False(t, c.Host(), "finished")
	}
}

func TestHostAdvisedByImage(t *testing.T) {
	needNative(t)
	var c *Coroutine
	depth := 0
	c, _ = NewOn(Native, func() {
		for {
			yieldAt(c, depth)
		}
	})
	advised := map[int]bool{}
	for _, d := range []int{2, 400} {
		depth = d
		for range 4 { // a shape once the chain recurs
			c.Resume()
		}
		advised[d] = c.HostAdvised()
	}
	assert.Equal(t, map[int]bool{2: false, 400: true}, advised)
	c.Close()
	assert.False(t, strings.Contains(c.String(), "running"))
}

package engine_test

import (
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/costack-dev/costack/internal/engine"
)

// stackLevel recurses d levels and yields twice at the bottom.
//
//go:noinline
func stackLevel(c **engine.Coroutine, d int) int {
	if d == 0 {
		engine.YieldOrUnwind(*c)
		engine.YieldOrUnwind(*c)
		return 1
	}
	return stackLevel(c, d-1) + 1
}

// resumeDeep resumes c d frames below here, on another goroutine (the
// native engine then relocates the image).
func resumeDeep(c *engine.Coroutine, d int) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		var rec func(int)
		rec = func(n int) {
			var pad [128]byte
			if n > 0 {
				rec(n - 1)
			} else {
				c.Resume()
			}
			runtime.KeepAlive(&pad)
		}
		rec(d)
	}()
	<-done
}

// A suspended coroutine's frames are its own, innermost first: the
// yield's caller, every level of the recursion, the body; none of the
// engine's, and the same after a resume from elsewhere. A coroutine that
// is not suspended has none.
func TestFrames(t *testing.T) {
	kinds := []engine.Kind{engine.Portable}
	if engine.Available(engine.Native) == nil {
		kinds = append(kinds, engine.Native)
	}
	for _, k := range kinds {
		for _, depth := range []int{0, 3, 200} {
			t.Run(k.String(), func(t *testing.T) {
				var c *engine.Coroutine
				var inBody []runtime.Frame
				c, err := engine.NewOn(k, func() {
					_, ok := c.Frames()
					assert.False(t, ok, "frames of the running coroutine")
					stackLevel(&c, depth)
					inBody = nil
				})
				require.NoError(t, err)
				_, ok := c.Frames()
				assert.False(t, ok, "frames of a fresh coroutine")

				check := func(when string) {
					t.Helper()
					frames, ok := c.Frames()
					require.True(t, ok, when)
					var names []string
					for _, f := range frames {
						names = append(names, f.Function[strings.LastIndex(f.Function, "/")+1:])
						assert.NotContains(t, f.Function, "costack/internal/engine.", "%s: an engine frame", when)
						assert.NotEmpty(t, f.File, when)
						assert.Positive(t, f.Line, when)
					}
					require.Len(t, names, depth+2, "%s: %v", when, names)
					for i := range depth + 1 {
						assert.Equal(t, "engine_test.stackLevel", names[i], "%s: frame %d", when, i)
					}
					assert.True(t, strings.HasPrefix(names[depth+1], "engine_test.TestFrames.func"), "%s: outermost %s", when, names[depth+1])
				}
				c.Resume()
				check("after the first yield")
				resumeDeep(c, 20)
				check("after a resume from another goroutine and depth")
				c.Resume()
				require.True(t, c.Finished())
				_, ok = c.Frames()
				assert.False(t, ok, "frames of a finished coroutine")
				assert.Nil(t, inBody)
			})
		}
	}
}

// Reading a coroutine's stack never makes a Resume or Close fail: while
// Callers holds the coroutine, they wait for it (a profile of a running
// program must not break it), and Phase says Suspended throughout.
func TestCallersDoNotRefuseResume(t *testing.T) {
	kinds := []engine.Kind{engine.Portable}
	if engine.Available(engine.Native) == nil {
		kinds = append(kinds, engine.Native)
	}
	// Resumes go on until the stack has been read this many times while
	// they run (bounded: a reader that never gets one in fails the test).
	const reads, maxRounds = 500, 5_000_000
	for _, k := range kinds {
		t.Run(k.String(), func(t *testing.T) {
			var c *engine.Coroutine
			c, err := engine.NewOn(k, func() {
				for {
					stackLevel(&c, 3)
				}
			})
			require.NoError(t, err)
			var n atomic.Int64
			stop, stopped := make(chan struct{}), make(chan string)
			go func() {
				defer close(stopped)
				for {
					select {
					case <-stop:
						return
					default:
					}
					if pcs, ok := c.Callers(); ok {
						if len(pcs) == 0 {
							stopped <- "no frames read from a suspended coroutine"
							return
						}
						n.Add(1)
					}
					if p := c.Phase(); p > engine.Finished {
						stopped <- "Phase reported " + p.String()
						return
					}
					runtime.Gosched() // let the resumer's goroutine in (one P)
				}
			}()
			rounds := 0
			for ; n.Load() < reads && rounds < maxRounds; rounds++ {
				o, p := c.Resume()
				require.Nil(t, p)
				require.Equal(t, engine.Yielded, o, "resume %d", rounds)
			}
			o, p := c.Close()
			close(stop)
			for msg := range stopped {
				t.Error(msg)
			}
			require.Nil(t, p)
			require.Equal(t, engine.Returned, o, "Close")
			require.True(t, c.Finished())
			require.GreaterOrEqual(t, n.Load(), int64(reads), "stacks read in %d resumes", rounds)
		})
	}
}

// AppendCallers reads into the buffer it is given (one buffer serves a
// profile of a million coroutines) and gives what Callers gives.
func TestAppendCallersReusesTheBuffer(t *testing.T) {
	kinds := []engine.Kind{engine.Portable}
	if engine.Available(engine.Native) == nil {
		kinds = append(kinds, engine.Native)
	}
	for _, k := range kinds {
		t.Run(k.String(), func(t *testing.T) {
			var c *engine.Coroutine
			c, err := engine.NewOn(k, func() { stackLevel(&c, 3) })
			require.NoError(t, err)
			o, _ := c.Resume()
			require.Equal(t, engine.Yielded, o)
			want, ok := c.Callers()
			require.True(t, ok)
			buf := make([]uintptr, 3, 256)
			got, ok := c.AppendCallers(buf)
			require.True(t, ok)
			assert.Equal(t, want, got, "from buf[:0]")
			assert.Same(t, &buf[:1][0], &got[0], "into buf's array")
			_, _ = c.Close()
		})
	}
}

package interop

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"github.com/costack-dev/costack/costack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nest calls fn n calls deep.
//
//go:noinline
func nest(n int, fn func()) {
	if n == 0 {
		fn()
		return
	}
	nest(n-1, fn)
}

// recurse is a legacy function using a lot of stack: depth frames, each
// with a local array. At the bottom it reports how many bytes of stack lie
// between its outermost frame and its innermost (top points at a local of
// the outermost frame; the runtime adjusts it if the stack moves).
//
//go:noinline
func recurse(depth int, top *byte) (sum int, used uintptr) {
	var pad [8]byte
	pad[depth%8] = byte(depth)
	if top == nil {
		top = &pad[0]
	}
	if depth == 0 {
		return int(pad[0]), uintptr(unsafe.Pointer(top)) - uintptr(unsafe.Pointer(&pad[0]))
	}
	s, u := recurse(depth-1, top)
	return s + int(pad[depth%8]), u
}

// recoverMessage runs fn and returns the message of the panic it raised,
// or "" if it returned.
func recoverMessage(fn func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	fn()
	return ""
}

func TestCallRunsFnOutsideCoroutines(t *testing.T) {
	ran := false
	Call(func() { ran = true })
	assert.True(t, ran)
	assert.Equal(t, 42, CallValue(func() int { return 42 }))
}

func TestYieldInsideCallPanicsNamingCall(t *testing.T) {
	for _, depth := range []int{0, 1, 100, 5000} {
		t.Run(fmt.Sprint("depth=", depth), func(t *testing.T) {
			co := costack.New(func(y *costack.Yielder[int, string], _ int) string {
				msg := recoverMessage(func() {
					Call(func() { nest(depth, func() { y.Yield("inside Call") }) })
				})
				// The guard is lifted once Call has returned, even by a
				// panic: the coroutine can still suspend.
				y.Yield("after Call: " + msg)
				return "done"
			})
			out, done, err := co.Resume(0)
			require.NoError(t, err)
			require.False(t, done)
			assert.Contains(t, out, "interop.Call")
			assert.True(t, strings.HasPrefix(out, "after Call: "), out)
			out, done, err = co.Resume(0)
			require.NoError(t, err)
			assert.True(t, done)
			assert.Equal(t, "done", out)
		})
	}
}

func TestYieldInsideCallValueEndsCoroutineWithClearError(t *testing.T) {
	co := costack.New(func(y *costack.Yielder[int, int], _ int) int {
		return CallValue(func() int { return y.Yield(1) })
	})
	_, done, err := co.Resume(0)
	assert.True(t, done)
	var pe *costack.PanicError
	require.ErrorAs(t, err, &pe)
	assert.Contains(t, fmt.Sprint(pe.Value), "interop.Call")
	assert.Equal(t, costack.Dead, co.Status())
}

func TestCoroutinesResumedInsideCallMayYield(t *testing.T) {
	outer := costack.New(func(y *costack.Yielder[int, int], _ int) int {
		sum := CallValue(func() int {
			inner := costack.New(func(yi *costack.Yielder[int, int], _ int) int {
				for i := 1; i <= 3; i++ {
					yi.Yield(i)
				}
				return 0
			})
			s := 0
			for {
				v, done, err := inner.Resume(0)
				if err != nil || done {
					return s
				}
				s += v
			}
		})
		y.Yield(sum)
		return -1
	})
	out, done, err := outer.Resume(0)
	require.NoError(t, err)
	assert.False(t, done)
	assert.Equal(t, 6, out)
	require.NoError(t, outer.Close())
}

func TestPanicInCallPropagatesAndLiftsGuard(t *testing.T) {
	co := costack.New(func(y *costack.Yielder[int, string], _ int) string {
		msg := recoverMessage(func() { Call(func() { nest(10, func() { panic("legacy failure") }) }) })
		y.Yield(msg)
		return ""
	})
	out, done, err := co.Resume(0)
	require.NoError(t, err)
	assert.False(t, done)
	assert.Equal(t, "legacy failure", out)
	require.NoError(t, co.Close())
}

const legacyDepth = 10_000

// TestDeepLegacyCallLeavesSmallFootprint: a coroutine that runs a
// 10,000-frame recursion inside Call suspends afterwards holding only its
// own frames, not the recursion's.
func TestDeepLegacyCallLeavesSmallFootprint(t *testing.T) {
	var used uintptr
	co := costack.New(func(y *costack.Yielder[int, int], _ int) int {
		for {
			var s int
			Call(func() { s, used = recurse(legacyDepth, nil) })
			y.Yield(s)
		}
	})
	defer func() { require.NoError(t, co.Close()) }()
	for range 3 {
		_, done, err := co.Resume(0)
		require.NoError(t, err)
		require.False(t, done)
	}
	fp := co.Footprint()
	t.Logf("engine %s: recursion used %d bytes of stack; suspended footprint %d bytes", costack.Engine(), used, fp)
	require.Greater(t, used, uintptr(legacyDepth*8), "the recursion should use stack")
	if !strings.HasPrefix(costack.Engine(), "native") {
		t.Log("portable engine: footprint not asserted")
		return
	}
	assert.Less(t, uintptr(fp), used/16, "a suspended coroutine must not hold the frames of a call that returned")
}

func BenchmarkCallDeepThenYield(b *testing.B) {
	co := costack.New(func(y *costack.Yielder[int, int], _ int) int {
		for {
			var s int
			Call(func() { s, _ = recurse(legacyDepth, nil) })
			y.Yield(s)
		}
	})
	defer co.Close()
	for b.Loop() {
		if _, _, err := co.Resume(0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(co.Footprint()), "footprint-B")
}

// BenchmarkYieldDeepWithoutCall is the contrast to
// BenchmarkCallDeepThenYield: the same recursion, but yielding at its
// bottom, so that every frame of it is part of the suspended coroutine.
func BenchmarkYieldDeepWithoutCall(b *testing.B) {
	co := costack.New(func(y *costack.Yielder[int, int], _ int) int {
		for {
			nest(legacyDepth, func() { y.Yield(0) })
		}
	})
	defer co.Close()
	for b.Loop() {
		if _, _, err := co.Resume(0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(co.Footprint()), "footprint-B")
}

func BenchmarkCallOverhead(b *testing.B) {
	co := costack.New(func(y *costack.Yielder[int, int], _ int) int {
		n := 0
		for {
			Call(func() { n++ })
			y.Yield(n)
		}
	})
	defer co.Close()
	for b.Loop() {
		if _, _, err := co.Resume(0); err != nil {
			b.Fatal(err)
		}
	}
}

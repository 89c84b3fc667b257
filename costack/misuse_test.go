package costack

// Misuse table tests: each documented misuse (see "Misuse" in doc.go), run
// on every engine available in this process, with the exact error or panic
// message it gets. Keep doc.go's list in step with this table.

import (
	"fmt"
	"reflect"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/costack-dev/costack/internal/engine"
)

// misuseEngines are the engines available in this process.
func misuseEngines() []engine.Kind {
	ks := []engine.Kind{engine.Portable}
	if engine.Available(engine.Native) == nil {
		ks = append(ks, engine.Native)
	}
	return ks
}

func mustNewOn[In, Out any](t *testing.T, k engine.Kind, body func(y *Yielder[In, Out], in In) Out) *Coroutine[In, Out] {
	t.Helper()
	c, err := newOn(k, body)
	require.NoError(t, err)
	return c
}

// recovered runs f and returns what it panicked with, as a string ("" if
// it did not panic).
func recovered(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

// onGoroutine runs f on a fresh goroutine and waits; it reports whether f
// returned (false: it exited through runtime.Goexit or panicked).
func onGoroutine(f func()) (returned bool) {
	done := make(chan bool)
	go func() {
		ok := false
		defer func() { done <- ok }()
		f()
		ok = true
	}()
	return <-done
}

// requirePanicErrorContains asserts that err is a *PanicError whose value,
// printed, contains substr.
func requirePanicErrorContains(t *testing.T, err error, substr string) {
	t.Helper()
	var pe *PanicError
	require.ErrorAs(t, err, &pe)
	assert.Contains(t, fmt.Sprint(pe.Value), substr)
}

// Panic messages pinned by the tests (substrings).
const (
	msgYieldDead      = "costack: Yield of a dead coroutine"
	msgYieldSuspended = "costack: Yield of a suspended coroutine"
	msgYieldNormal    = "costack: Yield of a coroutine that is resuming another coroutine"
	msgYieldGoroutine = "costack: Yield from another goroutine than the one running the coroutine's body"
	msgYieldNoYield   = "costack: Yield inside interop.Call"
)

type misuseCase struct {
	name string
	run  func(t *testing.T, k engine.Kind)
}

var misuseCases = []misuseCase{
	{"ResumeDeadAfterReturn", func(t *testing.T, k engine.Kind) {
		c := mustNewOn(t, k, func(y *Yielder[int, int], in int) int { return in + 1 })
		out, done, err := c.Resume(1)
		require.NoError(t, err)
		assert.Equal(t, 2, out)
		assert.True(t, done)
		out, done, err = c.Resume(5)
		assert.ErrorIs(t, err, ErrDead)
		assert.Equal(t, 0, out)
		assert.True(t, done)
		assert.Equal(t, Dead, c.Status())
	}},
	{"ResumeDeadAfterPanic", func(t *testing.T, k engine.Kind) {
		c := mustNewOn(t, k, func(y *Yielder[int, int], in int) int { panic("boom") })
		_, done, err := c.Resume(1)
		requirePanicErrorContains(t, err, "boom")
		assert.True(t, done)
		_, done, err = c.Resume(1)
		assert.ErrorIs(t, err, ErrDead)
		assert.True(t, done)
	}},
	{"ResumeDeadAfterClose", func(t *testing.T, k engine.Kind) {
		c := mustNewOn(t, k, func(y *Yielder[int, int], in int) int { y.Yield(1); return 2 })
		_, _, err := c.Resume(0)
		require.NoError(t, err)
		require.NoError(t, c.Close())
		_, done, err := c.Resume(0)
		assert.ErrorIs(t, err, ErrDead)
		assert.True(t, done)
	}},
	{"ResumeDeadAfterCloseBeforeStart", func(t *testing.T, k engine.Kind) {
		ran := false
		c := mustNewOn(t, k, func(y *Yielder[int, int], in int) int { ran = true; return 0 })
		require.NoError(t, c.Close())
		_, done, err := c.Resume(0)
		assert.ErrorIs(t, err, ErrDead)
		assert.True(t, done)
		assert.False(t, ran, "a coroutine closed before its first resume never runs")
	}},
	{"ResumeSelfIsErrRunning", func(t *testing.T, k engine.Kind) {
		var self *Coroutine[int, int]
		var status Status
		var done bool
		var err error
		self = mustNewOn(t, k, func(y *Yielder[int, int], in int) int {
			status = self.Status()
			_, done, err = self.Resume(0)
			return 7
		})
		out, fin, err2 := self.Resume(0)
		require.NoError(t, err2)
		assert.Equal(t, 7, out, "the body goes on after the failed Resume")
		assert.True(t, fin)
		assert.Equal(t, Running, status)
		assert.ErrorIs(t, err, ErrRunning)
		assert.False(t, done)
	}},
	{"ResumeNormalIsErrRunning", func(t *testing.T, k engine.Kind) {
		var a, b *Coroutine[int, int]
		var status Status
		var err error
		b = mustNewOn(t, k, func(y *Yielder[int, int], in int) int {
			status = a.Status()
			_, _, err = a.Resume(0)
			return 0
		})
		a = mustNewOn(t, k, func(y *Yielder[int, int], in int) int {
			_, _, e := b.Resume(0)
			require.NoError(t, e)
			return 1
		})
		out, done, e := a.Resume(0)
		require.NoError(t, e)
		assert.Equal(t, 1, out)
		assert.True(t, done)
		assert.Equal(t, Normal, status)
		assert.ErrorIs(t, err, ErrRunning)
	}},
	{"CloseRunningIsErrRunning", func(t *testing.T, k engine.Kind) {
		var self *Coroutine[int, int]
		var err error
		self = mustNewOn(t, k, func(y *Yielder[int, int], in int) int {
			err = self.Close()
			return y.Yield(1) + 1
		})
		out, done, e := self.Resume(0)
		require.NoError(t, e)
		assert.ErrorIs(t, err, ErrRunning)
		assert.Equal(t, 1, out, "the body goes on after the failed Close")
		assert.False(t, done)
		out, done, e = self.Resume(9)
		require.NoError(t, e)
		assert.Equal(t, 10, out)
		assert.True(t, done)
	}},
	{"CloseNormalIsErrRunning", func(t *testing.T, k engine.Kind) {
		var a, b *Coroutine[int, int]
		var err error
		b = mustNewOn(t, k, func(y *Yielder[int, int], in int) int {
			err = a.Close()
			return 0
		})
		a = mustNewOn(t, k, func(y *Yielder[int, int], in int) int {
			_, _, e := b.Resume(0)
			require.NoError(t, e)
			return 1
		})
		out, _, e := a.Resume(0)
		require.NoError(t, e)
		assert.Equal(t, 1, out)
		assert.ErrorIs(t, err, ErrRunning)
		assert.Equal(t, Dead, a.Status())
	}},
	{"CloseDeadIsNil", func(t *testing.T, k engine.Kind) {
		c := mustNewOn(t, k, func(y *Yielder[int, int], in int) int { return 0 })
		_, _, err := c.Resume(0)
		require.NoError(t, err)
		assert.NoError(t, c.Close())
		assert.NoError(t, c.Close())
		assert.Equal(t, Dead, c.Status())
	}},
	{"YieldKeptAfterBodyEnded", func(t *testing.T, k engine.Kind) {
		var kept *Yielder[int, int]
		c := mustNewOn(t, k, func(y *Yielder[int, int], in int) int { kept = y; return 0 })
		_, _, err := c.Resume(0)
		require.NoError(t, err)
		assert.Contains(t, recovered(func() { kept.Yield(1) }), msgYieldDead)
		assert.Equal(t, Dead, c.Status())
	}},
	{"YieldKeptAfterClose", func(t *testing.T, k engine.Kind) {
		var kept *Yielder[int, int]
		c := mustNewOn(t, k, func(y *Yielder[int, int], in int) int { kept = y; return y.Yield(1) })
		_, _, err := c.Resume(0)
		require.NoError(t, err)
		require.NoError(t, c.Close())
		assert.Contains(t, recovered(func() { kept.Yield(1) }), msgYieldDead)
	}},
	{"YieldKeptWhileSuspended", func(t *testing.T, k engine.Kind) {
		var kept *Yielder[int, int]
		c := mustNewOn(t, k, func(y *Yielder[int, int], in int) int { kept = y; return y.Yield(1) + 1 })
		_, _, err := c.Resume(0)
		require.NoError(t, err)
		assert.Contains(t, recovered(func() { kept.Yield(2) }), msgYieldSuspended)
		// The coroutine is unharmed.
		assert.Equal(t, Suspended, c.Status())
		out, done, err := c.Resume(4)
		require.NoError(t, err)
		assert.Equal(t, 5, out)
		assert.True(t, done)
	}},
	{"YieldFromAnotherCoroutinesBodyWhileNormal", func(t *testing.T, k engine.Kind) {
		// b's body uses the Yielder of a, which is resuming b.
		var ya *Yielder[int, int]
		b := mustNewOn(t, k, func(y *Yielder[int, int], in int) int { ya.Yield(1); return 0 })
		a := mustNewOn(t, k, func(y *Yielder[int, int], in int) int {
			ya = y
			_, done, err := b.Resume(0)
			assert.True(t, done)
			requirePanicErrorContains(t, err, msgYieldNormal)
			return y.Yield(2) + 1
		})
		out, done, err := a.Resume(0)
		require.NoError(t, err)
		assert.Equal(t, 2, out, "a goes on after b's misuse")
		assert.False(t, done)
		out, done, err = a.Resume(6)
		require.NoError(t, err)
		assert.Equal(t, 7, out)
		assert.True(t, done)
	}},
	{"YieldFromAnotherCoroutinesBodyWhileSuspended", func(t *testing.T, k engine.Kind) {
		var ya *Yielder[int, int]
		a := mustNewOn(t, k, func(y *Yielder[int, int], in int) int { ya = y; return y.Yield(1) + 1 })
		_, _, err := a.Resume(0)
		require.NoError(t, err)
		b := mustNewOn(t, k, func(y *Yielder[int, int], in int) int { ya.Yield(1); return 0 })
		_, done, err := b.Resume(0)
		assert.True(t, done)
		requirePanicErrorContains(t, err, msgYieldSuspended)
		out, done, err := a.Resume(2)
		require.NoError(t, err)
		assert.Equal(t, 3, out)
		assert.True(t, done)
	}},
	{"YieldFromAnotherGoroutine", func(t *testing.T, k engine.Kind) {
		var msg string
		c := mustNewOn(t, k, func(y *Yielder[int, int], in int) int {
			onGoroutine(func() { msg = recovered(func() { y.Yield(1) }) })
			return y.Yield(2) + 1
		})
		out, done, err := c.Resume(0)
		require.NoError(t, err)
		assert.Contains(t, msg, msgYieldGoroutine)
		assert.Equal(t, 2, out, "the body goes on after the misuse")
		assert.False(t, done)
		out, done, err = c.Resume(3)
		require.NoError(t, err)
		assert.Equal(t, 4, out)
		assert.True(t, done)
	}},
	{"YieldInsideNoYieldCall", func(t *testing.T, k engine.Kind) {
		// NoYield is what interop.Call runs its function in.
		var msg string
		c := mustNewOn(t, k, func(y *Yielder[int, int], in int) int {
			msg = recovered(func() { NoYield(func() { y.Yield(1) }) })
			return y.Yield(2) + 1
		})
		out, done, err := c.Resume(0)
		require.NoError(t, err)
		assert.Contains(t, msg, msgYieldNoYield)
		assert.Equal(t, 2, out)
		assert.False(t, done)
		out, _, err = c.Resume(3)
		require.NoError(t, err)
		assert.Equal(t, 4, out)
	}},
	{"GoexitInBody", func(t *testing.T, k engine.Kind) {
		var events []string
		c := mustNewOn(t, k, func(y *Yielder[int, int], in int) int {
			defer func() { events = append(events, "body defer") }()
			y.Yield(1)
			runtime.Goexit()
			return 0
		})
		_, _, err := c.Resume(0)
		require.NoError(t, err)
		returned := onGoroutine(func() {
			defer func() { events = append(events, "resumer defer") }()
			_, _, _ = c.Resume(0)
			events = append(events, "after Resume")
		})
		assert.False(t, returned, "the resuming goroutine exits")
		assert.Equal(t, []string{"body defer", "resumer defer"}, events)
		assert.Equal(t, Dead, c.Status())
		_, done, err := c.Resume(0)
		assert.ErrorIs(t, err, ErrDead)
		assert.True(t, done)
	}},
	{"GoexitInNestedBody", func(t *testing.T, k engine.Kind) {
		// Goexit in b unwinds a, which resumed b, and a's resumer.
		var events []string
		b := mustNewOn(t, k, func(y *Yielder[int, int], in int) int {
			defer func() { events = append(events, "b defer") }()
			runtime.Goexit()
			return 0
		})
		a := mustNewOn(t, k, func(y *Yielder[int, int], in int) int {
			defer func() { events = append(events, "a defer") }()
			_, _, _ = b.Resume(0)
			events = append(events, "a after Resume")
			return 0
		})
		returned := onGoroutine(func() {
			defer func() { events = append(events, "resumer defer") }()
			_, _, _ = a.Resume(0)
		})
		assert.False(t, returned)
		assert.Equal(t, []string{"b defer", "a defer", "resumer defer"}, events)
		assert.Equal(t, Dead, a.Status())
		assert.Equal(t, Dead, b.Status())
	}},
	{"YieldDuringPanic", func(t *testing.T, k engine.Kind) {
		// A deferred call yields while the body panics. On the portable
		// engine that is an ordinary yield and the panic goes on when the
		// coroutine is resumed; the native engine may refuse the yield.
		var events []string
		c := mustNewOn(t, k, func(y *Yielder[int, int], in int) int {
			defer func() {
				events = append(events, fmt.Sprint("resumed with ", y.Yield(1)))
			}()
			panic("boom")
		})
		works := []string{"resume 1 false <nil>", "resumed with 5", "resume 0 true costack: coroutine panicked: boom"}
		checkWorksOrRefuses(t, k, c, &events, works)
	}},
	{"YieldDuringPanicAfterRecover", func(t *testing.T, k engine.Kind) {
		var events []string
		c := mustNewOn(t, k, func(y *Yielder[int, int], in int) (out int) {
			defer func() {
				r := recover()
				out = y.Yield(1) + 1
				events = append(events, fmt.Sprint("recovered ", r, ", returning ", out))
			}()
			panic("boom")
		})
		works := []string{"resume 1 false <nil>", "recovered boom, returning 6", "resume 6 true <nil>"}
		checkWorksOrRefuses(t, k, c, &events, works)
	}},
	{"YieldDuringGoexit", func(t *testing.T, k engine.Kind) {
		// A deferred call yields while the body exits through Goexit. On
		// the portable engine that is an ordinary yield, and the exit goes
		// on when the coroutine is resumed; the native engine may refuse.
		var events []string
		c := mustNewOn(t, k, func(y *Yielder[int, int], in int) int {
			defer func() {
				events = append(events, fmt.Sprint("resumed with ", y.Yield(1)))
			}()
			runtime.Goexit()
			return 0
		})
		var out int
		var err error
		returned := onGoroutine(func() {
			defer func() { events = append(events, "resumer 1 defer") }()
			out, _, err = c.Resume(0)
		})
		if refuses(k) && !returned {
			// Refused: the refusal is a panic during Goexit, which the
			// engine recovers at the bottom of the body; as with any panic
			// recovered during Goexit, the exit goes on, so the first
			// resumer exits and nobody sees the message.
			assert.Equal(t, []string{"resumer 1 defer"}, events)
			assert.Equal(t, Dead, c.Status())
			t.Logf("native engine refuses")
			return
		}
		require.True(t, returned)
		require.NoError(t, err)
		assert.Equal(t, 1, out)
		assert.Equal(t, Suspended, c.Status())
		returned = onGoroutine(func() {
			defer func() { events = append(events, "resumer 2 defer") }()
			_, _, _ = c.Resume(5)
			events = append(events, "after Resume")
		})
		assert.False(t, returned, "the exit goes on in the second resumer")
		assert.Equal(t, []string{"resumer 1 defer", "resumed with 5", "resumer 2 defer"}, events)
		assert.Equal(t, Dead, c.Status())
	}},
	{"YieldInsideReflectCall", func(t *testing.T, k engine.Kind) {
		var events []string
		c := mustNewOn(t, k, func(y *Yielder[int, int], in int) int {
			fn := func(a int) int {
				b := y.Yield(a)
				events = append(events, fmt.Sprint("resumed with ", b))
				return a + b
			}
			res := reflect.ValueOf(fn).Call([]reflect.Value{reflect.ValueOf(1)})
			return int(res[0].Int())
		})
		works := []string{"resume 1 false <nil>", "resumed with 5", "resume 6 true <nil>"}
		checkWorksOrRefuses(t, k, c, &events, works)
	}},
	{"YieldInsideReflectMakeFunc", func(t *testing.T, k engine.Kind) {
		var events []string
		c := mustNewOn(t, k, func(y *Yielder[int, int], in int) int {
			var fn func(int) int
			reflect.ValueOf(&fn).Elem().Set(reflect.MakeFunc(reflect.TypeOf(fn), func(args []reflect.Value) []reflect.Value {
				a := int(args[0].Int())
				b := y.Yield(a)
				events = append(events, fmt.Sprint("resumed with ", b))
				return []reflect.Value{reflect.ValueOf(a + b)}
			}))
			return fn(1)
		})
		works := []string{"resume 1 false <nil>", "resumed with 5", "resume 6 true <nil>"}
		checkWorksOrRefuses(t, k, c, &events, works)
	}},
	{"YieldWithPendingLoopDefers", func(t *testing.T, k engine.Kind) {
		// Defers in a loop are never open-coded: their heap records hang
		// off the goroutine while the body runs. The native engine
		// detaches them on Yield and relinks them on Resume, so this
		// works exactly like portable.
		var events []string
		c := mustNewOn(t, k, func(y *Yielder[int, int], in int) int {
			for i := range 2 {
				defer func() { events = append(events, fmt.Sprint("loop defer ", i)) }()
			}
			b := y.Yield(1)
			events = append(events, fmt.Sprint("resumed with ", b))
			return b + 1
		})
		works := []string{"resume 1 false <nil>", "resumed with 5", "loop defer 1", "loop defer 0", "resume 6 true <nil>"}
		checkWorksOrRefuses(t, k, c, &events, works, "loop defer 1", "loop defer 0")
		assert.Equal(t, works, events, "loop defers are supported on every engine")
	}},
	{"YieldWithPendingStackDeferRecord", func(t *testing.T, k engine.Kind) {
		// A function with a defer in a loop has no open-coded defers: its
		// other defers get records in its frame (stack-allocated), which
		// the native engine carries across the yield with the image.
		var events []string
		c := mustNewOn(t, k, func(y *Yielder[int, int], in int) int {
			defer func() { events = append(events, "plain defer") }()
			for i := range 2 {
				defer func() { events = append(events, fmt.Sprint("loop defer ", i)) }()
			}
			b := y.Yield(1)
			events = append(events, fmt.Sprint("resumed with ", b))
			return b + 1
		})
		works := []string{"resume 1 false <nil>", "resumed with 5", "loop defer 1", "loop defer 0", "plain defer", "resume 6 true <nil>"}
		checkWorksOrRefuses(t, k, c, &events, works, "loop defer 1", "loop defer 0", "plain defer")
		assert.Equal(t, works, events, "stack-allocated defer records are supported on every engine")
	}},
}

// refuses reports whether engine k may refuse the yields the native engine
// refuses: the native engine, and the portable engine in strict mode.
func refuses(k engine.Kind) bool { return k == engine.Native || Strict() }

// checkWorksOrRefuses resumes c (with 0, then 5) and checks the events
// against works, what the portable engine does. On the native engine (and
// the portable engine in strict mode) the engine may instead refuse the
// yield: the first Resume then reports a
// *PanicError saying the yield is not supported on the native engine, the
// coroutine is dead, and the events before that Resume are unwound (the
// body's deferred calls).
func checkWorksOrRefuses(t *testing.T, k engine.Kind, c *Coroutine[int, int], events *[]string, works []string, unwound ...string) {
	t.Helper()
	resume := func(in int) error {
		out, done, err := c.Resume(in)
		msg := "<nil>"
		if err != nil {
			msg = err.Error()
		}
		*events = append(*events, fmt.Sprint("resume ", out, " ", done, " ", msg))
		return err
	}
	err := resume(0)
	if err == nil {
		_ = resume(5)
	}
	if refuses(k) && err != nil {
		var pe *PanicError
		require.ErrorAs(t, err, &pe)
		msg := fmt.Sprint(pe.Value)
		assert.Contains(t, msg, "Yield", "a refused yield must say why")
		assert.Contains(t, msg, "is not supported on the native engine", "a refused yield must say why")
		assert.Equal(t, Dead, c.Status())
		assert.Equal(t, append(unwound, "resume 0 true "+err.Error()), *events)
		t.Logf("native engine refuses: %s", msg)
		return
	}
	assert.Equal(t, works, *events)
	assert.Equal(t, Dead, c.Status())
}

func TestMisuse(t *testing.T) {
	for _, k := range misuseEngines() {
		for _, tc := range misuseCases {
			t.Run(k.String()+"/"+tc.name, func(t *testing.T) { tc.run(t, k) })
		}
	}
}

func TestMisuseNewNilBody(t *testing.T) {
	msg := recovered(func() { New[int, int](nil) })
	assert.Contains(t, msg, "costack: New with a nil body")
}

// A Yielder that no coroutine gave out (a zero one) is the state of no
// coroutine: Yield on it panics clearly and changes nothing.
func TestMisuseZeroYielder(t *testing.T) {
	var y Yielder[int, int]
	msg := recovered(func() { y.Yield(1) })
	assert.Contains(t, msg, "never set up")
	msg = recovered(func() { new(Yielder[string, []byte]).Yield(nil) })
	assert.Contains(t, msg, "never set up")
}

// A copy of a Yielder is a copy of the coroutine's state: a Yield through
// it panics (on the native engine it would otherwise save the image into
// the original's block), and the coroutine itself goes on. The copy is made
// with reflect, as go vet reports a plain one.
func TestMisuseCopiedYielder(t *testing.T) {
	for _, k := range misuseEngines() {
		t.Run(k.String(), func(t *testing.T) {
			var msg string
			c := mustNewOn(t, k, func(y *Yielder[int, int], in int) int {
				cp := new(Yielder[int, int])
				reflect.ValueOf(cp).Elem().Set(reflect.ValueOf(y).Elem())
				msg = recovered(func() { cp.Yield(1) })
				return y.Yield(in+1) + 1
			})
			out, done, err := c.Resume(1)
			require.NoError(t, err)
			assert.False(t, done)
			assert.Equal(t, 2, out)
			assert.Contains(t, msg, msgYieldGoroutine)
			out, done, err = c.Resume(10)
			require.NoError(t, err)
			assert.True(t, done)
			assert.Equal(t, 11, out)
		})
	}
}

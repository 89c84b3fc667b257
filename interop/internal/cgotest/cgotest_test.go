package cgotest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/costack-dev/costack/costack"
	"github.com/costack-dev/costack/interop"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func needCgo(t *testing.T) {
	t.Helper()
	if !Available {
		t.Skip("built without cgo")
	}
}

// recoverMessage runs fn and returns the message of the panic it raised,
// or "" if it returned.
func recoverMessage(fn func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
			if msg == "" {
				msg = fmt.Sprintf("%#v", r)
			}
		}
	}()
	fn()
	return ""
}

func TestCCallsFromCoroutineBodies(t *testing.T) {
	needCgo(t)
	const n = 8
	cos := make([]*costack.Coroutine[int, int], n)
	for i := range cos {
		cos[i] = costack.New(func(y *costack.Yielder[int, int], in int) int {
			sum := 0
			for in >= 0 {
				sum = Add(sum, in) // a plain C call
				CallBack(20, func() { sum = Add(sum, 1) })
				interop.Call(func() { CallBack(50, func() { sum = Add(sum, 1) }) })
				in = y.Yield(sum)
			}
			return sum
		})
	}
	want := make([]int, n)
	for round := range 20 {
		for i, co := range cos {
			v, done, err := co.Resume(round * i)
			require.NoError(t, err)
			require.False(t, done)
			want[i] += round*i + 2
			assert.Equal(t, want[i], v)
		}
	}
	for i, co := range cos {
		v, done, err := co.Resume(-1)
		require.NoError(t, err)
		assert.True(t, done)
		assert.Equal(t, want[i], v)
	}
}

// TestYieldInGuardedCallbackPanics: a yield attempted in a C callback that
// runs under interop.Call — around the C call, or inside the callback as
// the Go side of a //export function should do — panics naming
// interop.Call, on every engine, and the coroutine goes on normally.
func TestYieldInGuardedCallbackPanics(t *testing.T) {
	needCgo(t)
	t.Log("engine:", costack.Engine())
	for _, where := range []string{"around the C call", "inside the callback"} {
		t.Run(where, func(t *testing.T) {
			co := costack.New(func(y *costack.Yielder[int, string], _ int) string {
				var msg string
				if where == "around the C call" {
					msg = recoverMessage(func() { interop.Call(func() { CallBack(10, func() { y.Yield("yielded from C") }) }) })
				} else {
					msg = recoverMessage(func() { CallBack(10, func() { interop.Call(func() { y.Yield("yielded from C") }) }) })
				}
				y.Yield(msg)
				return fmt.Sprint("C still works: ", Add(2, 3))
			})
			out, done, err := co.Resume(0)
			require.NoError(t, err)
			require.False(t, done)
			assert.Contains(t, out, "interop.Call")
			out, done, err = co.Resume(0)
			require.NoError(t, err)
			assert.True(t, done)
			assert.Equal(t, "C still works: 5", out)
		})
	}
}

// TestYieldInGuardedCallbackUnrecovered: the same panic, not recovered by
// the body, leaves the coroutine cleanly dead with the error from Resume.
func TestYieldInGuardedCallbackUnrecovered(t *testing.T) {
	needCgo(t)
	co := costack.New(func(y *costack.Yielder[int, int], _ int) int {
		interop.Call(func() { CallBack(10, func() { y.Yield(1) }) })
		return 0
	})
	_, done, err := co.Resume(0)
	assert.True(t, done)
	var pe *costack.PanicError
	require.ErrorAs(t, err, &pe)
	assert.Contains(t, fmt.Sprint(pe.Value), "interop.Call")
	assert.Equal(t, costack.Dead, co.Status())
	_, _, err = co.Resume(0)
	assert.ErrorIs(t, err, costack.ErrDead)
	// The goroutine is fine: more C calls and coroutines work.
	assert.Equal(t, 7, Add(3, 4))
}

const rawChildEnv = "COSTACK_CGOTEST_RAW_CHILD"

// rawCallbackYield yields from a C callback with no interop.Call guard and
// returns the message of the panic that refused it ("" if none did), and
// what the coroutine did afterwards.
func rawCallbackYield() (msg, after string, err error) {
	co := costack.New(func(y *costack.Yielder[int, string], _ int) string {
		m := recoverMessage(func() { CallBack(10, func() { y.Yield("yielded from C") }) })
		y.Yield("refused: " + m)
		return "ended"
	})
	out, done, err := co.Resume(0)
	if err != nil || done {
		return "", out, err
	}
	if !strings.HasPrefix(out, "refused: ") {
		_ = co.Close()
		return "", out, nil
	}
	msg = strings.TrimPrefix(out, "refused: ")
	after, _, err = co.Resume(0)
	return msg, after, err
}

// TestYieldInRawCallbackChild is the body of TestYieldInRawCallbackIsRefused
// when it has to run in a child process; it does nothing otherwise.
func TestYieldInRawCallbackChild(t *testing.T) {
	if os.Getenv(rawChildEnv) == "" {
		t.Skip("runs only as a child of TestYieldInRawCallbackIsRefused")
	}
	msg, after, err := rawCallbackYield()
	fmt.Printf("RESULT msg=%q after=%q err=%v\n", msg, after, err)
}

// TestYieldInRawCallbackIsRefused: a yield attempted in a C callback with
// no guard at all must be refused with a panic (with C frames in the chain,
// the native engine cannot copy the stack). On the native engine that is
// checked in process; on the portable engine the yield would reach the
// runtime's coroutine switch inside a cgo callback, where the runtime
// throws (an unrecoverable fatal error), so it runs in a child process and
// the test reports what happened.
func TestYieldInRawCallbackIsRefused(t *testing.T) {
	needCgo(t)
	if strings.HasPrefix(costack.Engine(), "native") {
		msg, after, err := rawCallbackYield()
		t.Logf("refused with: %s", msg)
		require.NoError(t, err)
		assert.NotEmpty(t, msg, "the yield must be refused with a panic")
		assert.Equal(t, "ended", after, "the coroutine must still be usable")
		return
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^TestYieldInRawCallbackChild$", "-test.v")
	cmd.Env = append(os.Environ(), rawChildEnv+"=1")
	out, _ := cmd.CombinedOutput()
	text := string(out)
	if i := strings.Index(text, "RESULT "); i >= 0 {
		line := text[i:]
		line, _, _ = strings.Cut(line, "\n")
		t.Log(line)
		assert.NotContains(t, line, `msg=""`, "the yield must be refused with a panic")
		assert.Contains(t, line, `after="ended"`, "the coroutine must still be usable")
		return
	}
	first, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	require.Contains(t, text, "fatal error", "the child neither refused the yield nor crashed cleanly:\n%s", text)
	t.Skipf("engine %s does not refuse a yield inside a raw C callback; the runtime ends the process instead: %q. "+
		"Run callbacks under interop.Call (see TestYieldInGuardedCallbackPanics).", costack.Engine(), first)
}

// TestCOnThread: C code called through an interop.Thread — directly, from
// a task with BlockOn, and from a whole scheduler loop run on the thread —
// always runs on the thread's one OS thread.
func TestCOnThread(t *testing.T) {
	needCgo(t)
	th := interop.NewThread()
	defer th.Close()
	want, err := interop.DoValue(th, ThreadID)
	require.NoError(t, err)
	if want < 0 {
		t.Skip("no gettid")
	}
	var seen []int
	for range 5 {
		tid, err := interop.DoValue(th, ThreadID)
		require.NoError(t, err)
		seen = append(seen, tid)
	}
	s := costack.NewScheduler()
	tk := s.Go(func(tk *costack.Task) {
		for range 5 {
			tid, err := interop.BlockOn(th, tk, func(context.Context) (int, error) { return ThreadID(), nil })
			if err != nil {
				panic(err)
			}
			seen = append(seen, tid)
		}
	})
	for !tk.Done() {
		s.Tick()
		runtime.Gosched()
	}
	s.Close()
	require.NoError(t, tk.Err())
	require.NoError(t, th.Do(func() {
		s := costack.NewScheduler()
		defer s.Close()
		s.Go(func(tk *costack.Task) {
			for {
				seen = append(seen, ThreadID())
				tk.Yield()
			}
		})
		for range 5 {
			s.Tick()
		}
	}))
	require.Len(t, seen, 15)
	for _, tid := range seen {
		assert.Equal(t, want, tid)
	}
}

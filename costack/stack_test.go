package costack

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stackRecurse recurses d levels and yields at the bottom.
//
//go:noinline
func stackRecurse(y *Yielder[int, int], d int) int {
	if d == 0 {
		return y.Yield(d)
	}
	return stackRecurse(y, d-1) + 1
}

// stackFunctions lists the functions of a Stack trace, after its header.
func stackFunctions(t *testing.T, trace []byte) (header string, funcs []string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(trace), "\n"), "\n")
	header = lines[0]
	fileLine := regexp.MustCompile(`^\t\S+\.go:\d+( \+0x[0-9a-f]+)?$`)
	for i := 1; i < len(lines); i += 2 {
		require.Less(t, i+1, len(lines), "a function without its file line:\n%s", trace)
		assert.Regexp(t, fileLine, lines[i+1])
		name := strings.TrimSuffix(lines[i], "(...)")
		funcs = append(funcs, name[strings.LastIndex(name, "/")+1:])
	}
	return header, funcs
}

// Issue 17: a suspended coroutine was in no trace. Stack shows its frames,
// innermost first, from Yield to the body, at several depths, after a
// resume from another goroutine and depth (the native engine relocates),
// on every engine; and a header only for a coroutine that is fresh,
// running or dead.
func TestCoroutineStack(t *testing.T) { onEveryEngine(t, coroutineStack) }

func coroutineStack(t *testing.T) {
	for _, depth := range []int{0, 5, 300} {
		var c *Coroutine[int, int]
		var running []byte
		c, err := newOn(portEngine, func(y *Yielder[int, int], _ int) int {
			running = c.Stack()
			for {
				stackRecurse(y, depth)
			}
		})
		require.NoError(t, err)
		header, funcs := stackFunctions(t, c.Stack())
		assert.Equal(t, "coroutine [fresh]:", header)
		assert.Empty(t, funcs)

		check := func(when string) {
			header, funcs := stackFunctions(t, c.Stack())
			assert.Equal(t, "coroutine [suspended]:", header, when)
			require.Len(t, funcs, depth+3, "%s: %v", when, funcs)
			assert.Equal(t, "costack.(*Yielder[...]).Yield", funcs[0], when)
			for i := 1; i <= depth+1; i++ {
				assert.Equal(t, "costack.stackRecurse", funcs[i], "%s: frame %d", when, i)
			}
			assert.Equal(t, "costack.coroutineStack.func1", funcs[depth+2], when)
		}
		_, _, err = c.Resume(0)
		require.NoError(t, err)
		assert.Equal(t, "coroutine [running]:\n", string(running))
		check("after the first yield")
		done := make(chan struct{})
		go func() {
			defer close(done)
			callDeep(40, func() { _, _, err = c.Resume(1) })
		}()
		<-done
		require.NoError(t, err)
		check("after a resume from another goroutine and depth")
		require.NoError(t, c.Close())
		assert.Equal(t, "coroutine [dead]:\n", string(c.Stack()))
	}
}

// callDeep calls f d frames below here.
//
//go:noinline
func callDeep(d int, f func()) {
	var pad [64]byte
	if d > 0 {
		callDeep(d-1, f)
	} else {
		f()
	}
	pad[d%64]++
}

// A task's stack names the task; WriteTaskStacks lists every task with
// where it waits.
func TestTaskStack(t *testing.T) {
	s := newSched(t)
	var self []byte
	waiter := s.Go(func(t *Task) {
		self = t.Stack()
		callDeep(3, func() { t.Wait(namedWait("input")) })
	}, Named("waiter"))
	s.Tick()
	assert.Equal(t, "waiter#1 [running]:\n", string(self))
	header, funcs := stackFunctions(t, waiter.Stack())
	assert.Equal(t, "waiter#1 [suspended]:", header)
	require.NotEmpty(t, funcs)
	assert.Contains(t, funcs, "costack.callDeep")
	assert.Equal(t, "costack.TestTaskStack.func1", funcs[len(funcs)-1])

	var b bytes.Buffer
	require.NoError(t, s.WriteTaskStacks(&b))
	lines := strings.Split(b.String(), "\n")
	assert.Equal(t, "1 tasks at frame 1", lines[0])
	assert.Equal(t, "waiter#1 waiting for input", lines[1])
	assert.Contains(t, b.String(), "    github.com/costack-dev/costack/costack.callDeep(...)\n    \t")
}

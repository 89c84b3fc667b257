package costack

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// copyOf returns a copy of *c made through reflection, the way a program
// that stores handles by value would make one without go vet's copylocks
// check seeing it.
func copyOf[In, Out any](c *Coroutine[In, Out]) *Coroutine[In, Out] {
	p := reflect.New(reflect.TypeOf(c).Elem())
	p.Elem().Set(reflect.ValueOf(c).Elem())
	return p.Interface().(*Coroutine[In, Out])
}

// A copied handle shares the state but is not what keeps the coroutine
// alive: using it panics, and the coroutine goes on through the original.
func TestCopiedHandlePanics(t *testing.T) {
	onEveryEngine(t, func(t *testing.T) {
		c := luaCreate(func(y *Yielder[int, int], in int) int { return y.Yield(in+1) + 1 })
		_, _, err := c.Resume(1)
		require.NoError(t, err)
		cp := copyOf(c)
		for name, use := range map[string]func(){
			"Resume":    func() { cp.Resume(0) },
			"Close":     func() { _ = cp.Close() },
			"Status":    func() { cp.Status() },
			"Footprint": func() { cp.Footprint() },
		} {
			assert.Contains(t, recovered(use), msgCopiedHandle, name)
		}
		assert.Equal(t, Suspended, c.Status(), "the misuse changed nothing")
		out, done, err := c.Resume(5)
		require.NoError(t, err)
		assert.True(t, done)
		assert.Equal(t, 6, out)
	})
}

func TestZeroCoroutinePanics(t *testing.T) {
	var c Coroutine[int, int]
	assert.Contains(t, recovered(func() { c.Resume(0) }), msgCopiedHandle)
	assert.Contains(t, recovered(func() { _ = c.Close() }), msgCopiedHandle)
}

// A finished coroutine lets go of its body function, and with it of what
// the function refers to, though its handle is still reachable.
func TestFinishedCoroutineDropsItsBody(t *testing.T) {
	onEveryEngine(t, func(t *testing.T) {
		for _, end := range []string{"return", "close"} {
			collected := make(chan struct{})
			c := holding(collected)
			_, _, err := c.Resume(0)
			require.NoError(t, err)
			if end == "close" {
				require.NoError(t, c.Close())
			} else {
				_, done, err := c.Resume(0)
				require.NoError(t, err)
				require.True(t, done)
			}
			collectUntilClosed(t, collected, "a finished coroutine ("+end+") keeps what its body referred to")
			runtime.KeepAlive(c)
		}
	})
}

// holding returns a coroutine whose body refers to an object that closes
// collected when it is collected.
func holding(collected chan struct{}) *Coroutine[int, int] {
	obj := new([64]byte)
	runtime.AddCleanup(obj, func(ch chan struct{}) { close(ch) }, collected)
	return luaCreate(func(y *Yielder[int, int], in int) int {
		y.Yield(0)
		return int(obj[0])
	})
}

// Resume and Close race from several goroutines, at several stack depths,
// with the collector running all the time: exactly one caller takes the
// coroutine at a time (each yielded value comes out once),
// the others are told ErrRunning or ErrDead, and every body's deferred call
// runs exactly once.
func TestConcurrentResumeAndClose(t *testing.T) {
	onEveryEngine(t, func(t *testing.T) {
		defer debug.SetGCPercent(debug.SetGCPercent(1))
		const coroutines, goroutines = 48, 4
		rounds := 3000
		if d := soakDuration(t); d > 0 {
			rounds = 300000
		}
		type entry struct {
			c      *Coroutine[int, int]
			mu     sync.Mutex
			seen   []int // the values Resume returned, in no order
			closed atomic.Bool
			ended  atomic.Int32 // the body's deferred call ran
		}
		es := make([]*entry, coroutines)
		for i := range es {
			e := new(entry)
			e.c = luaCreate(func(y *Yielder[int, int], depth int) int {
				defer e.ended.Add(1)
				for v := 0; ; v++ {
					// Yield at varying depths: the saved frames and
					// the resumers' stacks change size all the time.
					depth = atDepth(depth%24, func() int { return y.Yield(v) })
				}
			})
			// Started: a coroutine closed before it ever ran has no
			// deferred call to run.
			_, _, err := e.c.Resume(0)
			require.NoError(t, err)
			es[i] = e
		}
		var taken, refused atomic.Int64
		var wg sync.WaitGroup
		stopGC := make(chan struct{})
		go func() {
			for {
				select {
				case <-stopGC:
					return
				default:
					runtime.GC()
					time.Sleep(time.Millisecond)
				}
			}
		}()
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(g), 7))
				for range rounds {
					e := es[r.IntN(len(es))]
					d := r.IntN(40)
					if r.IntN(200) == 0 {
						err := atDepth(d, func() int { return errCode(e.c.Close()) })
						switch err {
						case 0:
							e.closed.Store(true)
						case 1:
							refused.Add(1)
						default:
							t.Errorf("Close: unexpected error %d", err)
						}
						continue
					}
					var out int
					var done bool
					var err error
					atDepth(d, func() int {
						out, done, err = e.c.Resume(r.IntN(100))
						return 0
					})
					switch {
					case err == nil:
						taken.Add(1)
						assert.False(t, done)
						e.mu.Lock()
						e.seen = append(e.seen, out)
						e.mu.Unlock()
					case errors.Is(err, ErrRunning):
						refused.Add(1)
					case errors.Is(err, ErrDead):
						assert.Equal(t, int32(1), e.ended.Load(), "dead only once its body has unwound")
					default:
						t.Errorf("Resume: %v", err)
					}
				}
			}()
		}
		wg.Wait()
		close(stopGC)
		for _, e := range es {
			slices.Sort(e.seen)
			for i, v := range e.seen {
				if v != i+1 {
					t.Fatalf("the values a coroutine yielded came out as %v: each must come out once", e.seen)
				}
			}
			require.NoError(t, e.c.Close())
			assert.Equal(t, int32(1), e.ended.Load(), "the body's deferred call runs exactly once")
			assert.Equal(t, Dead, e.c.Status())
		}
		t.Logf("%d resumes, %d refused (%s)", taken.Load(), refused.Load(), Engine())
		assert.Positive(t, taken.Load())
	})
}

func errCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrRunning):
		return 1
	}
	return 2
}

// atDepth calls f d frames deeper than its caller, each frame with some
// stack of its own.
//
//go:noinline
func atDepth(d int, f func() int) int {
	var pad [16]int
	if d <= 0 {
		return f()
	}
	pad[d%16] = d
	return atDepth(d-1, f) + pad[(d+1)%16]
}

package engine

// Behaviour both engines share; these run on every platform and under
// -race (where only the portable engine exists).

import (
	"unsafe"

	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// yieldAt yields d calls deep and returns d.
//
//go:noinline
func yieldAt(c *Coroutine, d int) int {
	if d > 0 {
		return yieldAt(c, d-1) + 1
	}
	if c.Yield() {
		c.Unwind()
	}
	return 0
}

// resumeAt resumes c from depth extra frames below the caller, so the
// image lands at a different address.
//
//go:noinline
func resumeAt(c *Coroutine, depth int) (Outcome, *Panic) {
	var pad [96]byte
	if depth > 0 {
		o, p := resumeAt(c, depth-1)
		pad[depth%96]++
		return o, p
	}
	return c.Resume()
}

func TestNestedCoroutines(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.String(), func(t *testing.T) {
			var log []string
			var outer *Coroutine
			outer, _ = NewOn(k, func() {
				var inner *Coroutine
				inner, _ = NewOn(k, func() {
					for i := 0; i < 3; i++ {
						log = append(log, "inner")
						yieldAt(inner, i)
					}
				})
				for !inner.Finished() {
					inner.Resume()
					log = append(log, "outer")
					yieldAt(outer, 2)
				}
			})
			for d := 0; !outer.Finished(); d++ {
				o, p := resumeAt(outer, d%5)
				require.Nil(t, p)
				_ = o
			}
			assert.Equal(t, []string{"inner", "outer", "inner", "outer", "inner", "outer", "outer"}, log)
		})
	}
}

//go:noinline
func panicDeep(c *Coroutine, d int) {
	if d > 0 {
		panicDeep(c, d-1)
		return
	}
	yieldAt(c, 2)
	panic("deep")
}

func TestPanicStackShowsCoroutineFrames(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.String(), func(t *testing.T) {
			var c *Coroutine
			c, _ = NewOn(k, func() { panicDeep(c, 4) })
			o, p := c.Resume()
			require.Equal(t, Yielded, o)
			require.Nil(t, p)
			o, p = resumeAt(c, 7) // elsewhere: the frames are relocated
			require.Equal(t, Panicked, o)
			require.NotNil(t, p)
			assert.Equal(t, "deep", p.Value)
			stack := string(p.Stack)
			assert.Equal(t, 5, strings.Count(stack, "engine.panicDeep("), stack)
			assert.Contains(t, stack, "engine.TestPanicStackShowsCoroutineFrames")
		})
	}
}

func TestCloseRunsDefersThroughRestoredFrames(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.String(), func(t *testing.T) {
			var log []int
			var c *Coroutine
			var level func(d int)
			level = func(d int) {
				defer func() { log = append(log, d) }()
				if d == 0 {
					for {
						yieldAt(c, 1)
					}
				}
				level(d - 1)
			}
			c, _ = NewOn(k, func() { level(3) })
			c.Resume()
			resumeAt(c, 3)
			assert.Nil(t, closeP(c))
			assert.Equal(t, []int{0, 1, 2, 3}, log)
			assert.True(t, c.Finished())
		})
	}
}

func TestRecoverInsideRestoredFrames(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.String(), func(t *testing.T) {
			var c *Coroutine
			var got any
			c, _ = NewOn(k, func() {
				func() {
					defer func() { got = recover() }()
					yieldAt(c, 3)
					panic("caught")
				}()
				yieldAt(c, 1)
			})
			c.Resume()
			resumeAt(c, 4)
			assert.Equal(t, "caught", got)
			o, p := resumeAt(c, 1)
			assert.Nil(t, p)
			assert.Equal(t, Returned, o)
		})
	}
}

func TestGoexitInBodyUnwindsResumer(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.String(), func(t *testing.T) {
			var c *Coroutine
			var log []string
			var mu sync.Mutex
			add := func(s string) { mu.Lock(); log = append(log, s); mu.Unlock() }
			c, _ = NewOn(k, func() {
				defer add("body deferred")
				yieldAt(c, 2)
				runtime.Goexit()
			})
			c.Resume()
			done := make(chan struct{})
			go func() {
				defer close(done)
				defer add("resumer deferred")
				resumeAt(c, 3)
				add("resumer continued")
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Goexit did not end the resumer")
			}
			assert.Equal(t, []string{"body deferred", "resumer deferred"}, log)
			assert.True(t, c.Finished())
		})
	}
}

func TestResumeFromAnotherGoroutine(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.String(), func(t *testing.T) {
			var c *Coroutine
			sum := 0
			c, _ = NewOn(k, func() {
				local := []int{1, 2, 3}
				p := &local
				for i := 0; i < 10; i++ {
					yieldAt(c, i%4)
					sum += len(*p) + i
				}
			})
			for i := 0; !c.Finished(); i++ {
				done := make(chan struct{})
				go func() { defer close(done); resumeAt(c, i%6) }()
				<-done
			}
			assert.Equal(t, 10*3+45, sum)
		})
	}
}

func TestDroppedCoroutineIsCollected(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.String(), func(t *testing.T) {
			collected := make(chan struct{}, 2)
			func() {
				var c *Coroutine
				c, _ = NewOn(k, func() {
					obj := &[64]byte{1}
					runtime.AddCleanup(obj, func(ch chan struct{}) { ch <- struct{}{} }, collected)
					yieldAt(c, 3)
					runtime.KeepAlive(obj)
				})
				o, _ := c.Resume()
				require.Equal(t, Yielded, o)
				runtime.GC()
				select {
				case <-collected:
					t.Fatal("collected while its coroutine was suspended and referenced")
				default:
				}
				runtime.KeepAlive(c)
				if k == Portable {
					// The portable engine's goroutine holds the body until
					// the coroutine is closed; it is not collectable.
					c.Close()
				}
			}()
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				runtime.GC()
				select {
				case <-collected:
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
			t.Fatal("a dropped coroutine's objects were not collected")
		})
	}
}

type bigArg struct {
	a, b *int
	s    string
	pad  [6]int
}

// addrArg takes the address of its parameter, which makes the parameter a
// stack object described relative to the argument pointer.
//
//go:noinline
func addrArg(c *Coroutine, v bigArg, d int) int {
	p := &v
	q := &p
	if d > 0 {
		return addrArg(c, v, d-1) + *(*q).a
	}
	yieldAt(c, 1)
	return *(*q).a + *p.b + len(p.s) + p.pad[5]
}

type stack[T any] struct{ items []T }

//go:noinline
func genericYield[T any](c *Coroutine, s *stack[T], v T) T {
	local := stack[T]{items: append([]T(nil), v)}
	ptr := &local
	yieldAt(c, 2)
	s.items = append(s.items, ptr.items...)
	return ptr.items[0]
}

type yielder interface{ step(c *Coroutine) int }

type stepper struct{ n *int }

func (s stepper) step(c *Coroutine) int { yieldAt(c, 1); return *s.n }

func TestUnusualFramesSurviveRelocation(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.String(), func(t *testing.T) {
			var c *Coroutine
			var results []int
			c, _ = NewOn(k, func() {
				one, two := 1, 2
				results = append(results, addrArg(c, bigArg{a: &one, b: &two, s: "abc"}, 3))

				var s stack[string]
				results = append(results, len(genericYield(c, &s, "hello")))
				results = append(results, len(s.items))

				n := 42
				var y yielder = stepper{&n}
				f := y.step // method value: an -fm wrapper frame
				results = append(results, f(c))

				// A stack-allocated closure capturing locals by reference.
				x, z := 5, &n
				func() {
					yieldAt(c, 1)
					x += *z
				}()
				results = append(results, x)
			})
			for i := 0; !c.Finished(); i++ {
				done := make(chan struct{})
				go func() { defer close(done); resumeAt(c, i%5) }()
				<-done
				runtime.GC()
			}
			assert.Equal(t, []int{1*3 + 1 + 2 + 3, 5, 1, 42, 47}, results)
		})
	}
}

//go:noinline
func bigFrames(c *Coroutine, d int) int {
	var pad [4096]byte
	pad[d%4096] = byte(d)
	if d > 0 {
		return bigFrames(c, d-1) + int(pad[d%4096])
	}
	yieldAt(c, 1)
	return int(pad[0])
}

func TestHugeImageMovesBetweenGoroutines(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.String(), func(t *testing.T) {
			var c *Coroutine
			got := -1
			c, _ = NewOn(k, func() { got = bigFrames(c, 60) }) // ~250 KB of frames
			c.Resume()
			if k == Native {
				assert.Greater(t, c.Footprint(), 60*4096)
			}
			done := make(chan struct{})
			go func() { defer close(done); resumeAt(c, 3) }() // a fresh, small stack
			<-done
			require.True(t, c.Finished())
			assert.Equal(t, 60*61/2, got)
		})
	}
}

// A deferred call that yields while its function returns normally: open-
// coded defers run inline in the function's epilogue, so the frame being
// left is an ordinary frame of the image.
func TestYieldInsideDeferredCallOnReturn(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.String(), func(t *testing.T) {
			var c *Coroutine
			var log []string
			leave := func() (r int) {
				s := []string{"deferred"}
				defer func() {
					yieldAt(c, 2)
					log = append(log, s...)
					r = 7
				}()
				return 1
			}
			c, _ = NewOn(k, func() { log = append(log, "got", string(rune('0'+leave()))) })
			o, _ := c.Resume()
			require.Equal(t, Yielded, o)
			o, p := resumeAt(c, 3)
			require.Nil(t, p)
			require.Equal(t, Returned, o)
			assert.Equal(t, []string{"deferred", "got", "7"}, log)
		})
	}
}

// ownerBody is a Body that owns its Coroutine, as Init requires.
type ownerBody struct {
	c   Coroutine
	ran int
}

func (b *ownerBody) Started()    {}
func (b *ownerBody) CheckYield() {}
func (b *ownerBody) Resumed()    {}
func (b *ownerBody) Run()        { b.ran++; YieldOrUnwind(&b.c) }
func (b *ownerBody) Ended()      {}

// The engine keeps only the body's method table: InitOwned accepts only the
// coroutine's owner as its body, and the body it calls is that owner.
func TestInitWantsTheOwnerAsBody(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.String(), func(t *testing.T) {
			var stray Coroutine
			assert.PanicsWithValue(t, "sharedstack: InitOwned with a body that is not the coroutine's owner (a pointer to the object whose first field is the Coroutine)",
				func() { _ = stray.InitOn(k, &ownerBody{}, unsafe.Sizeof(ownerBody{})) })
			b := &ownerBody{}
			require.NoError(t, b.c.InitOn(k, b, unsafe.Sizeof(*b)))
			assert.Equal(t, Body(b), b.c.body())
			o, p := b.c.Resume()
			require.Nil(t, p)
			assert.Equal(t, Yielded, o)
			assert.Equal(t, 1, b.ran)
			require.Nil(t, closeP(&b.c))
			assert.True(t, b.c.Finished())
		})
	}
}

// closeP closes c and returns the panic of a deferred call, if any.
func closeP(c *Coroutine) *Panic {
	_, p := c.Close()
	return p
}

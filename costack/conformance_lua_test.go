package costack

// Lua's coroutine test suite, translated where costack has the concept, on
// every engine: testes/coroutine.lua of Lua 5.4.8 (github.com/lua/lua, tag
// v5.4.8, commit 6e22fedb74cf0c9b6656e9fce8b7331db847c605; MIT licence,
// Copyright © 1994–2025 Lua.org, PUC-Rio). Each test names the part of the
// file it translates, in the file's order.
//
// How Lua maps to costack: coroutine.create is New (on the engine of the
// run, luaCreate), resume is Resume (Lua's false plus an error is err: a
// *PanicError for an error raised in the body, ErrDead, ErrRunning),
// yield is Yield, status is Status (the same four names), wrap is
// luaWrap (a function that resumes and raises the coroutine's error),
// close is Close, error is panic and pcall is a deferred recover, a
// to-be-closed variable is a deferred call. Lua's several values per
// resume or yield are one value of a Go type (a slice where there are
// several).
//
// Left out, with the reason:
//   - coroutine.running and coroutine.isyieldable (and the checks on the
//     main thread): costack has no "current coroutine" in its API; a
//     Yielder is the capability to yield.
//   - Argument type errors (resume of a number): Go's types rule them out.
//   - Yields across C boundaries (table.sort, string.gsub with a yielding
//     function; unyieldable C calls): costack yields across any Go frames
//     (TestLuaYieldAcrossLibraryCalls shows sort.Slice); its refusals are
//     the package documentation's list (misuse_test.go).
//   - debug.sethook traces, debug.getinfo, the T (testC) API, yields
//     inside hooks, metamethods and C functions with continuations: no
//     such things in Go.
//   - Infinite recursion of coroutines: in Go a stack overflow ends the
//     program; it is not an error to catch.
//   - "Leaving a pending coroutine open" (a global coroutine never
//     closed): costack closes dropped coroutines; a global one stays
//     suspended (on the portable engine as a goroutine, which the
//     package's goleak check reports).
//   - The table.unpack stack-limit bug: Lua's own stack.
//
// Where costack differs from Lua, the test says so: Close of a coroutine
// that died of an error returns nil (the error was Resume's), where Lua's
// close returns it again.

import (
	"errors"
	"fmt"
	"runtime"
	"sort"
	"testing"
	"time"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// luaCreate is coroutine.create, on the engine of the run.
func luaCreate[In, Out any](body func(y *Yielder[In, Out], in In) Out) *Coroutine[In, Out] {
	c, err := newOn(portEngine, body)
	if err != nil {
		panic(err)
	}
	return c
}

// luaWrap is coroutine.wrap: a function that resumes the coroutine and
// raises (panics with) its error.
func luaWrap[In, Out any](body func(y *Yielder[In, Out], in In) Out) func(In) Out {
	c := luaCreate(body)
	return func(in In) Out {
		out, _, err := c.Resume(in)
		if pe, ok := err.(*PanicError); ok {
			panic(pe.Value)
		} else if err != nil {
			panic(err)
		}
		return out
	}
}

// pcall is Lua's pcall: it runs f and returns what it raised, if anything.
func pcall(f func()) (err any) {
	defer func() { err = recover() }()
	f()
	return nil
}

// "tests for multiple yield/resume arguments"
func TestLuaMultipleValues(t *testing.T) { onEveryEngine(t, luaMultipleValues) }

func luaMultipleValues(t *testing.T) {
	var x []any
	var f *Coroutine[[]any, []any]
	f = luaCreate(func(y *Yielder[[]any, []any], args []any) []any {
		a, rest := args[0].([]any), args[1:]
		// Resuming the running coroutine must fail without corrupting it.
		_, _, err := f.Resume(nil)
		assert.ErrorIs(t, err, ErrRunning)
		assert.Equal(t, Running, f.Status())
		for _, arg := range rest {
			x = y.Yield(arg.([]any))
		}
		return a
	})
	assert.Equal(t, Suspended, f.Status())
	assert.Equal(t, "suspended", f.Status().String())
	out, done, err := f.Resume([]any{[]any{1, 2, 3}, []any{}, []any{1}, []any{"a", "b", "c"}})
	require.NoError(t, err)
	assert.False(t, done)
	assert.Empty(t, out)
	assert.Equal(t, Suspended, f.Status())
	out, _, err = f.Resume(nil)
	require.NoError(t, err)
	assert.Empty(t, x)
	assert.Equal(t, []any{1}, out)
	out, _, err = f.Resume([]any{1, 2, 3})
	require.NoError(t, err)
	assert.Equal(t, []any{1, 2, 3}, x)
	assert.Equal(t, []any{"a", "b", "c"}, out)
	out, done, err = f.Resume([]any{"xuxu"})
	require.NoError(t, err)
	assert.Equal(t, []any{"xuxu"}, x)
	assert.True(t, done)
	assert.Equal(t, []any{1, 2, 3}, out)
	assert.Equal(t, Dead, f.Status())
	_, done, err = f.Resume([]any{"xuxu"})
	assert.ErrorIs(t, err, ErrDead)
	assert.Contains(t, err.Error(), "dead")
	assert.True(t, done)
	assert.Equal(t, Dead, f.Status())
}

// "yields in tail calls"
func TestLuaYieldInTailCall(t *testing.T) { onEveryEngine(t, luaYieldInTailCall) }

func luaYieldInTailCall(t *testing.T) {
	var x any
	foo := func(y *Yielder[any, any], i any) any { return y.Yield(i) }
	f := luaWrap(func(y *Yielder[any, any], _ any) any {
		for i := 1; i <= 10; i++ {
			assert.Equal(t, x, foo(y, i))
		}
		return "a"
	})
	for i := 1; i <= 10; i++ {
		x = i
		assert.Equal(t, i, f(i))
	}
	x = "xuxu"
	assert.Equal(t, "a", f("xuxu"))
}

// "recursive"
func TestLuaRecursiveYield(t *testing.T) { onEveryEngine(t, luaRecursiveYield) }

func luaRecursiveYield(t *testing.T) {
	var pf func(y *Yielder[[2]int, int], n, i int)
	pf = func(y *Yielder[[2]int, int], n, i int) {
		y.Yield(n)
		pf(y, n*i, i+1)
	}
	f := luaWrap(func(y *Yielder[[2]int, int], a [2]int) int {
		pf(y, a[0], a[1])
		return 0
	})
	s := 1
	for i := 1; i <= 10; i++ {
		assert.Equal(t, s, f([2]int{1, 1}))
		s *= i
	}
}

// "sieve": a chain of wrapped generators, one filter per prime.
func TestLuaSieve(t *testing.T) { onEveryEngine(t, luaSieve) }

func luaSieve(t *testing.T) {
	// nil is the end of a generator, as in Lua.
	gen := func(n int) func(any) any {
		return luaWrap(func(y *Yielder[any, any], _ any) any {
			for i := 2; i <= n; i++ {
				y.Yield(i)
			}
			return nil
		})
	}
	filter := func(p int, g func(any) any) func(any) any {
		return luaWrap(func(y *Yielder[any, any], _ any) any {
			for {
				n := g(nil)
				if n == nil {
					return nil
				}
				if n.(int)%p != 0 {
					y.Yield(n)
				}
			}
		})
	}
	x := gen(80)
	var a []int
	for {
		n := x(nil)
		if n == nil {
			break
		}
		a = append(a, n.(int))
		x = filter(n.(int), x)
	}
	assert.Len(t, a, 22)
	assert.Equal(t, 79, a[len(a)-1])
}

// "to-be-closed variables in coroutines": close of dead, running and
// normal coroutines, of a coroutine while closing it, and close running
// the pending cleanups.
func TestLuaClose(t *testing.T) { onEveryEngine(t, luaClose) }

func luaClose(t *testing.T) {
	// ok to close a dead coroutine, and again
	co := luaCreate(func(y *Yielder[string, int], s string) int { return len(s) })
	_, done, err := co.Resume("testing 'coroutine.close'")
	require.NoError(t, err)
	require.True(t, done)
	assert.Equal(t, Dead, co.Status())
	assert.NoError(t, co.Close())
	assert.NoError(t, co.Close())

	// cannot close the running coroutine
	var self *Coroutine[int, int]
	self = luaCreate(func(y *Yielder[int, int], _ int) int {
		assert.ErrorIs(t, self.Close(), ErrRunning)
		return 0
	})
	_, _, err = self.Resume(0)
	require.NoError(t, err)

	// cannot close a "normal" coroutine
	var outer *Coroutine[int, int]
	outer = luaCreate(func(y *Yielder[int, int], _ int) int {
		luaWrap(func(y *Yielder[int, int], _ int) int {
			assert.Equal(t, Normal, outer.Status())
			assert.ErrorIs(t, outer.Close(), ErrRunning)
			return 0
		})(0)
		return 0
	})
	_, _, err = outer.Resume(0)
	require.NoError(t, err)

	// cannot close a coroutine while closing it
	var closing *Coroutine[int, int]
	var again error
	closing = luaCreate(func(y *Yielder[int, int], _ int) int {
		defer func() { again = closing.Close() }() // try to close it again
		y.Yield(20)
		return 0
	})
	out, _, err := closing.Resume(0)
	require.NoError(t, err)
	assert.Equal(t, 20, out)
	assert.NoError(t, closing.Close())
	assert.ErrorIs(t, again, ErrRunning, "closing a coroutine while closing it fails: it is running")

	// closing a coroutine after an error. Lua's close returns the error
	// again; costack's Close returns nil: Resume reported it, and the
	// coroutine is dead.
	errco := luaCreate(func(y *Yielder[int, int], v int) int { panic(v) })
	_, _, err = errco.Resume(100)
	var pe *PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 100, pe.Value)
	assert.NoError(t, errco.Close())

	// a pending cleanup runs at close, with no error
	x := false
	cl := luaCreate(func(y *Yielder[int, int], _ int) int {
		defer func() {
			r := recover()
			assert.True(t, IsClosing(r), "what a cleanup sees at close")
			x = false
		}()
		x = true
		y.Yield(0)
		return 0
	})
	_, _, err = cl.Resume(0)
	require.NoError(t, err)
	assert.True(t, x)
	assert.NoError(t, cl.Close())
	assert.False(t, x)
	assert.Equal(t, Dead, cl.Status())

	// error closing a coroutine: the inner cleanup's error reaches the
	// outer one, whose own error is what close reports
	n := 0
	ec := luaCreate(func(y *Yielder[int, int], _ int) int {
		defer func() {
			r := recover()
			assert.Equal(t, 111, r)
			n = 200
			panic(200)
		}()
		defer func() {
			r := recover()
			assert.True(t, IsClosing(r))
			panic(111)
		}()
		y.Yield(0)
		return 0
	})
	_, _, err = ec.Resume(0)
	require.NoError(t, err)
	assert.Equal(t, 0, n)
	err = ec.Close()
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 200, pe.Value)
	assert.Equal(t, Dead, ec.Status())
	assert.Equal(t, 200, n)
	// after closing, no more errors
	assert.NoError(t, ec.Close())
}

// "<close> versus pcall in coroutines" and "recovering from errors in
// __close metamethods": cleanups run by an error inside a protected call,
// across a yield, each seeing the error in flight.
func TestLuaCleanupsAndErrors(t *testing.T) { onEveryEngine(t, luaCleanupsAndErrors) }

func luaCleanupsAndErrors(t *testing.T) {
	var seen any
	co := luaCreate(func(y *Yielder[int, any], _ int) any {
		return pcall(func() {
			defer func() {
				r := recover()
				seen = r
				panic(r)
			}()
			panic(43)
		})
	})
	out, done, err := co.Resume(0)
	require.NoError(t, err)
	assert.True(t, done)
	assert.Equal(t, 43, out)
	assert.Equal(t, 43, seen)

	// track records what each cleanup saw (false: no error).
	var track []any
	note := func(r any) {
		if r == nil {
			r = false
		}
		track = append(track, r)
	}
	h := func(cleanup func()) int {
		defer cleanup()
		return 1
	}
	foo := func(y *Yielder[int, any]) {
		defer func() { note(recover()); panic(20) }()
		defer func() { // returns normally: the error goes on
			r := recover()
			note(r)
			if r != nil {
				panic(r)
			}
		}()
		defer func() { note(recover()); panic(10) }()
		y.Yield(1)
		h(func() { note(recover()); panic(2) })
	}
	co = luaCreate(func(y *Yielder[int, any], _ int) any {
		return pcall(func() { foo(y) })
	})
	out, _, err = co.Resume(0)
	require.NoError(t, err)
	assert.Equal(t, 1, out)
	out, done, err = co.Resume(0)
	require.NoError(t, err)
	assert.True(t, done)
	assert.Equal(t, Dead, co.Status())
	assert.Equal(t, 20, out, "the last error")
	assert.Equal(t, []any{false, 2, 10, 10}, track)
}

// "yielding across C boundaries", the parts with a Go meaning: yields
// inside protected calls and their error handlers. (A yield inside a
// library call that calls back, table.sort's comparator in Lua, is
// refused there and works here.)
func TestLuaYieldAcrossLibraryCalls(t *testing.T) { onEveryEngine(t, luaYieldAcrossLibraryCalls) }

func luaYieldAcrossLibraryCalls(t *testing.T) {
	co := luaWrap(func(y *Yielder[int, int], _ int) int {
		s := []int{3, 1, 2}
		sort.Slice(s, func(i, j int) bool { y.Yield(0); return s[i] < s[j] })
		assert.Equal(t, []int{1, 2, 3}, s)
		y.Yield(20)
		return 30
	})
	for v := co(0); v != 20; v = co(0) {
		require.Zero(t, v)
	}
	assert.Equal(t, 30, co(0))

	// xpcall(pcall, handler, fn): a for loop over an iterator that
	// yields, inside nested protected calls, ending in an error the inner
	// one catches and returns.
	f1 := luaWrap(func(y *Yielder[any, any], _ any) any {
		var res any
		_ = pcall(func() {
			res = pcall(func() {
				s := 0
				for i := any(1); ; {
					// for i in f, nil, 1: f(s, i) is yield(i)
					if i = y.Yield(i); i == nil {
						break
					}
					_ = pcall(func() { s += i.(int) })
				}
				panic([]int{s})
			})
		})
		return res
	})
	f1(nil)
	for i := 1; i <= 10; i++ {
		assert.Equal(t, i, f1(i))
	}
	assert.Equal(t, []int{(10 + 1) * 10 / 2}, f1(nil))

	// xpcall(f, g, 10, 20), f yielding then raising, g the handler.
	co2 := luaWrap(func(y *Yielder[int, any], _ int) any {
		xpcall := func(f func(a, b int), g func(x any) any, a, b int) (res any) {
			defer func() {
				if r := recover(); r != nil {
					res = g(r)
				}
			}()
			f(a, b)
			return true
		}
		f := func(a, b int) { a = y.Yield(a); panic([]int{a + b}) }
		g := func(x any) any { return x.([]int)[0] * 2 }
		return y.Yield(xpcall(f, g, 10, 20))
	})
	assert.Equal(t, 10, co2(0))
	assert.Equal(t, 240, co2(100))
}

// "errors in coroutines": an error after a yield, through wrap and
// through create.
func TestLuaErrors(t *testing.T) { onEveryEngine(t, luaErrors) }

func luaErrors(t *testing.T) {
	fooErr := errors.New("foo")
	foo := func(y *Yielder[int, int]) {
		y.Yield(3)
		panic(fooErr)
	}
	goo := func(y *Yielder[int, int], _ int) int { foo(y); return 0 }
	x := luaWrap(goo)
	assert.Equal(t, 3, x(0))
	assert.Equal(t, fooErr, pcall(func() { x(0) }))

	co := luaCreate(goo)
	out, _, err := co.Resume(0)
	require.NoError(t, err)
	assert.Equal(t, 3, out)
	_, done, err := co.Resume(0)
	assert.True(t, done)
	assert.ErrorIs(t, err, fooErr)
	assert.Equal(t, Dead, co.Status())
	_, _, err = co.Resume(0)
	assert.ErrorIs(t, err, ErrDead)
	assert.Equal(t, Dead, co.Status())
}

// "co-routines x for loop": a generator of every n^k tuple (all
// arrangements with repetition), recursive, consumed by a loop.
func TestLuaTupleGenerator(t *testing.T) { onEveryEngine(t, luaTupleGenerator) }

func luaTupleGenerator(t *testing.T) {
	var all func(y *Yielder[int, []int], a []int, n, k int)
	all = func(y *Yielder[int, []int], a []int, n, k int) {
		if k == 0 {
			y.Yield(a)
			return
		}
		for i := 1; i <= n; i++ {
			a[k-1] = i
			all(y, a, n, k-1)
		}
	}
	co := luaCreate(func(y *Yielder[int, []int], _ int) []int {
		all(y, make([]int, 4), 5, 4)
		return nil
	})
	count, seen := 0, map[[4]int]bool{}
	for {
		tuple, done, err := co.Resume(0)
		require.NoError(t, err)
		if done {
			break
		}
		count++
		seen[[4]int(tuple)] = true
	}
	assert.Equal(t, 625, count)
	assert.Len(t, seen, 625)
}

// "access to locals of collected coroutines": a closure yielded by a
// coroutine outlives it; the dropped coroutine is collected.
func TestLuaCollectedCoroutineLocals(t *testing.T) { onEveryEngine(t, luaCollectedCoroutineLocals) }

func luaCollectedCoroutineLocals(t *testing.T) {
	var c weak.Pointer[Coroutine[int, func() int]]
	f := func() func() int {
		co := luaCreate(func(y *Yielder[int, func() int], _ int) func() int {
			a := 10
			f := func() int { a += 10; return a }
			for {
				a++
				y.Yield(f)
			}
		})
		c = weak.Make(co)
		x := func() func() int {
			f, _, err := co.Resume(0)
			require.NoError(t, err)
			return f
		}
		f := x()
		assert.Equal(t, 21, f())
		assert.Equal(t, 32, x()())
		x() // yields f again (Lua: x() == f)
		return f
	}()
	// On the portable engine the coroutine's goroutine lets go of it only
	// once the handle's cleanup has run (after one collection, on the
	// runtime's cleanup goroutine); a slow machine (arm64 under qemu) may
	// need more than a few collections for that.
	deadline := time.Now().Add(10 * time.Second)
	for c.Value() != nil && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	assert.Nil(t, c.Value(), "the dropped coroutine is collected")
	assert.Equal(t, 43, f())
	assert.Equal(t, 53, f())
}

// "old bug: attempt to resume itself", and its sequel with a cleanup.
func TestLuaResumeItself(t *testing.T) { onEveryEngine(t, luaResumeItself) }

func luaResumeItself(t *testing.T) {
	type self = *Coroutine[any, []int]
	co := luaCreate(func(y *Yielder[any, []int], cur any) []int {
		_, _, err := cur.(self).Resume(cur)
		assert.ErrorIs(t, err, ErrRunning)
		cur = y.Yield([]int{10, 20})
		_, _, err = cur.(self).Resume(cur)
		assert.ErrorIs(t, err, ErrRunning)
		y.Yield([]int{23})
		return []int{10}
	})
	for _, want := range [][]int{{10, 20}, {23}, {10}} {
		out, _, err := co.Resume(co)
		require.NoError(t, err)
		assert.Equal(t, want, out)
	}
	_, _, err := co.Resume(co)
	assert.ErrorIs(t, err, ErrDead)
	_, _, err = co.Resume(co)
	assert.ErrorIs(t, err, ErrDead)

	// A wrapped coroutine calling itself: the call fails (it is not
	// suspended), and its cleanup runs when it ends.
	x := false
	var a func(int) error
	a = luaWrap(func(y *Yielder[int, error], _ int) error {
		defer func() { x = true }()
		err, _ := pcall(func() { a(1) }).(error)
		return err
	})
	assert.ErrorIs(t, a(0), ErrRunning)
	assert.True(t, x)
}

// "bug in 5.4.1": a cleanup that resumes its own coroutine while the
// coroutine dies of an error.
func TestLuaCleanupResumesDyingCoroutine(t *testing.T) {
	onEveryEngine(t, luaCleanupResumesDyingCoroutine)
}

func luaCleanupResumesDyingCoroutine(t *testing.T) {
	var co func(int) int
	var inner any
	co = luaWrap(func(y *Yielder[int, int], _ int) int {
		defer func() { inner = pcall(func() { co(0) }) }()
		panic(111)
	})
	assert.Equal(t, 111, pcall(func() { co(0) }))
	assert.ErrorIs(t, inner.(error), ErrRunning)
	assert.Equal(t, ErrDead, pcall(func() { co(0) }))
}

// "attempt to resume 'normal' coroutine"
func TestLuaResumeNormal(t *testing.T) { onEveryEngine(t, luaResumeNormal) }

func luaResumeNormal(t *testing.T) {
	var co1 *Coroutine[int, int]
	var co2 func(int) int
	co1 = luaCreate(func(y *Yielder[int, int], _ int) int { return co2(0) })
	co2 = luaWrap(func(y *Yielder[int, int], _ int) int {
		assert.Equal(t, Normal, co1.Status())
		_, _, err := co1.Resume(0)
		assert.ErrorIs(t, err, ErrRunning)
		y.Yield(3)
		return 0
	})
	out, done, err := co1.Resume(0)
	require.NoError(t, err)
	assert.True(t, done)
	assert.Equal(t, 3, out)
	assert.Equal(t, Dead, co1.Status())
}

// "bug in 5.4: thread can use message handler higher in the stack than
// the variable being closed": closing a coroutine suspended inside a
// protected call whose handler would catch the unwinding, with a cleanup
// that raises.
func TestLuaCloseInsideProtectedCall(t *testing.T) { onEveryEngine(t, luaCloseInsideProtectedCall) }

func luaCloseInsideProtectedCall(t *testing.T) {
	c := luaCreate(func(y *Yielder[int, int], _ int) int {
		defer func() { panic(134) }()
		// xpcall(coroutine.yield, handler): the handler does not stop
		// the close.
		func() {
			defer func() {
				if r := recover(); IsClosing(r) {
					panic(r)
				}
			}()
			y.Yield(0)
		}()
		return 0
	})
	_, _, err := c.Resume(0)
	require.NoError(t, err)
	var pe *PanicError
	require.ErrorAs(t, c.Close(), &pe)
	assert.Equal(t, 134, pe.Value)
}

// "access to locals of erroneous coroutines"
func TestLuaLocalsOfErroneousCoroutine(t *testing.T) {
	onEveryEngine(t, luaLocalsOfErroneousCoroutine)
}

func luaLocalsOfErroneousCoroutine(t *testing.T) {
	var F func() int
	x := luaCreate(func(y *Yielder[[]int, int], _ []int) int {
		a := 10
		F = func() int { a++; return a }
		panic("x")
	})
	_, _, err := x.Resume(nil)
	require.Error(t, err)
	_, _, err = x.Resume([]int{1, 1, 1, 1, 1, 1, 1})
	assert.ErrorIs(t, err, ErrDead)
	assert.Equal(t, 11, F())
	assert.Equal(t, 12, F())
}

// "testing yields inside 'for' iterators": a range-over-func loop whose
// iterator function yields the coroutine between elements.
func TestLuaYieldInsideForIterator(t *testing.T) { onEveryEngine(t, luaYieldInsideForIterator) }

func luaYieldInsideForIterator(t *testing.T) {
	// run is the file's run: it resumes f's coroutine until it returns,
	// checking what each yield says.
	run := func(f func(y *Yielder[int, string]) int, want []string) int {
		var got []string
		c := luaWrap(func(y *Yielder[int, string], _ int) string { return fmt.Sprint(f(y)) })
		for {
			if s := c(0); s != "for" {
				assert.Equal(t, want, got)
				var n int
				_, err := fmt.Sscan(s, &n)
				require.NoError(t, err)
				return n
			}
			got = append(got, "for")
		}
	}
	iterate := func(y *Yielder[int, string], s int) func(func(int) bool) {
		return func(yield func(int) bool) {
			for i := 0; ; i++ {
				if i%2 == 0 {
					y.Yield("for")
				}
				if i >= s || !yield(i+1) {
					return
				}
			}
		}
	}
	assert.Equal(t, 10, run(func(y *Yielder[int, string]) int {
		s := 0
		for i := range iterate(y, 4) {
			s += i
		}
		return s
	}, []string{"for", "for", "for"}))
}

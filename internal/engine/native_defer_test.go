//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package engine

// Loop defers (heap-allocated, non-open-coded defer records) pending across
// yields: the native engine detaches them from g._defer on a yield and
// relinks them on resume (I5). Every test runs on both engines and expects
// the same events; the portable engine is the oracle.

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/costack-dev/costack/internal/rt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type deferLog struct {
	mu sync.Mutex
	ev []string
}

func (l *deferLog) add(format string, a ...any) {
	l.mu.Lock()
	l.ev = append(l.ev, fmt.Sprintf(format, a...))
	l.mu.Unlock()
}

func (l *deferLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.ev, ",")
}

// loopDefers defers n calls in a loop (heap records), each checking heap
// data only its closure keeps alive, then yields at depth d, k times.
//
//go:noinline
func loopDefers(c *Coroutine, l *deferLog, tag string, n, d, k int) {
	for i := 0; i < n; i++ {
		data := &[8]int{i, i * 2}
		s := strings.Repeat("z", i+1)
		defer func() {
			if data[1] != 2*i || len(s) != i+1 {
				l.add("%s corrupt %d", tag, i)
			}
			l.add("%s%d", tag, i)
		}()
	}
	for j := 0; j < k; j++ {
		runtime.GC()
		yieldAt(c, d+j)
	}
	l.add("%s body done", tag)
}

// resumeOn resumes c at depth on a new goroutine and waits.
func resumeOn(c *Coroutine, depth int) (o Outcome, p *Panic) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		o, p = resumeAt(c, depth)
	}()
	<-done
	return
}

// resumeVaried resumes c in turn here, at depth+step, and on another
// goroutine, by step.
func resumeVaried(c *Coroutine, step, depth int) (Outcome, *Panic) {
	switch step % 3 {
	case 0:
		return c.Resume()
	case 1:
		return resumeAt(c, depth+step)
	}
	return resumeOn(c, step)
}

func eachKind(t *testing.T, f func(t *testing.T, k Kind) string) {
	t.Helper()
	results := map[Kind]string{}
	for _, k := range kinds() {
		t.Run(k.String(), func(t *testing.T) { results[k] = f(t, k) })
	}
	if len(results) == 2 {
		assert.Equal(t, results[Portable], results[Native], "engines disagree")
	}
}

func TestLoopDefersAcrossYieldsRunAtReturn(t *testing.T) {
	eachKind(t, func(t *testing.T, k Kind) string {
		l := &deferLog{}
		var c *Coroutine
		c, _ = NewOn(k, func() {
			defer l.add("outer")
			loopDefers(c, l, "a", 5, 1, 4)
			l.add("after a")
			loopDefers(c, l, "b", 3, 0, 2)
		})
		steps := 0
		for !c.Finished() {
			o, p := resumeVaried(c, steps, 5)
			require.Nil(t, p)
			if o == Yielded && k == Native {
				// Detached while suspended: held by the engine, and
				// nothing of the coroutine left on this goroutine.
				n := &c.n
				require.NotNil(t, n.defers)
				for d := rt.GetG().Defer; d != nil; d = d.Link {
					for _, e := range n.detachedDefers() {
						require.NotSame(t, d, e.heap)
					}
				}
			}
			steps++
		}
		want := "a body done,a4,a3,a2,a1,a0,after a,b body done,b2,b1,b0,outer"
		assert.Equal(t, want, l.String())
		return l.String()
	})
}

func TestLoopDefersAcrossYieldsRunAtClose(t *testing.T) {
	eachKind(t, func(t *testing.T, k Kind) string {
		l := &deferLog{}
		var c *Coroutine
		c, _ = NewOn(k, func() {
			defer func() { l.add("outer %v", IsUnwind(recover())) }()
			// A function with a loop defer has no open-coded defers: its
			// other defers get stack records, which are refused. Keep the
			// loop in a function of its own.
			func() {
				for i := 0; i < 3; i++ {
					defer l.add("body%d", i)
				}
				loopDefers(c, l, "a", 4, 2, 10)
			}()
		})
		c.Resume()
		resumeAt(c, 7)
		resumeOn(c, 3)
		runtime.GC()
		require.Nil(t, closeP(c))
		assert.True(t, c.Finished())
		want := "a3,a2,a1,a0,body2,body1,body0,outer true"
		assert.Equal(t, want, l.String())
		return l.String()
	})
}

func TestLoopDefersAcrossYieldsRunAtPanic(t *testing.T) {
	eachKind(t, func(t *testing.T, k Kind) string {
		l := &deferLog{}
		var c *Coroutine
		c, _ = NewOn(k, func() {
			for i := 0; i < 2; i++ {
				defer l.add("body%d", i)
			}
			func() {
				for i := 0; i < 3; i++ {
					defer func() {
						l.add("inner%d", i)
						if i == 1 {
							l.add("recovered %v", recover())
						}
					}()
				}
				yieldAt(c, 3)
				panic("one")
			}()
			l.add("continued")
			yieldAt(c, 1)
			panic("two")
		})
		c.Resume()
		o, p := resumeOn(c, 4)
		require.Nil(t, p)
		require.Equal(t, Yielded, o)
		o, p = resumeAt(c, 9)
		require.Equal(t, Panicked, o)
		require.NotNil(t, p)
		assert.Equal(t, "two", p.Value)
		want := "inner2,inner1,recovered one,inner0,continued,body1,body0"
		assert.Equal(t, want, l.String())
		return l.String()
	})
}

func TestLoopDefersNestedCoroutines(t *testing.T) {
	eachKind(t, func(t *testing.T, k Kind) string {
		l := &deferLog{}
		var outer *Coroutine
		var inners []*Coroutine
		outer, _ = NewOn(k, func() {
			for i := 0; i < 2; i++ {
				defer l.add("outer%d", i)
			}
			for j := 0; j < 2; j++ {
				var in *Coroutine
				tag := fmt.Sprint("in", j, "_")
				in, _ = NewOn(k, func() { loopDefers(in, l, tag, 3, j, 3) })
				inners = append(inners, in)
				in.Resume() // inner suspended with its records detached
				yieldAt(outer, j+1)
				resumeAt(in, j*3)
				yieldAt(outer, 0)
			}
			for _, in := range inners {
				for !in.Finished() {
					_, p := in.Resume()
					if p != nil {
						l.add("inner panic %v", p.Value)
					}
					yieldAt(outer, 2)
				}
			}
			l.add("outer done")
		})
		for i := 0; !outer.Finished(); i++ {
			var p *Panic
			if i%2 == 0 {
				_, p = resumeOn(outer, i)
			} else {
				_, p = resumeAt(outer, i)
			}
			require.Nil(t, p)
			runtime.GC()
		}
		want := "in0_ body done,in0_2,in0_1,in0_0,in1_ body done,in1_2,in1_1,in1_0,outer done,outer1,outer0"
		assert.Equal(t, want, l.String())
		return l.String()
	})
}

func TestLoopDefersCloseNested(t *testing.T) {
	eachKind(t, func(t *testing.T, k Kind) string {
		l := &deferLog{}
		var outer, inner *Coroutine
		outer, _ = NewOn(k, func() {
			for i := 0; i < 2; i++ {
				defer l.add("outer%d", i)
			}
			inner, _ = NewOn(k, func() { loopDefers(inner, l, "in", 3, 1, 5) })
			inner.Resume()
			yieldAt(outer, 1)
			// Closing the inner runs its records on this (the outer's)
			// stack, in front of the outer's relinked ones.
			if p := closeP(inner); p != nil {
				l.add("inner close %v", p.Value)
			}
			yieldAt(outer, 0)
		})
		outer.Resume()
		resumeOn(outer, 2)
		require.Nil(t, closeP(outer))
		assert.Equal(t, "in2,in1,in0,outer1,outer0", l.String())
		return l.String()
	})
}

func TestLoopDefersGoexit(t *testing.T) {
	eachKind(t, func(t *testing.T, k Kind) string {
		l := &deferLog{}
		var c *Coroutine
		c, _ = NewOn(k, func() {
			for i := 0; i < 3; i++ {
				defer l.add("body%d", i)
			}
			yieldAt(c, 2)
			runtime.Goexit()
		})
		c.Resume()
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; i < 2; i++ {
				defer l.add("resumer%d", i)
			}
			resumeAt(c, 3)
			l.add("resumer continued")
		}()
		<-done
		assert.Equal(t, "body2,body1,body0,resumer1,resumer0", l.String())
		assert.True(t, c.Finished())
		return l.String()
	})
}

// TestLoopDefersManyGC keeps many coroutines suspended with pending records
// (held only by the engine while detached) through collections.
func TestLoopDefersManyGC(t *testing.T) {
	eachKind(t, func(t *testing.T, k Kind) string {
		l := &deferLog{}
		const n = 200
		cs := make([]*Coroutine, n)
		for i := range cs {
			var c *Coroutine
			tag := fmt.Sprint("c", i, "_")
			c, _ = NewOn(k, func() { loopDefers(c, l, tag, 1+i%4, i%3, 1+i%5) })
			cs[i] = c
		}
		for round := 0; ; round++ {
			live := 0
			for i, c := range cs {
				if c.Finished() {
					continue
				}
				live++
				var p *Panic
				switch (i + round) % 3 {
				case 0:
					_, p = c.Resume()
				case 1:
					_, p = resumeAt(c, round%7)
				case 2:
					if i%8 == 0 {
						_, p = resumeOn(c, round%5)
					} else {
						_, p = c.Resume()
					}
				}
				require.Nil(t, p)
			}
			runtime.GC()
			if live == 0 {
				break
			}
		}
		for i := range cs {
			tag := fmt.Sprint("c", i, "_")
			ev := []string{}
			for _, e := range strings.Split(l.String(), ",") {
				if strings.HasPrefix(e, tag) {
					ev = append(ev, e)
				}
			}
			want := []string{tag + " body done"}
			for j := i%4 + 1 - 1; j >= 0; j-- {
				want = append(want, fmt.Sprint(tag, j))
			}
			require.Equal(t, want, ev, "coroutine %d", i)
		}
		assert.NotContains(t, l.String(), "corrupt")
		return ""
	})
}

// stackDefers has more than 8 defers (not open-coded: outside a loop the
// records are stack-allocated, in this frame), some of closures that stay
// on the stack and capture locals by reference, some of closures that
// capture heap data only they keep alive, interleaved with loop defers
// (heap records), and yields at depth d, k times.
//
//go:noinline
func stackDefers(c *Coroutine, l *deferLog, tag string, d, k int) {
	x := 0
	data := &[4]int{7, 8, 9, 10}
	defer func() { l.add("%s s0 x=%d", tag, x) }()
	defer func() { l.add("%s s1 data=%d", tag, data[3]) }()
	for i := 0; i < 2; i++ {
		defer func() { l.add("%s loop%d", tag, i) }()
	}
	defer func() { x += 10 }()
	defer func() { l.add("%s s3 x=%d", tag, x) }()
	defer func() { x++ }()
	defer func() { l.add("%s s5", tag) }()
	defer func() { x++ }()
	defer func() { l.add("%s s7", tag) }()
	defer func() { x++ }()
	for j := 0; j < k; j++ {
		runtime.GC()
		yieldAt(c, d+j)
		x += 100
	}
	l.add("%s body done x=%d", tag, x)
}

func TestStackDefersAcrossYieldsRunAtReturn(t *testing.T) {
	eachKind(t, func(t *testing.T, k Kind) string {
		l := &deferLog{}
		var c *Coroutine
		stackRecs := 0
		c, _ = NewOn(k, func() {
			defer l.add("outer")
			stackDefers(c, l, "a", 2, 3)
			loopDefers(c, l, "b", 2, 1, 2)
			stackDefers(c, l, "c", 0, 2)
		})
		for steps := 0; !c.Finished(); steps++ {
			_, p := resumeVaried(c, steps, 7)
			require.Nil(t, p)
			if !c.Finished() && k == Native {
				require.NotEmpty(t, c.n.detachedDefers(), "no record detached")
				for _, r := range c.n.detachedDefers() {
					if r.heap == nil {
						stackRecs++
					}
				}
			}
			runtime.GC()
		}
		if k == Native {
			assert.NotZero(t, stackRecs, "no stack-allocated record was detached")
		}
		got := l.String()
		assert.Contains(t, got, "a body done x=300,a s7,a s5,a s3 x=303,a loop1,a loop0,a s1 data=10,a s0 x=313")
		assert.NotContains(t, got, "corrupt")
		return got
	})
}

func TestStackDefersAcrossYieldsRunAtClose(t *testing.T) {
	eachKind(t, func(t *testing.T, k Kind) string {
		l := &deferLog{}
		var c *Coroutine
		c, _ = NewOn(k, func() {
			defer l.add("outer")
			stackDefers(c, l, "a", 3, 5)
		})
		for range 3 {
			_, p := resumeOn(c, 4)
			require.Nil(t, p)
			runtime.GC()
		}
		require.Nil(t, closeP(c))
		got := l.String()
		assert.Equal(t, "a s7,a s5,a s3 x=203,a loop1,a loop0,a s1 data=10,a s0 x=213,outer", got)
		return got
	})
}

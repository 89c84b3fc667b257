//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package engine

import (
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/costack-dev/costack/internal/shapes"
)

// A recursive generator whose outer frame holds a stack object — Pull's
// body has one, the closure of its deferred call — is trailed like one
// without: its yields walk only the frames that changed, not the whole
// chain (every yield of an in-order tree walk through Pull used to walk
// in full: 54x iter.Pull per element).
func TestNativeTrailWithStackObjects(t *testing.T) {
	needNative(t)
	tree := shapes.Balanced(10)
	var got []int
	var c *Coroutine
	c, err := NewOn(Native, func() {
		done := false
		defer func() { done = true }() // a stack-allocated closure: a stack object
		shapes.Walk(tree, func(v int) bool {
			got = append(got, v)
			YieldOrUnwind(c)
			return !done
		})
	})
	require.NoError(t, err)
	for range 64 { // the trail is made
		_, p := c.Resume()
		require.Nil(t, p)
	}
	walks, yields := fullWalks.Load(), 0
	for !c.Finished() {
		_, p := c.Resume()
		require.Nil(t, p)
		yields++
	}
	assert.Equal(t, 1<<10-1, len(got))
	for i, v := range got {
		if v != i {
			t.Fatalf("element %d is %d", i, v)
		}
	}
	assert.Less(t, float64(fullWalks.Load()-walks)/float64(yields), 0.05, "yields that walked their chain in full")
}

// holder is a stack object that holds a heap pointer.
type holder struct {
	p *[64]int
}

// walkHolding recurses depth deep, passing the outermost frame's stack
// object down; only the frames below it point to it (the outer frame
// does not use it after the call), and it is the only thing that keeps
// its heap object alive. Each level yields twice, so that the frames
// below change while the outer ones stay.
//
//go:noinline
func walkHolding(h *holder, depth int, yield func()) int {
	if depth == 0 {
		return h.p[0]
	}
	yield()
	s := walkHolding(h, depth-1, yield)
	yield()
	return s + h.p[depth%64] // h is live across both yields
}

//go:noinline
func outerHolding(depth int, freed *atomic.Bool, yield func()) int {
	var h holder
	h.p = new([64]int)
	for i := range h.p {
		h.p[i] = i
	}
	runtime.AddCleanup(h.p, func(f *atomic.Bool) { f.Store(true) }, freed)
	return walkHolding(&h, depth, yield)
}

// An object of an unchanged (outer) frame reachable only from frames that
// changed is retained: a trail scans its objects from the marks of all its
// frames, at every yield. Collections while it is suspended would free
// the holder's array otherwise (its cleanup would run).
func TestNativeTrailRetainsOuterObjects(t *testing.T) {
	needNative(t)
	const depth = 40
	want := 0
	for d := 1; d <= depth; d++ {
		want += d % 64
	}
	for round := range 3 {
		var got int
		var freed atomic.Bool
		var c *Coroutine
		c, err := NewOn(Native, func() { got = outerHolding(depth, &freed, func() { YieldOrUnwind(c) }) })
		require.NoError(t, err)
		trailed := 0
		for i := 0; !c.Finished(); i++ {
			if i%3 == round {
				runtime.GC()
				time.Sleep(100 * time.Microsecond) // let a cleanup run
				require.False(t, freed.Load(), "round %d, resume %d: the holder's array was collected while suspended", round, i)
			}
			_, p := resumeOn(c, 50*(i%3))
			require.Nil(t, p)
			if !c.Finished() && c.n.shape != nil && c.n.shape.current().trail != nil {
				trailed++
			}
		}
		assert.Equal(t, want, got, "round %d", round)
		assert.Positive(t, trailed, "no yield was trailed")
	}
}

// A coroutine that recursed deep once and yields shallow since gives the
// deep chain's trail arrays back.
func TestNativeTrailShrinksAfterDeepExcursion(t *testing.T) {
	needNative(t)
	depth := 2000
	var c *Coroutine
	c, err := NewOn(Native, func() {
		for {
			shapes.Deep(depth, func() { YieldOrUnwind(c) })
		}
	})
	require.NoError(t, err)
	defer c.Close()
	_, p := c.Resume()
	require.Nil(t, p)
	_, p = c.Resume()
	require.Nil(t, p)
	tr := c.n.shape.trail
	require.NotNil(t, tr, "the deep chain is trailed")
	deepCap := cap(tr.frames)
	require.Greater(t, deepCap, depth)
	depth = 3
	for range 3 {
		_, p = c.Resume()
		require.Nil(t, p)
	}
	// Shallow, the chain is trailed anew or (it recurs) gets a shape and
	// the trail goes stale: either way the deep array is gone.
	assert.Less(t, cap(tr.frames), deepCap/10, "the trail keeps the deep chain's array")
}

// The three descriptions of a suspended chain agree on what a relocation
// moves: a shape composed from the walked chain, the walked chain itself,
// and the coroutine's trail (when it has one current): the same slots,
// and the same outermost frame pointer slot. Chains with stack objects,
// deep recursion and a deferred closure in the outer frame.
func TestNativeShapeMatchesWalk(t *testing.T) {
	needNative(t)
	var freed atomic.Bool
	bodies := map[string]func(c **Coroutine){
		"objects": func(c **Coroutine) { outerHolding(30, &freed, func() { YieldOrUnwind(*c) }) },
		"deep":    func(c **Coroutine) { shapes.Deep(500, func() { YieldOrUnwind(*c) }) },
		"tree": func(c **Coroutine) {
			done := false
			defer func() { done = true }()
			shapes.Walk(shapes.Balanced(6), func(int) bool { YieldOrUnwind(*c); return !done })
		},
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			var c *Coroutine
			c, err := NewOn(Native, func() { body(&c) })
			require.NoError(t, err)
			defer c.Close()
			trailed := 0
			for i := 0; i < 40 && !c.Finished(); i++ {
				_, p := resumeAt(c, i%5)
				require.Nil(t, p)
				if c.Finished() {
					break
				}
				size := uintptr(c.n.size)
				ch, why := c.n.imageChain()
				require.Empty(t, why)
				walked := slices.Clone(ch.relocSlots(size))
				outer := ch.outerFP
				ch.collectObjects(size)
				s := composeShape(ch, size)
				putChain(ch)
				assert.Equal(t, walked, s.reloc, "resume %d: shape and walk", i)
				assert.Equal(t, outer, s.outerFP, "resume %d: outermost frame pointer", i)
				if cur := c.n.shape.current(); cur != nil && cur.trail != nil {
					trailed++
					tc := getChain()
					assert.Equal(t, walked, slices.Clone(cur.trail.relocSlots(tc, size)), "resume %d: trail and walk", i)
					putChain(tc)
					assert.Equal(t, outer, cur.trail.outerFP(size), "resume %d: trail's outermost frame pointer", i)
				}
			}
			assert.Positive(t, trailed, "no yield was trailed")
		})
	}
}

// A coroutine whose last yield had no description (n.shape nil: a yield
// with a pending stack-allocated defer record is neither shaped nor
// trailed) and whose next yield finds a cached shape takes the shape. The
// fast path dereferenced the missing description (a nil pointer panic in
// the GC torture).
func TestNativeShapeAfterUndescribedYield(t *testing.T) {
	needNative(t)
	var c *Coroutine
	c, err := NewOn(Native, func() {
		for {
			YieldOrUnwind(c)
		}
	})
	require.NoError(t, err)
	defer c.Close()
	for range 4 { // the chain recurs: it gets a shape
		_, p := c.Resume()
		require.Nil(t, p)
	}
	require.NotNil(t, c.n.shape.current())
	require.Nil(t, c.n.shape.current().trail, "the one-site chain is shaped")
	c.n.shape = nil // as a yield with a stack-allocated defer record leaves it
	_, p := c.Resume()
	require.Nil(t, p, "the yield after it failed")
	assert.NotNil(t, c.n.shape, "the shape found is taken")
}

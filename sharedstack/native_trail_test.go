//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package sharedstack

import (
	"runtime"
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

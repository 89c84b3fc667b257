//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package engine

import (
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// needOneSlot skips where the compiled bodies below hold more than one
// heap pointer across their first yield: on arm64 their frames hold two
// distinct ones (seen under qemu), so the list is an array there.
// keepInline is the same code on every architecture; these tests pin it on
// amd64, where the frames hold exactly p.
func needOneSlot(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the bodies' frames hold one heap pointer on amd64 only; GOARCH =", runtime.GOARCH)
	}
}

// inlineCo is the coroutine of the bodies below, a global so that their
// frames hold no pointer to it.
var inlineCo *Coroutine

// payload has a pointer field: not a tiny allocation, so that its
// cleanup runs when it alone is collected.
type payload struct {
	v    int
	self *payload
}

var payloadsCollected atomic.Int64

func newPayload(v int) *payload {
	p := &payload{v: v}
	p.self = p
	runtime.AddCleanup(p, func(struct{}) { payloadsCollected.Add(1) }, struct{}{})
	return p
}

// onePointer yields holding one heap pointer, then two, then one again.
//
//go:noinline
func onePointer() {
	p := newPayload(1)
	YieldOrUnwind(inlineCo)
	p.v++
	q := newPayload(10)
	YieldOrUnwind(inlineCo)
	p.v += q.v
	YieldOrUnwind(inlineCo)
	if p.v != 12 || q.v != 10 {
		panic("payload lost")
	}
}

// A retention list of one pointer is held in the native itself
// (keepInline): the pointer keeps its object alive across collections like
// an array's element, and the list becomes an array when a second pointer
// comes.
func TestNativeOneRetainedPointerIsInline(t *testing.T) {
	needNative(t)
	needOneSlot(t)
	c, err := NewOn(Native, onePointer)
	require.NoError(t, err)
	inlineCo = c
	defer func() { inlineCo = nil }()
	before := payloadsCollected.Load()
	collect := func() {
		for range 3 {
			runtime.GC()
		}
	}

	o, p := c.Resume()
	require.Nil(t, p)
	require.Equal(t, Yielded, o)
	assert.True(t, c.n.keepInline, "one retained pointer is inline")
	assert.Equal(t, uint32(1), c.n.nkeep)
	assert.Equal(t, int(blockSize(c.n.blkClass)), c.n.footprint(), "an inline pointer costs no array")
	collect()
	assert.Equal(t, before, payloadsCollected.Load(), "the inline pointer keeps its object alive")

	o, p = c.Resume()
	require.Nil(t, p)
	require.Equal(t, Yielded, o)
	assert.False(t, c.n.keepInline, "two retained pointers are an array")
	assert.GreaterOrEqual(t, c.n.nkeep, uint32(2))
	collect()
	assert.Equal(t, before, payloadsCollected.Load())

	o, p = c.Resume()
	require.Nil(t, p)
	require.Equal(t, Yielded, o)
	collect()
	assert.Equal(t, before, payloadsCollected.Load(), "the objects are still held")
	o, p = c.Resume()
	require.Nil(t, p, "the body found its payload intact")
	require.Equal(t, Returned, o)
	assert.False(t, c.n.keepInline)
}

//go:noinline
func noPointer() {
	YieldOrUnwind(inlineCo)
}

//go:noinline
func onePointerOnce() {
	p := newPayload(1)
	YieldOrUnwind(inlineCo)
	p.v++
}

// The first yield of a coroutine holding one heap pointer allocates no
// more than one holding none (it used to allocate the pointer's array).
func TestNativeOneRetainedPointerAllocatesNothing(t *testing.T) {
	needNative(t)
	needOneSlot(t)
	cycle := func(body func()) func() {
		return func() {
			c, _ := NewOn(Native, body)
			inlineCo = c
			c.Resume()
			c.Close()
			inlineCo = nil
		}
	}
	cycle(onePointerOnce)() // warm the shape caches
	cycle(noPointer)()
	// onePointerOnce's payload and its cleanup allocate: counted apart.
	payloadAllocs := testing.AllocsPerRun(100, func() { _ = newPayload(0) })
	none := testing.AllocsPerRun(100, cycle(noPointer))
	one := testing.AllocsPerRun(100, cycle(onePointerOnce))
	assert.Equal(t, none, one-payloadAllocs, "allocations: none %v, one pointer %v (payload %v)", none, one, payloadAllocs)
}

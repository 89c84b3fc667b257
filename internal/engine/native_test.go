//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package engine

import (
	"unsafe"

	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/costack-dev/costack/internal/rt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// needNative skips when the self-check chose the portable engine; the only
// expected reason on this platform is a build without optimizations.
func needNative(t testing.TB) {
	t.Helper()
	if err := Available(Native); err != nil {
		if !strings.Contains(err.Error(), "open-coded") {
			t.Fatalf("native engine unavailable: %v", err)
		}
		t.Skip("native engine unavailable:", err)
	}
}

func TestNativeProbe(t *testing.T) {
	err := nativeProbe()
	if err != nil && strings.Contains(err.Error(), "open-coded") {
		// -gcflags=all=-N -l: the engine falls back, with the reason.
		assert.Equal(t, Portable, Default())
		assert.Contains(t, Engine(), "open-coded")
		t.Skip(err)
	}
	require.NoError(t, err)
	require.NoError(t, Available(Native))
	if os.Getenv("COSTACK_ENGINE") == "portable" {
		// Available, but not chosen.
		require.Equal(t, Portable, Default())
		return
	}
	require.Equal(t, Native, Default())
	assert.True(t, strings.HasPrefix(Engine(), "native ("), Engine())
}

func TestNativeGOffsetsMatchMirror(t *testing.T) {
	// The assembly uses the constants; the Go code uses internal/rt.
	assert.EqualValues(t, rt.GStackLo, gStackLo)
	assert.EqualValues(t, rt.GStackHi, gStackHi)
}

func TestNativeRefusals(t *testing.T) {
	needNative(t)
	cases := map[string]func(c *Coroutine){
		"reflect.Call": func(c *Coroutine) {
			reflect.ValueOf(func() { c.Yield() }).Call(nil)
		},
		"reflect.Call or reflect.MakeFunc": func(c *Coroutine) {
			var f func()
			reflect.ValueOf(&f).Elem().Set(reflect.MakeFunc(reflect.TypeOf(f), func([]reflect.Value) []reflect.Value {
				c.Yield()
				return nil
			}))
			f()
		},
		"panic is in progress": func(c *Coroutine) {
			defer func() {
				recover()
				c.Yield()
			}()
			panic("first")
		},
		"range-over-func defer": func(c *Coroutine) {
			for range 1 {
				for range func(yield func(int) bool) { yield(0) } {
					defer func() {}()
					c.Yield()
				}
			}
		},
	}
	for want, body := range cases {
		t.Run(want, func(t *testing.T) {
			var c *Coroutine
			c, err := NewOn(Native, func() { body(c) })
			require.NoError(t, err)
			o, p := c.Resume()
			require.Equal(t, Panicked, o)
			require.NotNil(t, p)
			assert.Contains(t, p.Value, want)
			assert.Contains(t, p.Value, "not supported on the native engine")
		})
	}
}

func TestNativeYieldOfOuterFromInnerIsRefused(t *testing.T) {
	needNative(t)
	var outer *Coroutine
	var innerPanic *Panic
	outer, _ = NewOn(Native, func() {
		inner, _ := NewOn(Native, func() { outer.Yield() })
		_, innerPanic = inner.Resume()
	})
	o, p := outer.Resume()
	require.Nil(t, p)
	require.Equal(t, Returned, o)
	require.NotNil(t, innerPanic)
	// The engine's own record sees it first: the outer coroutine is
	// Normal while the inner one runs (the walk would find it is not the
	// innermost, too).
	assert.Contains(t, innerPanic.Value, "resuming another coroutine")
}

func TestNativeFootprint(t *testing.T) {
	needNative(t)
	var c *Coroutine
	c, _ = NewOn(Native, func() {
		for {
			if c.Yield() {
				c.Unwind()
			}
		}
	})
	c.Resume()
	t.Logf("suspended minimal coroutine: %d bytes (%s)", c.Footprint(), Engine())
	assert.Less(t, c.Footprint(), 1024)
	c.Close()
}

//go:noinline
func descendAndYield(c *Coroutine, d int, p *int) int {
	var pad [48]byte
	local := *p + d
	pad[d%48] = byte(d)
	if d > 0 {
		return descendAndYield(c, d-1, &local) + int(pad[d%48]) - d%256
	}
	if c.Yield() {
		c.Unwind()
	}
	return local
}

// TestNativeYieldWalkWhileStackMoves yields at many new depths: each is a
// new shape, built by Go code that allocates and may grow (move) the stack
// in the middle of the walk; the values must survive.
func TestNativeYieldWalkWhileStackMoves(t *testing.T) {
	needNative(t)
	for d := 0; d < 400; d += 3 {
		var c *Coroutine
		var got int
		base := 1000
		c, _ = NewOn(Native, func() { got = descendAndYield(c, d, &base) })
		o, p := c.Resume()
		require.Nil(t, p)
		require.Equal(t, Yielded, o)
		o, p = resumeAt(c, d%7)
		require.Nil(t, p)
		require.Equal(t, Returned, o)
		require.Equal(t, 1000+d*(d+1)/2, got, "depth %d", d)
	}
}

func TestNativeArenaClasses(t *testing.T) {
	for _, n := range []uintptr{1, 31, 32, 33, 272, 1023, 1024, 1025, 2048, 2049, 40000, 65536, 65537, 300000, 1<<20 + 8} {
		b := arenaAlloc(n)
		require.GreaterOrEqual(t, b.size(), n)
		i, size := arenaClassOf(n)
		require.Equal(t, size, b.size())
		require.Equal(t, i, int(b.class))
		require.LessOrEqual(t, b.size(), max(2*n, 32))
		if n <= 65536 {
			require.Less(t, i, len(arenaClasses))
		} else {
			require.GreaterOrEqual(t, i, len(arenaClasses))
		}
		mem := b.bytes()
		for i := range mem {
			mem[i] = byte(i)
		}
		arenaFree(b)
	}
}

// Blocks of one class never overlap, and freed blocks are handed out again
// (the free list lives in the blocks themselves).
func TestNativeArenaFreeList(t *testing.T) {
	const n, size = 300, 272
	var blocks []imageBlock
	owner := map[uintptr]int{}
	for i := range n {
		b := arenaAlloc(size)
		mem := b.bytes()
		for j := range mem {
			mem[j] = byte(i)
		}
		owner[b.ptr] = i
		blocks = append(blocks, b)
	}
	require.Len(t, owner, n, "a block was handed out twice")
	for i, b := range blocks {
		for _, v := range b.bytes() {
			require.Equal(t, byte(i), v, "blocks overlap")
		}
	}
	for _, b := range blocks[:n/2] {
		arenaFree(b)
	}
	again := map[uintptr]bool{}
	for range n / 2 {
		b := arenaAlloc(size)
		_, reused := owner[b.ptr]
		require.True(t, reused, "a freed block was not reused")
		require.False(t, again[b.ptr], "a block was handed out twice")
		again[b.ptr] = true
		blocks = append(blocks, b)
	}
	for _, b := range blocks[n/2:] {
		arenaFree(b)
	}
}

// TestNativeArenaBlocksAreFreed: blocks come back when coroutines finish
// and when suspended ones are closed. (An engine coroutine dropped while
// suspended keeps its block: its owner closes it. Package costack's
// handles do: TestDroppedCoroutineClosed there.)
func TestNativeArenaBlocksAreFreed(t *testing.T) {
	needNative(t)
	runtime.GC()
	before := arenaBlocks.Load()
	func() {
		var cs []*Coroutine
		for i := 0; i < 200; i++ {
			var c *Coroutine
			c, _ = NewOn(Native, func() {
				for j := 0; j < 3; j++ {
					yieldAt(c, i%20)
				}
			})
			c.Resume()
			cs = append(cs, c)
		}
		require.Equal(t, before+200, arenaBlocks.Load())
		for _, c := range cs[:100] {
			for !c.Finished() {
				c.Resume()
			}
		}
		require.Equal(t, before+100, arenaBlocks.Load())
		for _, c := range cs[100:] {
			require.Nil(t, closeP(c))
		}
	}()
	require.Equal(t, before, arenaBlocks.Load())
}

func TestNativeYieldFromAnotherGoroutineIsRefused(t *testing.T) {
	needNative(t)
	var c *Coroutine
	var got any
	c, _ = NewOn(Native, func() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer func() { got = recover() }()
			c.Yield()
		}()
		<-done
	})
	o, p := c.Resume()
	require.Nil(t, p)
	require.Equal(t, Returned, o)
	assert.Contains(t, got, "another goroutine than the one running")
}

// endedBody is a Body running a function; it owns its Coroutine.
type endedBody struct {
	c   Coroutine
	run func()
}

func (b *endedBody) Started() {}
func (b *endedBody) Run()     { b.run() }

//go:noinline
func yieldPlain(c *Coroutine, log *[]string) {
	*log = append(*log, "yield")
	YieldOrUnwind(c)
	*log = append(*log, "resumed")
}

//go:noinline
func yieldWithDefer(c *Coroutine, log *[]string) {
	defer func() { *log = append(*log, "deferred") }()
	YieldOrUnwind(c)
	*log = append(*log, "resumed")
}

// Closing a coroutine with no deferred call pending ends it without
// unwinding its frames; with one, the deferred call runs. Both end the body
// the same way (Ended, Returned, image freed).
func TestNativeCloseWithoutUnwind(t *testing.T) {
	needNative(t)
	for _, tc := range []struct {
		name   string
		yield  func(*Coroutine, *[]string)
		defers bool
		want   string
	}{
		{"no defers", yieldPlain, false, "yield"},
		{"a defer", yieldWithDefer, true, "deferred"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log []string
			b := &endedBody{}
			c := &b.c
			b.run = func() { tc.yield(c, &log) }
			require.NoError(t, c.InitOn(Native, b, unsafe.Sizeof(*b)))
			blocks := arenaBlocks.Load()
			o, p := c.Resume()
			require.Nil(t, p)
			require.Equal(t, Yielded, o)
			assert.Equal(t, tc.defers, imageShape(t, c).openDefers)
			assert.Equal(t, !tc.defers, c.n.closesWithoutUnwind())
			require.Nil(t, closeP(c))
			assert.True(t, c.Finished())
			assert.Equal(t, blocks, arenaBlocks.Load(), "image not freed")
			assert.Equal(t, tc.want, strings.Join(log, ","))
		})
	}
}

type manyBox struct {
	p *int
	q *[4]int
}

//go:noinline
func touchBox(b *manyBox) int { return *b.p }

// heapInt and heapArray return heap objects (their results escape).
//
//go:noinline
func heapInt(v int) *int { p := new(int); *p = v; return p }

//go:noinline
func heapArray(v int) *[4]int { return &[4]int{v, v, v, v} }

// manyObjects recurses depth times; each frame has a stack object (box,
// address-taken) reached only through bp, and yields at the bottom.
//
//go:noinline
func manyObjects(c *Coroutine, depth int, sum *int) {
	var box manyBox
	box.p, box.q = heapInt(depth), heapArray(depth)
	bp := &box
	touchBox(bp)
	if depth > 0 {
		manyObjects(c, depth-1, sum)
	} else {
		for range 3 {
			c.Yield()
		}
	}
	*sum += *bp.p + bp.q[3]
}

// More than 64 stack objects in a suspended chain take the general
// retention path (retainMany): every object's heap pointers survive
// collections while suspended, and relocation.
func TestNativeManyStackObjects(t *testing.T) {
	needNative(t)
	const depth = 100
	var sum int
	var c *Coroutine
	c, err := NewOn(Native, func() { manyObjects(c, depth, &sum) })
	require.NoError(t, err)
	o, p := c.Resume()
	require.Nil(t, p)
	require.Equal(t, Yielded, o)
	require.Greater(t, len(imageShape(t, c).objs), 64)
	for d := 1; !c.Finished(); d++ {
		runtime.GC()
		runtime.GC()
		_, p = resumeAt(c, 3*d)
		require.Nil(t, p)
	}
	require.Equal(t, depth*(depth+1), sum)
}

//go:noinline
func resumeFromHere(c *Coroutine) (Outcome, *Panic) {
	if _, ok := c.Acquire(); !ok {
		return Busy, nil
	}
	o, p := c.ResumeAcquired()
	if o <= NoStack {
		c.Release()
	}
	return o, p
}

// The hot path depends on inlining: Resume into its caller (enter is called
// from the caller's frame) and YieldOrUnwind into the body (yieldSwitch is
// called from the body's frame). Every frame between them is a mispredicted
// return per switch and, on the yield side, bytes in every image; a change
// that makes either too costly to inline fails here.
func TestNativeHotPathIsInlined(t *testing.T) {
	needNative(t)
	var callers []string
	body := &endedBody{}
	c := &body.c
	body.run = func() {
		pcs := make([]uintptr, 8)
		for _, pc := range pcs[:runtime.Callers(1, pcs)] {
			callers = append(callers, funcName(pc-1))
		}
		YieldOrUnwind(c)
	}
	require.NoError(t, c.InitOn(Native, body, unsafe.Sizeof(*body)))
	o, p := resumeFromHere(c)
	require.Nil(t, p)
	require.Equal(t, Yielded, o)
	// Physical frames above the body: run (via Run), enter, then the
	// function that called Resume.
	i := slices.IndexFunc(callers, func(s string) bool { return strings.HasSuffix(s, ".enter") })
	require.GreaterOrEqual(t, i, 0, "no entry frame in %v", callers)
	require.Greater(t, len(callers), i+1)
	assert.True(t, strings.HasSuffix(callers[i+1], ".resumeFromHere"), "Resume is not inlined: enter is called by %s", callers[i+1])
	// The frame above yieldSwitch in the image is the body's.
	assert.Contains(t, funcName(imageShape(t, c).pcs[1].pc), "TestNativeHotPathIsInlined", "YieldOrUnwind is not inlined into the body")
	require.Nil(t, closeP(c))
}

// run is the bottom frame of every coroutine. On amd64 it is the entry
// frame, rebuilt by every resume, and no part of the image: the image is
// yieldSwitch's frame and the body's. On arm64 its frame is in every
// image: a change that makes it bigger (e.g. an inlined call that builds a
// value in its frame) costs every suspended coroutine those bytes. There
// it is at most 64 bytes (the open-coded defer's closure, its pointer and
// bits, the saved LR and frame pointer, in 16-byte units).
func TestNativeRunFrameIsSmall(t *testing.T) {
	needNative(t)
	b := &ownerBody{}
	require.NoError(t, b.c.InitOn(Native, b, unsafe.Sizeof(*b)))
	o, p := b.c.Resume()
	require.Nil(t, p)
	require.Equal(t, Yielded, o)
	defer b.c.Close()
	s := imageShape(t, &b.c)
	var names []string
	for _, p := range s.pcs {
		names = append(names, funcName(p.pc))
	}
	t.Logf("frames %v, image %d bytes", names, s.size)
	i := slices.IndexFunc(names, func(n string) bool { return strings.HasSuffix(n, "engine.run") })
	require.GreaterOrEqual(t, i, 0)
	if runtime.GOARCH == "amd64" {
		require.Equal(t, len(s.pcs)-1, i, "run is the entry frame")
		require.Equal(t, 3, len(s.pcs))
		assert.True(t, strings.HasSuffix(names[1], "(*ownerBody).Run"))
		// The image is yieldSwitch's frame (8 bytes of locals, its saved
		// BP, and the return PC of its call of switchOut at the bottom) and
		// the body's Run frame, up to run's SP.
		ys := s.pcs[1].off - s.pcs[0].off
		assert.Equal(t, uint32(24), ys)
		assert.Equal(t, uintptr(s.pcs[2].off)+8, s.size, "the image ends at the return PC into run")
		return
	}
	require.Less(t, i+1, len(s.pcs))
	frame := s.pcs[i+1].off - s.pcs[i].off
	t.Logf("run's frame: %d bytes", frame)
	assert.LessOrEqual(t, frame, uint32(64))
}

// A coroutine whose image is larger than the free stack of the goroutine
// that resumes it: the room is checked where the image is copied in, and
// run grows the stack and continues (prepareResume). Every frame's values
// survive, on a new goroutine each time (whose stack starts small).
func TestNativeResumeWithoutRoom(t *testing.T) {
	needNative(t)
	var sums []int
	o := new(funcCoroutine)
	c := &o.c
	o.f = func() { sums = append(sums, deepFrames(c, 48)) }
	c.setup(Native, o, unsafe.Sizeof(*o))
	before := roomMade.Load()
	for i := 0; !c.Finished(); i++ {
		_, p := resumeOn(c, 0)
		require.Nil(t, p)
		require.Less(t, i, 10)
	}
	assert.Equal(t, []int{48 * 49 / 2 * 3}, sums)
	assert.Positive(t, roomMade.Load()-before, "no resume needed room")
}

// A resume without room from another distance to the stack top than the
// image's last entry frame had: the room check refuses before anything
// else, and the relocation that follows the growth must be to the new
// entry frame, measured where the check refused, not to the old distance
// applied to the new stack (a region outside the stack, which may be heap
// memory: a live heap pointer of the image in it would have been moved at
// the next relocation). Yielded 600 frames deep on one goroutine (about
// 60 KB of resumer frames above the image), resumed at the top of a fresh
// goroutine's small stack, and back; relocate refuses a target outside the
// stack, and every frame's values survive.
func TestNativeResumeWithoutRoomElsewhere(t *testing.T) {
	needNative(t)
	var sums []int
	o := new(funcCoroutine)
	c := &o.c
	o.f = func() { sums = append(sums, deepFrames(c, 24)) }
	c.setup(Native, o, unsafe.Sizeof(*o))
	before := roomMade.Load()
	for i := 0; !c.Finished(); i++ {
		depth := 0
		if i%2 == 0 {
			depth = 600
		}
		if _, p := resumeOn(c, depth); p != nil {
			t.Fatalf("resume %d: %v", i, p.Value)
		}
		require.Less(t, i, 10)
	}
	assert.Equal(t, []int{24 * 25 / 2 * 3}, sums)
	assert.Positive(t, roomMade.Load()-before, "no resume needed room")
}

// One coroutine at a time, made, yielded and ended: its block's chunk
// empties at every end and becomes the spare, whose pages are released at
// the next collection, not at every end (a system call and a page fault
// per page touched on every creation made create+resume+Close 8x slower).
// After a collection the spare gives its pages back.
func TestNativeSpareChunkReleasedAtCollection(t *testing.T) {
	needNative(t)
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	// A collection whose aging has run: none is pending (cleanups run in
	// order) and none starts while the collector is off.
	agingOnce.Do(armAging)
	agings := arenaAgings.Load()
	for i := 0; i < 200 && arenaAgings.Load() == agings; i++ {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	require.Greater(t, arenaAgings.Load(), agings, "the arena is not aged after collections")
	before := arenaReleases.Load()
	for range 200 {
		var c *Coroutine
		c, _ = NewOn(Native, func() { yieldAt(c, 1) })
		c.Resume()
		c.Resume()
		require.True(t, c.Finished())
	}
	assert.Equal(t, before, arenaReleases.Load(), "pages released while the program ran")
	// The cleanup that ages the arena runs on the runtime's cleanup
	// goroutine after a cycle: give it cycles until it has.
	for i := 0; i < 200 && arenaReleases.Load() == before; i++ {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	assert.Greater(t, arenaReleases.Load(), before, "the spare kept its pages across collections")
}

// deepFrames recurses depth frames of 1 KB each, yields at the bottom
// (twice), and returns a sum of what every frame kept.
//
//go:noinline
func deepFrames(c *Coroutine, depth int) int {
	var pad [128]int
	for i := range pad {
		pad[i] = depth
	}
	if depth == 0 {
		YieldOrUnwind(c)
		YieldOrUnwind(c)
		return 0
	}
	s := deepFrames(c, depth-1)
	return s + pad[depth%128] + pad[0] + pad[127]
}

// The retention list is sized to what it holds: when a coroutine holds
// fewer heap pointers at each yield, the array is replaced once it is more
// than about twice as long as needed, even when it shrinks a little at a
// time (its length is kept with it, not forgotten at a reuse).
func TestNativeRetentionListShrinks(t *testing.T) {
	needNative(t)
	held := []int{64, 40, 20, 5, 0}
	var c *Coroutine
	c, err := NewOn(Native, func() { holdPointers(c, held) })
	require.NoError(t, err)
	var first *unsafe.Pointer
	var firstLen uint32
	for i := range held {
		o, p := c.Resume()
		require.Nil(t, p)
		require.Equal(t, Yielded, o)
		if i == 0 {
			first, firstLen = c.n.keep, c.n.nkeep
			require.GreaterOrEqual(t, firstLen, uint32(held[0]))
		}
	}
	assert.NotEqual(t, first, c.n.keep, "the first, longest array is still held")
	// What the frames hold besides the 64 (the body's closure, its
	// arguments) is a few pointers: the last array is far shorter.
	assert.Less(t, c.n.nkeep, firstLen/2)
	require.Nil(t, closeP(c))
}

// holdPointers yields once per element of held, holding that many heap
// pointers in its frame at each yield.
//
//go:noinline
func holdPointers(c *Coroutine, held []int) {
	var ptrs [64]*int
	for i := range ptrs {
		ptrs[i] = new(int)
	}
	for _, n := range held {
		for i := n; i < len(ptrs); i++ {
			ptrs[i] = nil
		}
		YieldOrUnwind(c)
		for _, p := range ptrs[:n] {
			*p++
		}
	}
}

// imageShape describes the saved image of a suspended coroutine as a shape,
// composed from a walk of its chain (whether or not the engine gave the
// chain a shape).
func imageShape(t testing.TB, c *Coroutine) *shape {
	t.Helper()
	ch, why := c.n.imageChain()
	require.Empty(t, why)
	defer putChain(ch)
	ch.collectObjects(uintptr(c.n.size))
	return composeShape(ch, uintptr(c.n.size))
}

// release forgets the image and keeps the rest. A field added to native
// must be put on one side here: the test fails for a field that release
// neither keeps nor clears.
func TestNativeReleaseForgetsImage(t *testing.T) {
	kept := map[string]bool{"ownerLen": true, "phase": true, "noYield": true, "closing": true, "unwinds": true,
		"outcome": true, "portable": true, "ended": true, "parent": true}
	var n native
	v := reflect.ValueOf(&n).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		f = reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
		switch f.Kind() {
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uintptr:
			f.SetUint(1)
		case reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
		default:
			t.Fatalf("field %s: kind %v not handled by the test", v.Type().Field(i).Name, f.Kind())
		}
	}
	n.blkPtr = 0 // no block to free
	n.release()
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if kept[name] {
			assert.False(t, v.Field(i).IsZero(), "release keeps %s", name)
		} else {
			assert.True(t, v.Field(i).IsZero(), "release forgets %s", name)
		}
	}
}

// A relocation whose target is no longer inside the stack — the stack
// shrank at a collection between the switch's measure and relocate, so the
// image no longer fits below the entry frame — relocates nothing: the
// switch then refuses for lack of room and the resume grows the stack
// first. (It used to panic, which GC torture hit with a bottom 0x38 bytes
// below the stack's end.)
func TestNativeRelocateWithoutRoomRelocatesNothing(t *testing.T) {
	needNative(t)
	var sum int
	o := new(funcCoroutine)
	c := &o.c
	o.f = func() { sum = deepFrames(c, 8) }
	c.setup(Native, o, unsafe.Sizeof(*o))
	_, p := resumeOn(c, 0)
	require.Nil(t, p)
	require.False(t, c.Finished())
	old, image := c.n.oldBottom, slices.Clone(unsafe.Slice((*byte)(unsafe.Add(nil, c.n.blkPtr)), c.n.size))
	gp := rt.GetG()
	c.n.baseOff = uint32(gp.StackHi - gp.StackLo - 64) // the image's bottom would be below StackLo
	require.NotPanics(t, c.n.relocate)
	assert.Equal(t, old, c.n.oldBottom, "the image's coordinates moved")
	assert.Equal(t, image, unsafe.Slice((*byte)(unsafe.Add(nil, c.n.blkPtr)), c.n.size), "the image changed")
	for i := 0; !c.Finished(); i++ {
		_, p := resumeOn(c, 300*(i%2))
		require.Nil(t, p)
		require.Less(t, i, 10)
	}
	assert.Equal(t, 8*9/2*3, sum)
}

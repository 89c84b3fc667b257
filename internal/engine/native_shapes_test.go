//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package engine

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/costack-dev/costack/internal/shapes"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The shapes of code real programs yield from, beyond one site a few frames
// deep (issue 13): recursive generators, deep chains, many yield sites,
// many pending defer records. Each test is a finding that the engine of
// f70175a failed.

// walker is a coroutine that walks tree in order forever, yielding each
// value (in v).
func walker(t testing.TB, tree *shapes.Node, v *int) *Coroutine {
	t.Helper()
	var c *Coroutine
	c, err := NewOn(Native, func() {
		for {
			shapes.Walk(tree, func(x int) bool {
				*v = x
				YieldOrUnwind(c)
				return true
			})
		}
	})
	require.NoError(t, err)
	return c
}

// A recursive generator's chain differs at almost every yield (left and
// right recursion): the engine of f70175a built a shape from the runtime's
// tables at every yield (8.3 µs an element, 54x iter.Pull). A yield must
// compose known frames instead: no allocation, no decoding, once every
// frame has been seen.
func TestNativeRecursiveGeneratorYieldsCompose(t *testing.T) {
	needNative(t)
	const depth = 10
	var v int
	c := walker(t, shapes.Balanced(depth), &v)
	defer c.Close()
	n := 1<<depth - 1
	for i := range 3 * n { // three whole walks: every chain seen, recurring ones kept
		_, p := c.Resume()
		require.Nil(t, p)
		require.Equal(t, i%n, v)
	}
	// No collection in the window: two of them age out the cached facts
	// of frames that no walk needed in between (ageCaches), which a later
	// walk then decodes again, by design.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	decodes := ReadStats().FrameDecodes
	allocs := testing.AllocsPerRun(4*n, func() { c.Resume() })
	assert.LessOrEqual(t, allocs, 0.05, "allocations per yield of a recursive generator")
	assert.Equal(t, decodes, ReadStats().FrameDecodes, "frames decoded again")
}

// Relocated too: each element resumed from another depth than the last, so
// that every resume moves the image (walked when it has no shape).
func TestNativeRecursiveGeneratorRelocates(t *testing.T) {
	needNative(t)
	const depth = 9
	var v int
	c := walker(t, shapes.Balanced(depth), &v)
	defer c.Close()
	n := 1<<depth - 1
	for i := range 2 * n {
		runtime.GC()
		_, p := resumeAt(c, i%7)
		require.Nil(t, p)
		require.Equal(t, i%n, v)
	}
}

// A walk of a list-shaped tree yields at depths 1..2,000: on f70175a it
// left 48 MB of shapes on the heap, never freed (quadratic in the depth).
// The caches are bounded, and what is left after the walk is small.
func TestNativeDeepWalkLeavesCachesBounded(t *testing.T) {
	needNative(t)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 2000
	for range 2 {
		var v int
		c := walker(t, shapes.List(n), &v)
		for i := range n {
			_, p := c.Resume()
			require.Nil(t, p)
			require.Equal(t, i, v)
		}
		require.Nil(t, closeP(c))
	}
	st := ReadStats()
	t.Logf("caches: %d frames (%d B), %d shapes (%d B)", st.FrameEntries, st.FrameBytes, st.ShapeEntries, st.ShapeBytes)
	assert.LessOrEqual(t, st.FrameBytes+st.ShapeBytes, int64(4<<20), "the caches hold more than 4 MB")
	runtime.GC()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	assert.Less(t, int64(after.HeapAlloc)-int64(before.HeapAlloc), int64(8<<20), "heap left behind by a deep walk")
}

// 1,024 yield sites with identical frames: beyond 64 shapes per image size
// the engine of f70175a rebuilt a shape at every yield (0.24 µs to 2.7 µs a
// round trip). Every site's chain is kept, and a yield allocates nothing.
func TestNativeManyYieldSites(t *testing.T) {
	needNative(t)
	var site int
	var c *Coroutine
	c, err := NewOn(Native, func() {
		for i := 0; ; i++ {
			shapes.YieldAt(i, func(i int) {
				site = i % shapes.Sites
				YieldOrUnwind(c)
			})
		}
	})
	require.NoError(t, err)
	defer c.Close()
	for i := range 3 * shapes.Sites {
		_, p := c.Resume()
		require.Nil(t, p)
		require.Equal(t, i%shapes.Sites, site)
	}
	allocs := testing.AllocsPerRun(2*shapes.Sites, func() { c.Resume() })
	assert.LessOrEqual(t, allocs, 0.05, "allocations per yield over many sites")
	assert.GreaterOrEqual(t, ReadStats().ShapeEntries, int64(shapes.Sites/2), "the sites' chains are not kept")
}

// deepYield runs a coroutine that yields twice depth calls deep and
// returns; each resume comes from another depth, so the image moves.
func deepYield(t *testing.T, depth int) {
	t.Helper()
	var got int
	var c *Coroutine
	c, err := NewOn(Native, func() {
		got = shapes.Deep(depth, func() {
			YieldOrUnwind(c)
			YieldOrUnwind(c)
		})
	})
	require.NoError(t, err)
	for i := 0; !c.Finished(); i++ {
		_, p := resumeAt(c, 3*i)
		require.Nil(t, p)
		require.Less(t, i, 4)
	}
	assert.Equal(t, depth, got)
}

// A yield more than 65,536 frames deep was "native engine lost the frame
// chain (please report)" on f70175a: there is no limit but memory.
func TestNativeYieldVeryDeep(t *testing.T) {
	needNative(t)
	deepYield(t, 70_000)
	if !testing.Short() {
		deepYield(t, 1_000_000)
	}
}

// More than 16 pending stack-allocated defer records were refused on
// f70175a (a recursive-descent parser 17 levels deep with one defer per
// level); 200 work, and each runs once, on return and when closed.
func TestNativeManyStackDeferRecords(t *testing.T) {
	needNative(t)
	for _, closeIt := range []bool{false, true} {
		t.Run(fmt.Sprint("close=", closeIt), func(t *testing.T) {
			const depth = 200
			ran := -1
			var c *Coroutine
			c, err := NewOn(Native, func() {
				ran = shapes.Parse(depth, func() {
					YieldOrUnwind(c)
					YieldOrUnwind(c)
				})
			})
			require.NoError(t, err)
			_, p := c.Resume()
			require.Nil(t, p)
			stackRecs := 0
			for _, r := range c.n.detachedDefers() {
				if r.heap == nil {
					stackRecs++
				}
			}
			assert.Equal(t, depth+1, stackRecs, "stack-allocated records detached")
			runtime.GC()
			if closeIt {
				require.Nil(t, closeP(c))
				assert.Equal(t, -1, ran, "closed: Parse did not return")
				return
			}
			for i := 1; !c.Finished(); i++ {
				_, p := resumeAt(c, 5*i)
				require.Nil(t, p)
			}
			assert.Equal(t, depth+1, ran)
		})
	}
}

// The memory of ended coroutines goes back to the OS: on f70175a 70% of
// the peak growth stayed resident (freed image blocks on free lists, chunks
// never unmapped). Measured in a child process, alone. (Dropped coroutines:
// package costack's TestDroppedMemoryGoesBack.)
func TestNativeMemoryGoesBack(t *testing.T) {
	needNative(t)
	if testing.Short() {
		t.Skip("slow")
	}
	out, err := runSelf(t, []string{"COSTACK_MEMORY_CHILD=1"}, "-test.run=^TestNativeMemoryGoesBackChild$", "-test.v")
	require.NoError(t, err, "%s", tail(out))
	require.Contains(t, string(out), "--- PASS: TestNativeMemoryGoesBackChild", "%s", tail(out))
}

func TestNativeMemoryGoesBackChild(t *testing.T) {
	if os.Getenv("COSTACK_MEMORY_CHILD") == "" {
		t.Skip("run by TestNativeMemoryGoesBack")
	}
	needNative(t)
	settle := func() int64 {
		runtime.GC()
		runtime.GC()
		debug.FreeOSMemory()
		return rss(t)
	}
	base := settle()
	const n = 300_000
	cs := make([]*loopBody, n)
	for i := range cs {
		b := &loopBody{depth: i % 8}
		require.NoError(t, b.c.InitOn(Native, b, unsafe.Sizeof(*b)))
		b.c.Resume()
		cs[i] = b
	}
	peak := rss(t)
	for _, b := range cs {
		b.c.Close()
	}
	cs = nil
	left := settle()
	t.Logf("RSS: base %d MB, peak +%d MB, after drop +%d MB; arena %d B mapped, %d blocks",
		base>>20, (peak-base)>>20, (left-base)>>20, ReadStats().ArenaMapped, ReadStats().ImageBlocks)
	assert.LessOrEqual(t, left-base, (peak-base)/10, "more than 10%% of the peak growth stayed resident")
}

// loopBody is an owned coroutine (InitOwned: the engine registers no
// cleanup, whose runtime record would stay resident) that yields forever,
// depth calls deep.
type loopBody struct {
	c     Coroutine
	depth int
}

func (b *loopBody) Started()    {}
func (b *loopBody) CheckYield() {}
func (b *loopBody) Resumed()    {}
func (b *loopBody) Ended()      {}
func (b *loopBody) Run() {
	for {
		yieldAt(&b.c, b.depth)
	}
}

// rss is this process's resident set size, from /proc/self/statm.
func rss(t testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	require.NoError(t, err)
	f := strings.Fields(string(b))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	require.NoError(t, err)
	return pages * int64(os.Getpagesize())
}

// Resuming a 5 MB image 12 MB deep under debug.SetMaxStack(16 MB) was the
// runtime's fatal "stack overflow" on f70175a. It is NoStack now: the
// coroutine stays suspended, and resumes from a shallower place. In a
// child process, as a regression would kill the test binary.
func TestNativeResumeBeyondStackLimit(t *testing.T) {
	needNative(t)
	out, err := runSelf(t, []string{"COSTACK_STACKLIMIT_CHILD=1"}, "-test.run=^TestNativeResumeBeyondStackLimitChild$", "-test.v")
	require.NoError(t, err, "%s", tail(out))
	require.Contains(t, string(out), "--- PASS: TestNativeResumeBeyondStackLimitChild", "%s", tail(out))
}

func TestNativeResumeBeyondStackLimitChild(t *testing.T) {
	if os.Getenv("COSTACK_STACKLIMIT_CHILD") == "" {
		t.Skip("run by TestNativeResumeBeyondStackLimit")
	}
	needNative(t)
	defer debug.SetMaxStack(debug.SetMaxStack(16 << 20))
	var sums []int
	o := new(funcCoroutine)
	c := &o.c
	o.f = func() { sums = append(sums, deepFrames(c, 5<<10)) } // 5,120 frames of 1 KB
	c.setup(Native, o, unsafe.Sizeof(*o))
	for !c.Finished() && c.ImageSize() == 0 {
		_, p := resumeOn(c, 0)
		require.Nil(t, p)
	}
	require.Greater(t, c.ImageSize(), 5<<20)
	done := make(chan Outcome)
	go func() { done <- deepThenResume(c, 12<<10) }() // 12 MB of 1 KB frames
	assert.Equal(t, NoStack, <-done, "a resume beyond the limit")
	assert.False(t, c.Finished())
	for i := 0; !c.Finished(); i++ {
		o, p := resumeOn(c, 0)
		require.Nil(t, p)
		require.NotEqual(t, NoStack, o)
		require.Less(t, i, 4)
	}
	assert.Equal(t, []int{(5 << 10) * (5<<10 + 1) / 2 * 3}, sums)
}

// deepThenResume recurses depth frames of 1 KB, then resumes c.
//
//go:noinline
func deepThenResume(c *Coroutine, depth int) Outcome {
	var pad [128]int
	pad[depth%128] = depth
	if depth > 0 {
		o := deepThenResume(c, depth-1)
		return o + Outcome(pad[depth%128]-depth)
	}
	o, _ := c.Resume()
	return o
}

// A stack record's closure lives in its frame, and while the record is
// detached its fn is no stack pointer any copier adjusts: it stays an
// offset from the image bottom until the record is relinked, after the
// switch. (It was relocated to the new bottom before the switch, and a
// stack move right after — the collector shrinking the stack at
// yieldResumed's prologue — left it pointing into the old stack: the
// deferred calls then updated a dead copy of their frames.) Coroutines
// take turns at the same place while the collector runs, for a while: the
// window is a few instructions.
func TestNativeStackDeferRecordsSurviveStackMoves(t *testing.T) {
	needNative(t)
	defer debug.SetGCPercent(debug.SetGCPercent(1))
	stop := make(chan struct{})
	gcDone := make(chan struct{})
	go func() {
		defer close(gcDone)
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
				time.Sleep(time.Millisecond)
			}
		}
	}()
	defer func() { close(stop); <-gcDone }()
	deadline := time.Now().Add(3 * time.Second)
	for round := 0; time.Now().Before(deadline); round++ {
		var wrong []string
		work := make(chan *Coroutine, 2)
		for i := range 2 {
			rng := rand.New(rand.NewPCG(uint64(round), uint64(i)))
			var c *Coroutine
			c, _ = NewOn(Native, func() {
				for range 3 {
					depth, pre := 1+rng.IntN(60), rng.IntN(10)
					if ran := parseAt(pre, depth, func() { YieldOrUnwind(c) }); ran != depth+1 {
						wrong = append(wrong, fmt.Sprintf("%d of %d deferred calls ran", ran, depth+1))
					}
				}
			})
			work <- c
		}
		for left := 2; left > 0; {
			c := <-work
			_, p := resumeAt(c, 3)
			require.Nil(t, p)
			if c.Finished() {
				left--
				continue
			}
			work <- c
		}
		require.Empty(t, wrong, "round %d", round)
	}
}

// parseAt calls shapes.Parse pre frames deep.
//
//go:noinline
func parseAt(pre, depth int, yield func()) int {
	if pre > 0 {
		return parseAt(pre-1, depth, yield)
	}
	return shapes.Parse(depth, yield)
}

//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package engine

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/costack-dev/costack/internal/rt"
	"github.com/costack-dev/costack/internal/shapes"
	"github.com/stretchr/testify/require"
)

// The GC torture: many coroutines keep heap objects, maps, strings,
// closures, interfaces and address-taken stack locals pointing at each
// other across frames, only reachable from their suspended frames, and
// verify every value after every resume, while several goroutines resume
// them from random call depths under GOGC=1 with concurrent runtime.GC().
//
// Long mode: COSTACK_SOAK=10m go test -run TestNativeTorture ./internal/engine/
// Runtime checkers (also run by TestNativeTortureGODEBUG when COSTACK_SOAK
// is set, or by hand):
//
//	GODEBUG=gccheckmark=1 go test -run 'TestNativeTorture$' ./internal/engine/
//	GODEBUG=clobberfree=1 go test -run 'TestNativeTorture$' ./internal/engine/

type tortureHeap struct {
	key  int
	vals []int
	next *tortureHeap
}

type tortureLocal struct {
	parent *tortureLocal // into the caller's frame
	self   *tortureLocal // into this frame
	h      *tortureHeap  // heap, reachable only through this stack object
	arr    [3]*int
	s      string
	iface  any
	fn     func() int
	m      map[int]*tortureHeap
	key    int
}

var tortureSink atomic.Int64

type tortureConfig struct {
	coroutines int
	resumers   int
	rounds     int
	maxDepth   int
	duration   time.Duration
}

//go:noinline
func newHeap(key int) *tortureHeap {
	h := &tortureHeap{key: key, vals: make([]int, 1+key%5)}
	for i := range h.vals {
		h.vals[i] = key*7 + i
	}
	h.next = &tortureHeap{key: -key, vals: []int{key}}
	return h
}

func checkHeap(h *tortureHeap, key int) string {
	if h == nil || h.key != key || len(h.vals) != 1+key%5 {
		return "heap object"
	}
	for i, v := range h.vals {
		if v != key*7+i {
			return "heap slice"
		}
	}
	if h.next == nil || h.next.key != -key || len(h.next.vals) != 1 || h.next.vals[0] != key {
		return "heap chain"
	}
	return ""
}

// fill sets the heap parts of l; the stack pointers are set by the caller,
// so that escape analysis keeps l on the stack.
func fill(l *tortureLocal, key int) {
	l.key = key
	l.h = newHeap(key)
	for i := range l.arr {
		v := key + i
		l.arr[i] = &v
	}
	l.s = strconv.Itoa(key) + "-" + strconv.Itoa(key*3)
	var boxed any = newHeap(key + 1)
	l.iface = boxed
	h := newHeap(key + 2)
	l.fn = func() int { return h.vals[0] + len(h.next.vals) }
	l.m = map[int]*tortureHeap{key: newHeap(key + 3), key + 1: newHeap(key + 4)}
}

func check(l *tortureLocal, parent *tortureLocal, key int) string {
	if l.key != key || l.self != l || l.parent != parent {
		return "stack pointers"
	}
	if e := checkHeap(l.h, key); e != "" {
		return e
	}
	for i, p := range l.arr {
		if p == nil || *p != key+i {
			return "array of pointers"
		}
	}
	if l.s != strconv.Itoa(key)+"-"+strconv.Itoa(key*3) {
		return "string"
	}
	if h, ok := l.iface.(*tortureHeap); !ok || checkHeap(h, key+1) != "" {
		return "interface"
	}
	if l.fn == nil || l.fn() != (key+2)*7+1 {
		return "closure"
	}
	if len(l.m) != 2 || checkHeap(l.m[key], key+3) != "" || checkHeap(l.m[key+1], key+4) != "" {
		return "map"
	}
	return ""
}

type tortureState struct {
	c   *Coroutine
	rng *rand.Rand
}

// tortureLevel is one frame of a coroutine: it keeps a filled stack object
// and a heap pointer in a plain local, recurses, and checks both after the
// call (and on unwind by Close). It also checks its parent's stack object,
// which for tortureTail frames is reachable only through this frame's
// argument: that exercises stack-object reachability (I2).
//
//go:noinline
func tortureLevel(st *tortureState, d int, parent *tortureLocal, parentKey, key int) {
	var l tortureLocal
	l.parent, l.self = parent, &l
	fill(&l, key)
	direct := newHeap(key + 9) // a live heap pointer in a plain slot
	defer func() {
		// Runs on return and when Close unwinds the coroutine.
		if e := check(&l, parent, key); e != "" {
			panic(fmt.Sprintf("torture: %s wrong at depth %d in a deferred call", e, d))
		}
	}()
	switch {
	case d == 0:
		tortureBottom(st, &l, key)
	case d%2 == 1:
		tortureTail(st, d-1, &l, key, (key*31+d)%1000003)
	default:
		tortureLevel(st, d-1, &l, key, (key*31+d)%1000003)
	}
	if e := check(&l, parent, key); e != "" {
		panic(fmt.Sprintf("torture: %s wrong at depth %d", e, d))
	}
	if checkHeap(direct, key+9) != "" {
		panic("torture: live heap pointer in a plain slot freed")
	}
	if parent != nil {
		if e := check(parent, parent.parent, parentKey); e != "" {
			panic(fmt.Sprintf("torture: parent's %s wrong at depth %d", e, d))
		}
	}
}

// tortureTail does not use its own stack object after the call: the
// liveness maps call it dead, and only the callee's parent argument makes
// the GC (and the retention list) reach it.
//
//go:noinline
func tortureTail(st *tortureState, d int, parent *tortureLocal, parentKey, key int) {
	var l tortureLocal
	l.parent, l.self = parent, &l
	fill(&l, key)
	tortureLevel(st, d, &l, key, (key*17+d)%1000003)
	if parent != nil {
		if e := check(parent, parent.parent, parentKey); e != "" {
			panic(fmt.Sprintf("torture: tail parent's %s wrong at depth %d", e, d))
		}
	}
}

//go:noinline
func tortureBottom(st *tortureState, l *tortureLocal, key int) {
	n := 1 + st.rng.IntN(3)
	for i := 0; i < n; i++ {
		switch st.rng.IntN(16) {
		case 0, 1:
			// Grow the stack while running and yield at the bottom.
			tortureGrow(st, 4+st.rng.IntN(40), l, key)
		case 2:
			// Park the resumer with the coroutine's frames on its stack,
			// and let a channel write into a frame (a sudog points at it).
			ch := make(chan *tortureHeap)
			go func() { ch <- newHeap(key + 5) }()
			v := <-ch
			runtime.Gosched()
			tortureYield(st)
			if checkHeap(v, key+5) != "" {
				panic("torture: value received into a frame lost")
			}
		case 4:
			// Loop defers (heap records) pending across yields: the
			// native engine detaches and relinks them (I5).
			left := new(int)
			tortureLoopDefers(st, key, left)
			if *left != 0 {
				panic(fmt.Sprintf("torture: %d loop defers did not run", *left))
			}
		case 5:
			// Random recursion through two call sites, yielding at
			// random levels: a new chain at almost every yield, as a
			// recursive generator makes (walked, not shaped).
			if got := tortureRecurse(st, 2+st.rng.IntN(12), key); got != key {
				panic("torture: recursion returned a wrong value")
			}
		case 6:
			// A deep chain: hundreds to thousands of frames, each with a
			// heap pointer only it keeps.
			d := 200 + st.rng.IntN(2000)
			if got := tortureDeep(st, d, key); got != d {
				panic("torture: deep chain returned a wrong value")
			}
		case 7:
			// Many pending stack-allocated defer records (one per level
			// of a recursive descent), across yields.
			d := 1 + st.rng.IntN(60)
			if ran := shapes.Parse(d, func() { tortureYield(st) }); ran != d+1 {
				panic(fmt.Sprintf("torture: %d of %d stack-allocated deferred calls ran", ran, d+1))
			}
		case 3:
			// Spin long enough to be preempted asynchronously inside
			// restored frames.
			x := 0
			for i := 0; i < 200000; i++ {
				x += i ^ key
			}
			tortureSink.Store(int64(x))
			tortureYield(st)
		default:
			tortureYield(st)
		}
		if e := check(l, l.parent, key); e != "" {
			panic(fmt.Sprintf("torture: %s wrong after yield", e))
		}
	}
}

// tortureLoopDefers defers in a loop (never open-coded: heap records on
// g._defer), then yields with the records pending, possibly after growing
// the stack. Each deferred call checks heap data only its closure keeps
// alive and that the calls run innermost first, on return or when Close
// unwinds the coroutine.
//
//go:noinline
func tortureLoopDefers(st *tortureState, key int, left *int) {
	n := 1 + st.rng.IntN(4)
	next := n - 1
	*left = n
	for i := 0; i < n; i++ {
		h := newHeap(key + 10 + i)
		defer func() {
			if checkHeap(h, key+10+i) != "" {
				panic("torture: heap data of a loop defer lost")
			}
			if next != i {
				panic(fmt.Sprintf("torture: loop defer %d ran when %d was expected", i, next))
			}
			next--
			*left--
		}()
	}
	if st.rng.IntN(2) == 0 {
		tortureGrow(st, st.rng.IntN(20), nil, key)
	}
	tortureYield(st)
}

// tortureRecurse recurses d levels, each through one of two call sites
// chosen at random, with a stack object pointing at its parent's and a
// heap pointer, yielding at random levels; it returns key.
//
//go:noinline
func tortureRecurse(st *tortureState, d, key int) int {
	h := newHeap(key + d)
	var local [2]*tortureHeap
	local[0] = h
	lp := &local
	if st.rng.IntN(3) == 0 {
		tortureYield(st)
	}
	r := key
	if d > 0 {
		if st.rng.IntN(2) == 0 {
			r = tortureRecurse(st, d-1, key)
		} else {
			r = tortureRecurse(st, d-1, key) + 0*len(lp)
		}
	}
	if checkHeap(lp[0], key+d) != "" || checkHeap(h, key+d) != "" {
		panic("torture: recursion frame's heap data lost")
	}
	return r
}

// tortureDeep recurses d frames, each keeping a heap pointer, yields at
// the bottom, and returns d.
//
//go:noinline
func tortureDeep(st *tortureState, d, key int) int {
	h := newHeap(key + d%97)
	if d == 0 {
		tortureYield(st)
		return 0
	}
	r := tortureDeep(st, d-1, key) + 1
	if checkHeap(h, key+d%97) != "" {
		panic("torture: deep frame's heap data lost")
	}
	return r
}

//go:noinline
func tortureGrow(st *tortureState, d int, l *tortureLocal, key int) {
	var pad [512]byte
	pad[d] = byte(d)
	if d > 0 {
		tortureGrow(st, d-1, l, key)
	} else {
		tortureYield(st)
	}
	if pad[d] != byte(d) {
		panic("torture: padding frame corrupted")
	}
}

// tortureYield yields and then checks the frame-pointer chain, which the
// tracer and the block/mutex profilers walk.
//
//go:noinline
func tortureYield(st *tortureState) {
	if st.c.Yield() {
		st.c.Unwind()
	}
	if e := checkFPChain(); e != "" {
		panic("torture: " + e)
	}
}

// checkFPChain walks the saved frame pointers from the caller to the top of
// the goroutine: each must lie above the previous one inside this
// goroutine's stack and be followed by a return PC of a known function.
// The walk itself makes no calls, so the stack cannot move under it.
//
//go:noinline
func checkFPChain() string {
	var pcs [256]uintptr
	n := 0
	gp := rt.GetG()
	bp := callerFP()
	for ; bp != 0 && n < len(pcs); n++ {
		if bp < gp.StackLo || bp >= gp.StackHi || bp%8 != 0 {
			return fmt.Sprintf("frame pointer %d (%#x) outside the stack [%#x, %#x)", n, bp, gp.StackLo, gp.StackHi)
		}
		next := *(*uintptr)(unsafe.Add(nil, bp))
		pcs[n] = *(*uintptr)(unsafe.Add(nil, bp+8))
		if next != 0 && next <= bp {
			return fmt.Sprintf("frame pointer %d does not go up", n)
		}
		bp = next
	}
	for i, pc := range pcs[:n] {
		if runtime.FuncForPC(pc) == nil {
			return fmt.Sprintf("frame pointer %d: return PC %#x unknown", i, pc)
		}
	}
	return ""
}

func tortureBody(st *tortureState, seed, rounds, maxDepth int) {
	for r := 0; r < rounds; r++ {
		tortureLevel(st, st.rng.IntN(maxDepth+1), nil, 0, seed*1000+r)
	}
}

func runTorture(t testing.TB, k Kind, cfg tortureConfig) {
	defer debug.SetGCPercent(debug.SetGCPercent(1))
	stop := make(chan struct{})
	var gcWG sync.WaitGroup
	gcWG.Add(1)
	go func() {
		defer gcWG.Done()
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
	defer func() { close(stop); gcWG.Wait() }()

	deadline := time.Now().Add(cfg.duration)
	var failures atomic.Int64
	var firstFailure atomic.Value
	var resumes atomic.Int64
	for time.Now().Before(deadline) || resumes.Load() == 0 {
		work := make(chan *tortureState, cfg.coroutines)
		var left sync.WaitGroup
		for i := 0; i < cfg.coroutines; i++ {
			st := &tortureState{rng: rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))}
			seed, rounds := i+1, 1+st.rng.IntN(cfg.rounds)
			c, err := NewOn(k, func() { tortureBody(st, seed, rounds, cfg.maxDepth) })
			require.NoError(t, err)
			st.c = c
			work <- st
		}
		left.Add(cfg.coroutines)
		var wg sync.WaitGroup
		for g := 0; g < cfg.resumers; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(g), 7))
				for st := range work {
					var o Outcome
					var p *Panic
					if rng.IntN(32) == 0 {
						// Move it to a goroutine of its own (native_host.go):
						// it goes on there, however it was suspended.
						st.c.Host()
					}
					if rng.IntN(64) == 0 {
						// Close a suspended coroutine: its frames unwind
						// through restored frames, running their defers.
						if st.c.Started() {
							p = closeP(st.c)
						} else {
							o, p = resumeAt(st.c, rng.IntN(30))
						}
					} else {
						o, p = resumeAt(st.c, rng.IntN(30))
					}
					resumes.Add(1)
					if p != nil {
						if failures.Add(1) == 1 {
							firstFailure.Store(fmt.Sprintf("%v\n%s", p.Value, p.Stack))
						}
					}
					if st.c.Finished() {
						left.Done()
						continue
					}
					_ = o
					work <- st
				}
			}(g)
		}
		left.Wait()
		close(work)
		wg.Wait()
		if failures.Load() > 0 {
			break
		}
	}
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d coroutines failed; first: %v", n, firstFailure.Load())
	}
	t.Logf("%s: %d resumes", k, resumes.Load())
}

func soak() time.Duration {
	d, _ := time.ParseDuration(os.Getenv("COSTACK_SOAK"))
	return d
}

func tortureCfg() tortureConfig {
	cfg := tortureConfig{coroutines: 2000, resumers: 4, rounds: 6, maxDepth: 10, duration: time.Second}
	if testing.Short() {
		cfg.coroutines, cfg.duration = 500, 0
	}
	if d := soak(); d > 0 {
		cfg.coroutines, cfg.duration = 10000, d
	}
	return cfg
}

func TestNativeTorture(t *testing.T) {
	needNative(t)
	runTorture(t, Native, tortureCfg())
}

// TestNativeTortureSmall is the torture at a size that a build moving the
// stack at every function entry (-gcflags=all=-d=maymorestack=
// runtime.mayMoreStackMove, a CI leg) finishes in a few minutes: every
// call in the engine's Go code, yieldPrepare's included, then finds its
// stack moved under it, which is what I4 says cannot break a yield.
func TestNativeTortureSmall(t *testing.T) {
	needNative(t)
	runTorture(t, Native, tortureConfig{coroutines: 24, resumers: 2, rounds: 3, maxDepth: 4})
}

// TestNativeTortureProfiled runs the torture with the CPU profiler (signals
// landing anywhere, including in the switch), the execution tracer and the
// block and mutex profilers (which walk the frame-pointer chain) enabled.
func TestNativeTortureProfiled(t *testing.T) {
	needNative(t)
	require.NoError(t, pprof.StartCPUProfile(io.Discard))
	defer pprof.StopCPUProfile()
	require.NoError(t, trace.Start(io.Discard))
	defer trace.Stop()
	runtime.SetBlockProfileRate(1)
	defer runtime.SetBlockProfileRate(0)
	runtime.SetMutexProfileFraction(1)
	defer runtime.SetMutexProfileFraction(0)
	cfg := tortureCfg()
	if soak() == 0 {
		cfg.coroutines = 500
	}
	runTorture(t, Native, cfg)
}

// TestNativeTortureGODEBUG re-runs the torture in child processes under the
// runtime's own checkers: gccheckmark verifies that the concurrent mark
// found everything, clobberfree overwrites freed objects so that a missed
// retention shows up as a wrong value or a crash.
func TestNativeTortureGODEBUG(t *testing.T) {
	needNative(t)
	if testing.Short() {
		t.Skip("slow")
	}
	for _, godebug := range []string{"gccheckmark=1", "clobberfree=1", "invalidptr=1,gcstoptheworld=1"} {
		t.Run(godebug, func(t *testing.T) {
			args := []string{"-test.run=^TestNativeTorture$", "-test.v"}
			if testing.Short() {
				args = append(args, "-test.short")
			}
			out, err := runSelf(t, []string{"GODEBUG=" + godebug}, args...)
			require.NoError(t, err, "%s", tail(out))
			require.Contains(t, string(out), "--- PASS: TestNativeTorture")
		})
	}
}

func TestPortableTorture(t *testing.T) {
	cfg := tortureCfg()
	cfg.coroutines, cfg.duration = 300, 0
	runTorture(t, Portable, cfg)
}

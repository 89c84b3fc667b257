package costack

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The GC torture drives many coroutines whose frames hold every kind of
// pointer — heap objects, maps, strings, closures, interfaces, and pointers
// to address-taken locals of their own and of their callers' frames —
// across yields at random depths, resumed by several goroutines at random
// call depths while another goroutine runs the collector without pause.
// Every frame re-verifies everything it holds after every yield, so a
// pointer the engine failed to keep alive, relocate or scan shows up as a
// wrong value, a panic, or a runtime throw. Run it under GOGC=1,
// GODEBUG=gccheckmark=1 and GODEBUG=clobberfree=1 (CI does); set
// COSTACK_SOAK=<duration> to run it for that long.

type tortureObj struct {
	depth int
	tag   string
	next  *tortureObj
}

type tortureState struct {
	id    int
	rng   *rand.PCG
	steps int
}

func tortureToken(id, step int, dir uint64) uint64 {
	return uint64(id)<<32 ^ uint64(step)*0x9E3779B97F4A7C15 ^ dir
}

func (st *tortureState) roll(n uint64) uint64 { return st.rng.Uint64() % n }

// yieldOnce passes the coroutine's token out and checks the one that comes in.
func (st *tortureState) yieldOnce(y *Yielder[uint64, uint64]) {
	st.steps++
	in := y.Yield(tortureToken(st.id, st.steps, 1))
	if want := tortureToken(st.id, st.steps, 2); in != want {
		panic(fmt.Sprintf("coroutine %d step %d: resumed with %x, want %x", st.id, st.steps, in, want))
	}
}

//go:noinline
func tortureFrame(y *Yielder[uint64, uint64], st *tortureState, depth int, parent *[4]uint64, parentSum uint64) {
	var arr [4]uint64
	for i := range arr {
		arr[i] = uint64(st.id)<<16 ^ uint64(depth)<<8 ^ uint64(i)
	}
	own := &arr // a pointer into this frame, kept in this frame
	obj := &tortureObj{depth: depth, tag: strconv.Itoa(st.id) + "/" + strconv.Itoa(depth)}
	obj.next = &tortureObj{depth: -depth, tag: strings.Repeat("z", depth%5+1)}
	m := map[string]*tortureObj{obj.tag: obj}
	var iface fmt.Stringer = &strings.Builder{}
	iface.(*strings.Builder).WriteString(obj.tag)
	closure := func() int { return obj.depth + len(obj.next.tag) }
	b := make([]byte, depth%64+1)
	b[len(b)-1] = byte(depth)

	verify := func(where string) {
		for i := range arr {
			if own[i] != uint64(st.id)<<16^uint64(depth)<<8^uint64(i) {
				panic(fmt.Sprintf("%s: own array corrupted at depth %d", where, depth))
			}
		}
		if parent != nil {
			var sum uint64
			for _, v := range parent {
				sum += v
			}
			if sum != parentSum {
				panic(fmt.Sprintf("%s: pointer to the caller's array broken at depth %d", where, depth))
			}
		}
		if m[obj.tag] != obj || obj.next.depth != -depth || iface.String() != obj.tag ||
			closure() != depth+depth%5+1 || b[len(b)-1] != byte(depth) {
			panic(fmt.Sprintf("%s: heap data corrupted at depth %d", where, depth))
		}
	}
	var sum uint64
	for _, v := range own {
		sum += v
	}
	for k := st.roll(3) + 1; k > 0; k-- {
		switch {
		case depth < 12 && st.roll(3) == 0:
			tortureFrame(y, st, depth+1, own, sum)
		case st.roll(16) == 0:
			tortureGrow(y, st, 40+int(st.roll(40)))
		default:
			st.yieldOnce(y)
		}
		verify("after yield")
	}
}

// tortureGrow recurses with large frames, making the resumer's stack grow
// while the coroutine runs, and yields at the bottom.
//
//go:noinline
func tortureGrow(y *Yielder[uint64, uint64], st *tortureState, n int) {
	var pad [128]uint64
	pad[n%128] = uint64(n)
	p := &pad
	if n > 0 {
		tortureGrow(y, st, n-1)
	} else {
		st.yieldOnce(y)
	}
	if p[n%128] != uint64(n) {
		panic("stack-growth frame corrupted")
	}
}

// resumeDeep resumes c below depth extra frames, so that successive
// resumes land at different stack addresses.
//
//go:noinline
func resumeDeep(c *Coroutine[uint64, uint64], in uint64, depth int) (uint64, bool, error) {
	var pad [24]uint64
	pad[depth%24] = in
	if depth > 0 {
		return resumeDeep(c, pad[depth%24], depth-1)
	}
	return c.Resume(in)
}

type tortureCo struct {
	co    *Coroutine[uint64, uint64]
	id    int
	steps int
}

func soakDuration(t testing.TB) time.Duration {
	v := os.Getenv("COSTACK_SOAK")
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	require.NoError(t, err, "COSTACK_SOAK")
	return d
}

func TestGCTorture(t *testing.T) {
	n, rounds := 1000, 60
	if testing.Short() {
		n, rounds = 200, 10
	}
	soak := soakDuration(t)
	deadline := time.Now().Add(soak)
	t.Logf("engine %s, %d coroutines, soak %v", Engine(), n, soak)

	cos := make([]*tortureCo, n)
	for i := range cos {
		st := &tortureState{id: i, rng: rand.NewPCG(uint64(i), 7)}
		cos[i] = &tortureCo{id: i, co: New(func(y *Yielder[uint64, uint64], in uint64) uint64 {
			if in != tortureToken(i, 0, 2) {
				panic("wrong first value")
			}
			for range 3 {
				tortureFrame(y, st, 0, nil, 0)
			}
			return tortureToken(i, -1, 3)
		})}
	}

	stop := make(chan struct{})
	var gcs atomic.Int64
	var gcDone sync.WaitGroup
	gcDone.Add(1)
	go func() {
		defer gcDone.Done()
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
				gcs.Add(1)
			}
		}
	}()

	var resumes atomic.Int64
	// A round hands every coroutine to some worker once and waits for all
	// of them, so that no coroutine is resumed by two workers at once.
	var round sync.WaitGroup
	work := make(chan *tortureCo)
	var failed atomic.Bool
	var workers sync.WaitGroup
	for w := range 4 {
		workers.Add(1)
		go func() {
			defer workers.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for tc := range work {
				if failed.Load() {
					round.Done()
					continue
				}
				out, done, err := resumeDeep(tc.co, tortureToken(tc.id, tc.steps, 2), rng.IntN(40))
				resumes.Add(1)
				switch {
				case err != nil:
					failed.Store(true)
					t.Errorf("coroutine %d: %v", tc.id, err)
				case done:
					if out != tortureToken(tc.id, -1, 3) {
						failed.Store(true)
						t.Errorf("coroutine %d returned %x", tc.id, out)
					}
					tc.co = nil
				default:
					tc.steps++
					if out != tortureToken(tc.id, tc.steps, 1) {
						failed.Store(true)
						t.Errorf("coroutine %d step %d yielded %x", tc.id, tc.steps, out)
					}
				}
				round.Done()
			}
		}()
	}

	for r := 0; (r < rounds || time.Now().Before(deadline)) && !failed.Load(); r++ {
		for _, tc := range cos {
			if tc.co == nil {
				// Finished: start a fresh one with the same id.
				st := &tortureState{id: tc.id, rng: rand.NewPCG(uint64(tc.id), uint64(r))}
				id := tc.id
				tc.steps = 0
				tc.co = New(func(y *Yielder[uint64, uint64], in uint64) uint64 {
					for range 3 {
						tortureFrame(y, st, 0, nil, 0)
					}
					return tortureToken(id, -1, 3)
				})
			}
			round.Add(1)
			work <- tc
		}
		round.Wait()
	}
	close(work)
	workers.Wait()
	close(stop)
	gcDone.Wait()
	for _, tc := range cos {
		if tc.co != nil {
			require.NoError(t, tc.co.Close())
		}
	}
	t.Logf("%d resumes, %d collections", resumes.Load(), gcs.Load())
}

package costack

import (
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

//go:noinline
func processWaitA(y *Yielder[int, int]) { y.Yield(1) }

//go:noinline
func processWaitB(y *Yielder[int, int], d int) {
	if d > 0 {
		processWaitB(y, d-1)
		return
	}
	y.Yield(2)
}

// processProfile takes the process-wide profile and returns, for each of
// the named functions, how many coroutines wait in a stack that holds it.
func processProfile(t *testing.T, names ...string) map[string]int64 {
	t.Helper()
	p := readProfile(t, WriteProfile, "coroutines")
	counts := map[string]int64{}
	for _, s := range p.Sample {
		var fns []string
		for _, l := range s.Location {
			for _, line := range l.Line {
				fns = append(fns, line.Function.Name)
			}
		}
		joined := strings.Join(fns, " ")
		for _, n := range names {
			if strings.Contains(joined, "."+n+" ") || strings.HasSuffix(joined, "."+n) {
				counts[n] += s.Value[0]
			}
		}
	}
	return counts
}

// Issue 17: the process-wide profile counts every suspended coroutine,
// whether it suspended since the last collection or long before, those of
// Pull iterators and a Scheduler's tasks; not the finished, the fresh,
// nor the collected.
func TestWriteProfileProcess(t *testing.T) {
	const na, nb, npull, ntasks = 300, 40, 25, 60
	var keep []*Coroutine[int, int]
	start := func(n int, body func(y *Yielder[int, int], in int) int) {
		for range n {
			c := New(body)
			_, _, err := c.Resume(0)
			require.NoError(t, err)
			keep = append(keep, c)
		}
	}
	start(na, func(y *Yielder[int, int], _ int) int { processWaitA(y); return 0 })
	runtime.GC() // adopted now: registered, no longer young
	runtime.GC()
	start(nb, func(y *Yielder[int, int], _ int) int { processWaitB(y, 3); return 0 }) // young
	// Fresh and finished coroutines are not counted.
	_ = New(func(y *Yielder[int, int], _ int) int { processWaitA(y); return 0 })
	done := New(func(y *Yielder[int, int], _ int) int { return 0 })
	_, _, err := done.Resume(0)
	require.NoError(t, err)
	var stops []func()
	for range npull {
		next, stop := Pull(func(yield func(int) bool) { processPullSeq(yield) })
		_, ok := next()
		require.True(t, ok)
		stops = append(stops, stop)
	}
	s := newSched(t)
	for range ntasks {
		s.Go(func(t *Task) { profileWaitA(t) })
	}
	s.Tick()

	got := processProfile(t, "processWaitA", "processWaitB", "processPullSeq", "profileWaitA")
	assert.Equal(t, map[string]int64{"processWaitA": na, "processWaitB": nb, "processPullSeq": npull, "profileWaitA": ntasks}, got)

	// Stopped, closed, finished or collected: gone from the profile.
	for _, stop := range stops {
		stop()
	}
	for _, c := range keep[:na/2] {
		require.NoError(t, c.Close())
	}
	clear(keep[na:]) // the young ones are dropped: closed once collected
	keep = keep[:na]
	collectUntil(t, func() bool { return processProfile(t, "processWaitB")["processWaitB"] == 0 }, "dropped coroutines still in the profile")
	got = processProfile(t, "processWaitA", "processWaitB", "processPullSeq")
	assert.Equal(t, int64(na-na/2), got["processWaitA"])
	assert.Zero(t, got["processPullSeq"])
	runtime.KeepAlive(keep)
}

//go:noinline
func processPullSeq(yield func(int) bool) {
	for i := 0; yield(i); i++ {
	}
}

// A profile taken while coroutines are resumed on other goroutines never
// makes a Resume fail, and sees the coroutines that are suspended.
func TestWriteProfileWhileResuming(t *testing.T) {
	const workers, per, rounds = 2, 50, 300
	var failed atomic.Value
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range workers {
		cs := make([]*Coroutine[int, int], per)
		for i := range cs {
			cs[i] = New(func(y *Yielder[int, int], in int) int {
				for {
					processWaitB(y, in%4)
				}
			})
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; ; r++ {
				select {
				case <-stop:
					for _, c := range cs {
						_ = c.Close()
					}
					return
				default:
				}
				for _, c := range cs {
					if _, _, err := c.Resume(r); err != nil {
						failed.Store(err.Error())
					}
				}
			}
		}()
	}
	seen := int64(0)
	for range rounds / 10 {
		seen += processProfile(t, "processWaitB")["processWaitB"]
	}
	close(stop)
	wg.Wait()
	assert.Nil(t, failed.Load(), "a Resume failed while profiles were taken")
	assert.Positive(t, seen, "no profile saw a suspended coroutine")
}

// BenchmarkWriteProfile is one process-wide profile of n suspended
// coroutines (two distinct stacks); it reports ns per coroutine.
func BenchmarkWriteProfile(b *testing.B) {
	for _, n := range []int{100_000} {
		b.Run("coroutines="+strconv.Itoa(n), func(b *testing.B) {
			cs := make([]*Coroutine[int, int], n)
			for i := range cs {
				cs[i] = New(func(y *Yielder[int, int], in int) int { processWaitB(y, in%2); return 0 })
				if _, _, err := cs[i].Resume(i); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for range b.N {
				if err := WriteProfile(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/coroutine")
			b.StopTimer()
			for _, c := range cs {
				_ = c.Close()
			}
		})
	}
}

// collectUntil collects until cond holds, for at most 10 s.
func collectUntil(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

// The registry gives its memory back: after most of its coroutines are
// collected, its map is one that fits what is left (a Go map never
// shrinks by itself).
func TestRegistryShrinks(t *testing.T) {
	const n = 5000
	cs := make([]*Coroutine[int, int], n)
	for i := range cs {
		cs[i] = New(func(y *Yielder[int, int], _ int) int { processWaitA(y); return 0 })
		_, _, err := cs[i].Resume(0)
		require.NoError(t, err)
	}
	var grown int
	collectUntil(t, func() bool { // adopted after a collection: registered
		registry.Lock()
		defer registry.Unlock()
		grown = registry.peak
		return grown >= n
	}, "the coroutines were not registered")
	clear(cs)
	collectUntil(t, func() bool {
		registry.Lock()
		defer registry.Unlock()
		return registry.peak < grown/4
	}, "the registry's map was not made smaller after its coroutines were collected")
}

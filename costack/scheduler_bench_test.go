package costack

import (
	"iter"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// The scheduler benchmarks run one game-loop design per sub-benchmark, side
// by side: costack tasks on a Scheduler, one goroutine per entity
// synchronised per tick (a channel to start it, a WaitGroup to wait for the
// tick's end), and one iter.Pull coroutine per entity. Each b.N iteration is
// one tick; ns/task is the cost per entity resumed, B/task the memory each
// entity holds (heap and stacks, measured after one tick).
//
// N is 100,000 for the side-by-side runs (a million goroutines or iter.Pull
// coroutines would take ~2.7 GB), and 1,000,000 for the costack-only runs,
// which are skipped on the portable engine (every portable coroutine is a
// goroutine). Run with -benchtime=20x or so: one tick is N resumes.

type benchEntity struct {
	x, y, vx, vy int32
}

// step is the per-entity work of a tick: a little arithmetic, as a wander
// behaviour would do.
//
//go:noinline
func (e *benchEntity) step() {
	e.x += e.vx
	e.y += e.vy
	if e.x < 0 || e.x > 1000 {
		e.vx = -e.vx
	}
	if e.y < 0 || e.y > 1000 {
		e.vy = -e.vy
	}
}

func newBenchEntities(n int) []benchEntity {
	es := make([]benchEntity, n)
	for i := range es {
		es[i] = benchEntity{int32(i % 1000), int32(i / 1000 % 1000), int32(i%7 - 3), int32(i%5 - 2)}
	}
	return es
}

func memInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// perTask returns the memory in use per task since before.
func perTask(n int, before uint64) float64 {
	after := memInUse()
	if after <= before {
		return 0
	}
	return float64(after-before) / float64(n)
}

func skipLargePortable(b *testing.B, n int) {
	if n > 100_000 && strings.HasPrefix(Engine(), "portable") {
		b.Skip("portable engine: a goroutine per task; too much memory at N =", n)
	}
}

// benchTicks runs b.N ticks of tick and reports ns per resumed task and the
// memory per task measured before (mem, in bytes; negative: not measured).
func benchTicks(b *testing.B, resumedPerTick int, mem float64, tick func()) {
	b.ResetTimer()
	for b.Loop() {
		tick()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(resumedPerTick), "ns/task")
	if mem >= 0 {
		b.ReportMetric(mem, "B/task")
	}
}

// --- every entity runs every tick ---

func benchCostackAll(b *testing.B, n, workers int) {
	skipLargePortable(b, n)
	es := newBenchEntities(n)
	before := memInUse()
	s := NewScheduler(Workers(workers))
	defer s.Close()
	for i := range es {
		e := &es[i]
		s.Go(func(t *Task) {
			for {
				e.step()
				t.Yield()
			}
		})
	}
	s.Tick()
	benchTicks(b, n, perTask(n, before), s.Tick)
}

func benchGoroutinesAll(b *testing.B, n int) {
	es := newBenchEntities(n)
	before := memInUse()
	var wg sync.WaitGroup
	starts := make([]chan struct{}, n)
	for i := range es {
		e := &es[i]
		c := make(chan struct{})
		starts[i] = c
		go func() {
			for range c {
				e.step()
				wg.Done()
			}
		}()
	}
	tick := func() {
		wg.Add(n)
		for _, c := range starts {
			c <- struct{}{}
		}
		wg.Wait()
	}
	tick()
	benchTicks(b, n, perTask(n, before), tick)
	for _, c := range starts {
		close(c)
	}
}

func benchIterPullAll(b *testing.B, n int) {
	es := newBenchEntities(n)
	before := memInUse()
	nexts := make([]func() (struct{}, bool), n)
	stops := make([]func(), n)
	for i := range es {
		e := &es[i]
		nexts[i], stops[i] = iter.Pull(func(yield func(struct{}) bool) {
			for {
				e.step()
				if !yield(struct{}{}) {
					return
				}
			}
		})
	}
	tick := func() {
		for _, next := range nexts {
			next()
		}
	}
	tick()
	benchTicks(b, n, perTask(n, before), tick)
	for _, stop := range stops {
		stop()
	}
}

func BenchmarkSchedulerAllYield(b *testing.B) {
	const n = 100_000
	b.Run("costack/N=100k", func(b *testing.B) { benchCostackAll(b, n, 1) })
	b.Run("goroutines/N=100k", func(b *testing.B) { benchGoroutinesAll(b, n) })
	b.Run("iterPull/N=100k", func(b *testing.B) { benchIterPullAll(b, n) })
	b.Run("costack/N=1M", func(b *testing.B) { benchCostackAll(b, 1_000_000, 1) })
}

// --- 1% of the entities wake per tick (each waits 100 frames) ---

const sparsePeriod = 100

func benchCostackSparse(b *testing.B, n int) {
	skipLargePortable(b, n)
	es := newBenchEntities(n)
	before := memInUse()
	s := NewScheduler()
	defer s.Close()
	for i := range es {
		e := &es[i]
		s.Go(func(t *Task) {
			// Stagger the entities so that 1/sparsePeriod of them wake
			// on each tick.
			if k := i % sparsePeriod; k > 0 {
				t.Wait(schedFrames(k))
			}
			for {
				e.step()
				t.Wait(schedFrames(sparsePeriod))
			}
		})
	}
	for range sparsePeriod {
		s.Tick()
	}
	benchTicks(b, n/sparsePeriod, perTask(n, before), s.Tick)
}

// The goroutine and iter.Pull designs get the same frame buckets, so that
// only the cost of the task switch differs.
func benchGoroutinesSparse(b *testing.B, n int) {
	es := newBenchEntities(n)
	before := memInUse()
	var wg sync.WaitGroup
	starts := make([]chan struct{}, n)
	buckets := make([][]int, sparsePeriod)
	for i := range es {
		e := &es[i]
		c := make(chan struct{})
		starts[i] = c
		buckets[i%sparsePeriod] = append(buckets[i%sparsePeriod], i)
		go func() {
			for range c {
				e.step()
				wg.Done()
			}
		}()
	}
	frame := 0
	tick := func() {
		frame++
		due := buckets[frame%sparsePeriod]
		wg.Add(len(due))
		for _, i := range due {
			starts[i] <- struct{}{}
		}
		wg.Wait()
	}
	for range sparsePeriod {
		tick()
	}
	benchTicks(b, n/sparsePeriod, perTask(n, before), tick)
	for _, c := range starts {
		close(c)
	}
}

func benchIterPullSparse(b *testing.B, n int) {
	es := newBenchEntities(n)
	before := memInUse()
	nexts := make([]func() (struct{}, bool), n)
	stops := make([]func(), n)
	buckets := make([][]int, sparsePeriod)
	for i := range es {
		e := &es[i]
		buckets[i%sparsePeriod] = append(buckets[i%sparsePeriod], i)
		nexts[i], stops[i] = iter.Pull(func(yield func(struct{}) bool) {
			for {
				e.step()
				if !yield(struct{}{}) {
					return
				}
			}
		})
	}
	frame := 0
	tick := func() {
		frame++
		for _, i := range buckets[frame%sparsePeriod] {
			nexts[i]()
		}
	}
	for range sparsePeriod {
		tick()
	}
	benchTicks(b, n/sparsePeriod, perTask(n, before), tick)
	for _, stop := range stops {
		stop()
	}
}

func BenchmarkSchedulerSparseWake(b *testing.B) {
	const n = 100_000
	b.Run("costack/N=100k", func(b *testing.B) { benchCostackSparse(b, n) })
	b.Run("goroutines/N=100k", func(b *testing.B) { benchGoroutinesSparse(b, n) })
	b.Run("iterPull/N=100k", func(b *testing.B) { benchIterPullSparse(b, n) })
	b.Run("costack/N=1M", func(b *testing.B) { benchCostackSparse(b, 1_000_000) })
}

// --- Workers(n) speed-up, with heavier per-entity work ---

//go:noinline
func heavyStep(e *benchEntity) {
	for range 50 {
		e.step()
	}
}

// BenchmarkSpawnTree spawns a 10-ary tree of tasks 4 levels deep (11,111
// tasks), each starting its children and ending, with deferred starts (the
// default: a level per tick) and with Eager (depth first, within one tick).
// ns/task is the cost per task spawned, run and ended.
func BenchmarkSpawnTree(b *testing.B) {
	for _, eager := range []bool{false, true} {
		name := "start=deferred"
		var opts []TaskOption
		if eager {
			name, opts = "start=eager", []TaskOption{Eager()}
		}
		b.Run(name, func(b *testing.B) {
			const depth, div = 4, 10
			tasks := 0
			for range b.N {
				s := NewScheduler()
				var spawn func(level int)
				spawn = func(level int) {
					tasks++
					s.Go(func(t *Task) {
						if level == depth {
							return
						}
						for range div {
							spawn(level + 1)
						}
					}, opts...)
				}
				spawn(0)
				for s.Len() > 0 {
					s.Tick()
				}
				s.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(tasks), "ns/task")
		})
	}
}

package costack

import (
	"strconv"
	"testing"
	"time"
)

// The benchmarks of this file measure the scheduler against baselines in
// the same run: each b.N round runs one tick of every design in turn,
// timed separately, so that load from other processes falls on all of them
// alike, and reports ns per resume for each and their ratios to the first.
// Run with -benchtime=10x to 30x (one round is a tick of every design over
// N tasks). Issue 18's targets: tick/bare <= 1.2, workers2/workers1 <= 0.6.

// design is one contender of an interleaved benchmark.
type design struct {
	name    string
	resumes int // per tick
	tick    func()
}

func interleave(b *testing.B, ds ...design) {
	b.Helper()
	for _, d := range ds {
		d.tick() // warm: every task has run once
	}
	total := make([]time.Duration, len(ds))
	b.ResetTimer()
	for b.Loop() {
		for i, d := range ds {
			start := time.Now()
			d.tick()
			total[i] += time.Since(start)
		}
	}
	b.StopTimer()
	per := make([]float64, len(ds))
	for i, d := range ds {
		per[i] = float64(total[i].Nanoseconds()) / float64(b.N) / float64(d.resumes)
		b.ReportMetric(per[i], "ns/"+d.name)
	}
	for i := 1; i < len(ds); i++ {
		b.ReportMetric(per[i]/per[0], ds[i].name+"/"+ds[0].name)
	}
}

// bareLoop is the bench report's baseline: N coroutines, each running the
// entity step and yielding, resumed in a plain loop.
func bareLoop(b *testing.B, es []benchEntity) (design, func()) {
	cs := make([]*Coroutine[struct{}, struct{}], len(es))
	for i := range cs {
		e := &es[i]
		cs[i] = New(func(y *Yielder[struct{}, struct{}], _ struct{}) struct{} {
			for {
				e.step()
				y.Yield(struct{}{})
			}
		})
	}
	tick := func() {
		for _, c := range cs {
			if _, _, err := c.Resume(struct{}{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	return design{"bare", len(cs), tick}, func() {
		for _, c := range cs {
			_ = c.Close()
		}
	}
}

// yielders starts a task per entity that steps it and yields, every tick.
func yielders(s *Scheduler, es []benchEntity, opts ...TaskOption) {
	for i := range es {
		e := &es[i]
		s.Go(func(t *Task) {
			for {
				e.step()
				t.Yield()
			}
		}, opts...)
	}
}

func benchSizes(b *testing.B, fn func(b *testing.B, n int)) {
	for _, n := range []int{100_000, 1_000_000} {
		name := "N=" + strconv.Itoa(n/1000) + "k"
		if n == 1_000_000 {
			name = "N=1M"
		}
		b.Run(name, func(b *testing.B) {
			skipLargePortable(b, n)
			fn(b, n)
		})
	}
}

// BenchmarkSchedulerTick: a tick over N tasks that yield, phases and
// groups in place (idle), against the bare resume loop.
func BenchmarkSchedulerTick(b *testing.B) {
	benchSizes(b, func(b *testing.B, n int) {
		bare, closeBare := bareLoop(b, newBenchEntities(n))
		defer closeBare()
		s := NewScheduler()
		defer s.Close()
		yielders(s, newBenchEntities(n))
		interleave(b, bare, design{"tick", n, s.Tick})
	})
}

// BenchmarkSchedulerPhases: every task runs in FixedUpdate, Update and
// LateUpdate each tick (three resumes), against tasks that only yield
// (one resume), per resume.
func BenchmarkSchedulerPhases(b *testing.B) {
	benchSizes(b, func(b *testing.B, n int) {
		plain := NewScheduler()
		defer plain.Close()
		yielders(plain, newBenchEntities(n))
		phased := NewScheduler()
		defer phased.Close()
		es := newBenchEntities(n)
		for i := range es {
			e := &es[i]
			phased.Go(func(t *Task) {
				for {
					e.step()
					t.YieldTo(Update)
					e.step()
					t.YieldTo(LateUpdate)
					e.step()
					t.YieldTo(FixedUpdate)
				}
			}, InPhase(FixedUpdate))
		}
		interleave(b, design{"tick", n, plain.Tick}, design{"phases", 3 * n, phased.Tick})
	})
}

// BenchmarkSchedulerWorkers: N tasks that yield, on one worker and on
// two.
func BenchmarkSchedulerWorkers(b *testing.B) {
	benchSizes(b, func(b *testing.B, n int) {
		one := NewScheduler()
		defer one.Close()
		yielders(one, newBenchEntities(n))
		two := NewScheduler(Workers(2))
		defer two.Close()
		yielders(two, newBenchEntities(n))
		interleave(b, design{"workers1", n, one.Tick}, design{"workers2", n, two.Tick})
	})
}

// BenchmarkSchedulerWorkersHeavy is BenchmarkSchedulerWorkers with 50
// entity steps per resume: the speed-up when bodies do real work.
func BenchmarkSchedulerWorkersHeavy(b *testing.B) {
	const n = 100_000
	start := func(s *Scheduler) {
		es := newBenchEntities(n)
		for i := range es {
			e := &es[i]
			s.Go(func(t *Task) {
				for {
					heavyStep(e)
					t.Yield()
				}
			})
		}
	}
	one := NewScheduler()
	defer one.Close()
	start(one)
	two := NewScheduler(Workers(2))
	defer two.Close()
	start(two)
	interleave(b, design{"workers1", n, one.Tick}, design{"workers2", n, two.Tick})
}

// BenchmarkSchedulerGroupPauseResume: a group of 10k tasks among N is
// paused for a tick and resumed for the next; against the same two ticks
// with no pause. Reported per task of the scheduler, and the extra cost
// per group member.
func BenchmarkSchedulerGroupPauseResume(b *testing.B) {
	benchSizes(b, func(b *testing.B, n int) {
		const members = 10_000
		mk := func() (*Scheduler, *Group) {
			s := NewScheduler()
			g := s.NewGroup("10k")
			es := newBenchEntities(n)
			yielders(s, es[:n-members])
			yielders(s, es[n-members:], InGroup(g))
			return s, g
		}
		plain, _ := mk()
		defer plain.Close()
		paused, g := mk()
		defer paused.Close()
		base := func() { plain.Tick(); plain.Tick() }
		pauseResume := func() {
			g.Pause()
			paused.Tick() // applies the pause; the members are held
			g.Resume()
			paused.Tick() // applies the resume; they run
		}
		interleave(b, design{"ticks", 2 * n, base}, design{"pause+resume", 2 * n, pauseResume})
	})
}

// BenchmarkSchedulerLabels: named tasks under ProfileLabels (pprof labels
// set around each resume) against unnamed ones.
func BenchmarkSchedulerLabels(b *testing.B) {
	const n = 100_000
	plain := NewScheduler()
	defer plain.Close()
	yielders(plain, newBenchEntities(n))
	named := NewScheduler(ProfileLabels(true))
	defer named.Close()
	yielders(named, newBenchEntities(n), Named("entity"))
	interleave(b, design{"unnamed", n, plain.Tick}, design{"named", n, named.Tick})
}

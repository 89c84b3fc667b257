package bench_test

import (
	"flag"
	"fmt"
	"runtime"
	"testing"

	"go.uber.org/goleak"

	"github.com/costack-dev/costack/bench/internal/workload"
	"github.com/costack-dev/costack/costack"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" {
		// A "key: value" line before the results is configuration to
		// benchstat, which can then tell runs on each engine apart.
		fmt.Printf("costack-engine: %s\n", costack.Engine())
	}
	goleak.VerifyTestMain(m)
}

// runOp runs op under b, closing it afterwards.
func runOp(b *testing.B, op workload.Op) {
	b.Cleanup(op.Close)
	b.ReportAllocs()
	b.ResetTimer()
	op.Run(b.N)
}

// BenchmarkRoundTrip is one resume and the yield that ends it, the body
// yielding depth calls below itself, always resumed from the same goroutine
// and call depth.
func BenchmarkRoundTrip(b *testing.B) {
	for _, depth := range []int{1, 4, 16} {
		for _, impl := range workload.Impls {
			b.Run(fmt.Sprintf("depth=%d/impl=%s", depth, impl), func(b *testing.B) {
				runOp(b, workload.RoundTrip(impl, depth))
			})
		}
	}
}

// BenchmarkRelocated is a round trip over 64 instances in turn where every
// resume comes from another goroutine (from=goroutine) or another call depth
// (from=depth) than the one before, which makes the native engine move the
// image; from=same is the control, without relocation.
func BenchmarkRelocated(b *testing.B) {
	for _, impl := range workload.Impls {
		b.Run(fmt.Sprintf("from=same/impl=%s", impl), func(b *testing.B) {
			runOp(b, workload.RelocNone(impl))
		})
	}
	for _, impl := range workload.Impls {
		b.Run(fmt.Sprintf("from=goroutine/impl=%s", impl), func(b *testing.B) {
			runOp(b, workload.RelocGoroutine(impl))
		})
	}
	for _, impl := range workload.Impls {
		b.Run(fmt.Sprintf("from=depth/impl=%s", impl), func(b *testing.B) {
			runOp(b, workload.RelocDepthOp(impl))
		})
	}
}

// BenchmarkShapes is one element of the shapes beyond one yield site a
// few frames deep (issue 13): an in-order walk of a balanced tree of
// 2^depth-1 nodes (a recursive generator, through Pull; for costack also a
// recursive New body), a list-shaped tree walked to 1,000 deep, and a
// yield from one of n distinct call sites in turn.
func BenchmarkShapes(b *testing.B) {
	variants := func(impl workload.Impl) []string {
		if impl == workload.Costack {
			return []string{workload.ViaPull, workload.ViaNew}
		}
		return []string{workload.ViaPull}
	}
	for _, depth := range []int{16, 20} {
		for _, impl := range workload.Impls {
			for _, v := range variants(impl) {
				b.Run(fmt.Sprintf("tree=%d/impl=%s/via=%s", depth, impl, v), func(b *testing.B) {
					runOp(b, workload.TreeWalk(impl, v, depth))
				})
			}
		}
	}
	for _, impl := range workload.Impls {
		for _, v := range variants(impl) {
			b.Run(fmt.Sprintf("list=1000/impl=%s/via=%s", impl, v), func(b *testing.B) {
				runOp(b, workload.ListWalk(impl, v, 1000))
			})
		}
	}
	for _, impl := range workload.Impls {
		b.Run(fmt.Sprintf("defers=200/impl=%s", impl), func(b *testing.B) {
			runOp(b, workload.PendingDefers(impl, 200))
		})
	}
	for _, sites := range []int{1, 1024} {
		for _, impl := range workload.Impls {
			b.Run(fmt.Sprintf("sites=%d/impl=%s", sites, impl), func(b *testing.B) {
				runOp(b, workload.YieldSites(impl, sites))
			})
		}
	}
}

// BenchmarkCreateResumeClose is the life of a short-lived instance: create,
// first resume (up to its first yield) and Close.
func BenchmarkCreateResumeClose(b *testing.B) {
	for _, impl := range workload.Impls {
		b.Run(fmt.Sprintf("impl=%s", impl), func(b *testing.B) {
			runOp(b, workload.CreateResumeClose(impl))
		})
	}
}

// BenchmarkTick is one game-loop tick over n entities, each resumed once;
// it also reports ns/entity.
func BenchmarkTick(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		for _, impl := range workload.Impls {
			b.Run(fmt.Sprintf("n=%d/impl=%s", n, impl), func(b *testing.B) {
				op := workload.Tick(impl, n)
				b.Cleanup(op.Close)
				b.ResetTimer()
				op.Run(b.N)
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/entity")
			})
		}
	}
}

// BenchmarkSuspended creates suspended instances (ns/op is the cost of one:
// create and resume up to the first yield) and reports the Go heap and stack
// bytes each one adds (B/instance) and, for costack, its Footprint
// (footprint-B/instance). Instances are created in populations of at most
// suspendedMax, closed between populations off the clock, so that a long
// benchtime does not exhaust memory. The costack-bench report measures RSS
// growth in fresh processes instead, which also sees off-heap memory.
func BenchmarkSuspended(b *testing.B) {
	const suspendedMax = 50_000
	for _, impl := range workload.Impls {
		b.Run(fmt.Sprintf("impl=%s", impl), func(b *testing.B) {
			var p workload.Population
			defer func() { p.Close() }()
			var perInstance, footprint float64 = -1, -1
			for left := b.N; left > 0; {
				b.StopTimer()
				if p != nil {
					p.Close()
				}
				p = workload.NewPopulation(impl)
				k := min(left, suspendedMax)
				p.Reserve(k)
				before := goBytes()
				b.StartTimer()
				p.Add(k)
				b.StopTimer()
				if perInstance < 0 {
					perInstance = float64(goBytes()-before) / float64(k)
					if f := p.Footprint(); f >= 0 {
						footprint = float64(f) / float64(k)
					}
				}
				left -= k
			}
			b.ReportMetric(perInstance, "B/instance")
			if footprint >= 0 {
				b.ReportMetric(footprint, "footprint-B/instance")
			}
		})
	}
}

func goBytes() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc + ms.StackInuse)
}

package workload

import (
	"fmt"
	"iter"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/costack-dev/costack/internal/shapes"
)

// runCounts are the sizes of the Runs each test makes of an operation, in
// this order: none, one, and counts that do and do not fill whole
// relocation batches.
var runCounts = []int{0, 1, relocBatch - 1, relocBatch, relocBatch + 1, 200}

// TestOps runs every operation of every implementation and checks, Run by
// Run, the sum of the values its operations got out of the instances: an
// operation that skipped a resume, resumed twice or got a wrong value
// changes it. Then Close must end every instance: it panics if a costack
// Close fails, and no goroutine (an iter.Pull iterator's, a channel
// body's, a portable coroutine's) may be left.
func TestOps(t *testing.T) {
	for _, impl := range Impls {
		ops := map[string]func() Op{
			"depth1":     func() Op { return RoundTrip(impl, 1) },
			"depth16":    func() Op { return RoundTrip(impl, 16) },
			"relocNone":  func() Op { return RelocNone(impl) },
			"relocGor":   func() Op { return RelocGoroutine(impl) },
			"relocDepth": func() Op { return RelocDepthOp(impl) },
			"create":     func() Op { return CreateResumeClose(impl) },
		}
		for name, mk := range ops {
			t.Run(fmt.Sprintf("%s/%s", impl, name), func(t *testing.T) {
				op := mk()
				for _, n := range runCounts {
					assert.Equal(t, float64(opValue*n), op.Run(n), "Run(%d)", n)
				}
				op.Close()
				goleak.VerifyNone(t)
			})
		}
	}
}

// entityPositions returns the positions the game-entity body yields at its
// first n resumes.
func entityPositions(n int) []float64 {
	xs := make([]float64, n)
	x, v, a := 0.0, 1.0, -9.81
	for i := range xs {
		v += a * entityDT
		x += v * entityDT
		xs[i] = x
	}
	return xs
}

// TestTickOp: each tick's value is the positions of every entity after one
// more step (Tick's population has taken one at Add).
func TestTickOp(t *testing.T) {
	const entities = 100
	total := 0
	for _, n := range runCounts {
		total += n
	}
	xs := entityPositions(1 + total)
	for _, impl := range Impls {
		t.Run(string(impl), func(t *testing.T) {
			op := Tick(impl, entities)
			step := 1
			for _, n := range runCounts {
				want, scale := 0.0, 0.0
				for _, x := range xs[step : step+n] {
					want += entities * x
					scale += entities * math.Abs(x)
				}
				step += n
				// The compiler may fuse the body's multiply-adds (arm64),
				// so the positions are equal up to rounding.
				assert.InDelta(t, want, op.Run(n), 1e-9*(1+scale), "Run(%d)", n)
			}
			op.Close()
			goleak.VerifyNone(t)
		})
	}
}

// TestPopulation: Add leaves each instance suspended after its first step,
// each Tick moves every one a step on and returns the sum of their
// positions, and Close ends them all.
func TestPopulation(t *testing.T) {
	xs := entityPositions(3)
	for _, impl := range Impls {
		t.Run(string(impl), func(t *testing.T) {
			p := NewPopulation(impl)
			p.Reserve(5000)
			p.Add(5000)
			p.Add(10)
			assert.Equal(t, 5010, p.Len())
			assert.InDelta(t, 5010*xs[1], p.Tick(), 1e-9*5010)
			assert.InDelta(t, 5010*xs[2], p.Tick(), 1e-9*5010)
			if impl == Costack {
				assert.Positive(t, p.Footprint())
			} else {
				assert.Equal(t, int64(-1), p.Footprint())
			}
			p.Close()
			assert.Equal(t, 0, p.Len())
			goleak.VerifyNone(t)
		})
	}
}

// opValues returns the values of the first n operations of a seqOp over
// seq: its values, and again when it ends; with endOp (a costack.New walk)
// the operation that finds the end gets no value and counts as 0.
func opValues(seq iter.Seq[int], endOp bool, n int) []int {
	var vals []int
	for len(vals) < n {
		start := len(vals)
		for v := range seq {
			if len(vals) == n {
				break
			}
			vals = append(vals, v)
		}
		if len(vals) == start {
			panic("opValues: an empty sequence")
		}
		if endOp && len(vals) < n {
			vals = append(vals, 0)
		}
	}
	return vals
}

// TestShapeOps: every shape operation pulls the sequence's values in
// order, starting again at its end, on every implementation and variant.
func TestShapeOps(t *testing.T) {
	type shapeOp struct {
		mk    func(impl Impl, variant string) Op
		seq   iter.Seq[int]
		ofNew bool // also on costack.New (ViaNew)
	}
	sites := func(yield func(int) bool) {
		ok := true
		for i := 0; ok; i++ {
			shapes.YieldAt(i%4, func(v int) { ok = yield(v) })
		}
	}
	cases := map[string]shapeOp{
		"tree3":   {func(impl Impl, v string) Op { return TreeWalk(impl, v, 3) }, shapes.Balanced(3).All(), true},
		"list5":   {func(impl Impl, v string) Op { return ListWalk(impl, v, 5) }, shapes.List(5).All(), true},
		"sites4":  {func(impl Impl, _ string) Op { return YieldSites(impl, 4) }, sites, false},
		"parse20": {func(impl Impl, _ string) Op { return PendingDefers(impl, 20) }, parseSeq(20), false},
	}
	total := 0
	for _, n := range runCounts {
		total += n
	}
	for name, c := range cases {
		for _, impl := range Impls {
			variants := []string{ViaPull}
			if impl == Costack && c.ofNew {
				variants = append(variants, ViaNew)
			}
			for _, variant := range variants {
				t.Run(fmt.Sprintf("%s/%s/%s", name, impl, variant), func(t *testing.T) {
					vals := opValues(c.seq, impl == Costack && variant == ViaNew, total)
					require.Len(t, vals, total)
					op := c.mk(impl, variant)
					done := 0
					for _, n := range runCounts {
						want := 0
						for _, v := range vals[done : done+n] {
							want += v
						}
						done += n
						assert.Equal(t, float64(want), op.Run(n), "Run(%d)", n)
					}
					op.Close()
					goleak.VerifyNone(t)
				})
			}
		}
	}
}

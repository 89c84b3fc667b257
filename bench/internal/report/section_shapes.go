package report

import (
	"encoding/json"
	"fmt"
	"runtime"
	"time"

	"github.com/costack-dev/costack/bench/internal/workload"
)

// The shapes of code beyond one yield site a few frames deep (issue 13):
// recursive generators over balanced trees (a new chain of frames at almost
// every yield), deep recursion (list-shaped trees), many yield sites with
// identical frames, and how much of the memory of a dropped population
// stays resident.

// shapesParams are the parameters of a shapes child: which family, on
// which implementation.
type shapesParams struct {
	Family string        `json:"family"` // "tree", "list", "sites", "defers", "drop"
	Impl   string        `json:"impl"`
	Sizes  []int         `json:"sizes"` // tree depths, list lengths, site counts, population
	Target time.Duration `json:"target"`
	Runs   int           `json:"runs"`
}

// The column's implementation and engine.
var shapesColumns = []Column{
	{Name: ColNative, Engine: "native"},
	{Name: ColPortable, Engine: "portable"},
	{Name: ColIterPull},
	{Name: ColGoroutine},
}

var shapesImpl = map[string]workload.Impl{
	ColNative: workload.Costack, ColPortable: workload.Costack,
	ColIterPull: workload.IterPull, ColGoroutine: workload.Goroutine,
}

// shapesSizes are the sizes of each family, full and -quick.
func shapesSizes(family string, quick bool) []int {
	full := map[string][]int{"tree": {16, 20}, "list": {1_000, 10_000}, "sites": {1, 64, 256, 1024}, "defers": {16, 200}, "drop": {1_000_000}}
	small := map[string][]int{"tree": {12, 16}, "list": {300, 1_000}, "sites": {1, 64, 256, 1024}, "defers": {16, 200}, "drop": {100_000}}
	if quick {
		return small[family]
	}
	return full[family]
}

var shapesFamilies = []string{"tree", "list", "sites", "defers", "drop"}

func init() {
	registerChildTask("shapes", shapesChild)
	s := &Section{
		Name:    "shapes",
		Title:   "Shapes of code: recursive generators, deep recursion, many yield sites, memory after a drop",
		Columns: shapesColumns,
		Ratios:  [][2]string{{ColNative, ColIterPull}, {ColNative, ColGoroutine}, {ColPortable, ColIterPull}},
		Notes: []string{
			"tree walk: the in-order values of a balanced tree of 2^d - 1 nodes pulled one at a time (a recursive",
			"generator: its chain of frames differs at almost every yield), through costack.Pull / iter.Pull / a goroutine",
			"and channels; New body: a recursive costack.New body yielding through its Yielder (costack only).",
			"list walk: the same on a list-shaped tree, which yields at depths 1..n: the native engine copies the live",
			"frames at every switch, so its cost grows with the depth where iter.Pull's does not. On the native engine",
			"Pull moves such a sequence to a goroutine of its own once its yields cost more than a switch (a few yields",
			"in: costack.Pull's doc), so the Pull rows measure that; the New body rows stay on the copying engine.",
			"yield sites: a round trip yielding from k distinct call sites in turn (identical frames, one return PC differs).",
			"pending defers: a round trip yielding from the bottom of a recursive descent d levels deep, each level holding",
			"a pending stack-allocated defer record (a recursive-descent parser's shape): d records at every switch.",
			"left after drop: RSS growth that stays after a population of N suspended game entities is let go, two GCs",
			"and debug.FreeOSMemory, as a share of the growth at its peak. costack's are dropped (closed by the runtime);",
			"iter.Pull iterators and goroutines cannot be dropped without leaking, so theirs are stopped.",
		},
		Charts: []ChartSpec{
			{File: "tree-walk.png", Title: "Recursive generator: balanced tree walk", X: "tree depth (2^d - 1 nodes)", Y: "ns per element",
				Cases: []string{"tree walk, Pull"}},
			{File: "yield-sites.png", Title: "Yield sites: round trip through k call sites in turn", X: "sites", Y: "ns per round trip",
				Cases: []string{"yield sites"}, LogX: true, XTicks: []float64{1, 64, 256, 1024}},
		},
	}
	s.Plan = func(cfg Config) []Probe {
		var ps []Probe
		for _, fam := range shapesFamilies {
			for _, col := range shapesColumns {
				p := shapesParams{Family: fam, Impl: string(shapesImpl[col.Name]), Sizes: shapesSizes(fam, cfg.Quick), Target: cfg.Target, Runs: cfg.Runs}
				need := int64(0)
				if fam == "drop" {
					need = int64(p.Sizes[0])*4096 + 256<<20
				}
				ps = append(ps, Probe{ID: fam + "|" + col.Name, Column: col.Name, Desc: fmt.Sprintf("shapes (%s): %s", fam, col.Name),
					Task: "shapes", Params: p, Need: need})
			}
		}
		return ps
	}
	s.Rows = func(cfg Config, res Results) []Row {
		var rows []Row
		id := func(fam string) func(string) string { return func(col string) string { return fam + "|" + col } }
		for _, d := range shapesSizes("tree", cfg.Quick) {
			rows = append(rows, s.TimedRow("tree walk, Pull", fmt.Sprintf("2^%d nodes", d), float64(d), "ns/element", res, id("tree"), fmt.Sprintf("pull%d", d)))
		}
		for _, d := range shapesSizes("tree", cfg.Quick) {
			r := s.TimedRow("tree walk, New body", fmt.Sprintf("2^%d nodes", d), float64(d), "ns/element", res, id("tree"), fmt.Sprintf("new%d", d))
			for _, col := range []string{ColIterPull, ColGoroutine} {
				r.NA[col] = "costack only"
			}
			rows = append(rows, r)
		}
		for _, n := range shapesSizes("list", cfg.Quick) {
			rows = append(rows, s.TimedRow("list walk", fmt.Sprintf("%d deep", n), float64(n), "ns/element", res, id("list"), fmt.Sprint(n)))
		}
		for _, k := range shapesSizes("sites", cfg.Quick) {
			rows = append(rows, s.TimedRow("yield sites", fmt.Sprintf("%d sites", k), float64(k), "ns/op", res, id("sites"), fmt.Sprint(k)))
		}
		for _, d := range shapesSizes("defers", cfg.Quick) {
			rows = append(rows, s.TimedRow("pending defers", fmt.Sprintf("%d deep", d), float64(d), "ns/op", res, id("defers"), fmt.Sprint(d)))
		}
		n := shapesSizes("drop", cfg.Quick)[0]
		rows = append(rows, s.Row("left after drop", fmt.Sprintf("N=%d", n), float64(n), "% of peak", "lower", res.Cell(id("drop"), "left")))
		rows = append(rows, s.Row("peak growth", fmt.Sprintf("N=%d", n), float64(n), "B/instance", "lower", res.Cell(id("drop"), "peak")))
		return rows
	}
	registerSection(s)
}

func shapesChild(raw json.RawMessage) (map[string]float64, error) {
	var p shapesParams
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	impl, err := workload.ParseImpl(p.Impl)
	if err != nil {
		return nil, err
	}
	vals := map[string]float64{}
	timeOp := func(key string, op workload.Op) {
		defer op.Close()
		timed(vals, key, func(n int) { op.Run(n) }, p.Target, p.Runs)
	}
	switch p.Family {
	case "tree":
		for _, d := range p.Sizes {
			timeOp(fmt.Sprintf("pull%d", d), workload.TreeWalk(impl, workload.ViaPull, d))
			if impl == workload.Costack {
				timeOp(fmt.Sprintf("new%d", d), workload.TreeWalk(impl, workload.ViaNew, d))
			}
		}
	case "list":
		for _, n := range p.Sizes {
			timeOp(fmt.Sprint(n), workload.ListWalk(impl, workload.ViaPull, n))
		}
	case "sites":
		for _, k := range p.Sizes {
			timeOp(fmt.Sprint(k), workload.YieldSites(impl, k))
		}
	case "defers":
		for _, d := range p.Sizes {
			timeOp(fmt.Sprint(d), workload.PendingDefers(impl, d))
		}
	case "drop":
		n := p.Sizes[0]
		settle()
		base := RSS()
		pop := workload.NewPopulation(impl)
		for left := n; left > 0; left -= popBatch {
			if avail := MemAvailable(); avail > 0 && avail < lowMemory {
				return nil, skipped(fmt.Sprintf("stopped at %d of %d instances: system memory low", pop.Len(), n))
			}
			pop.Add(min(left, popBatch))
		}
		settle()
		peak := RSS()
		pop.Drop()
		// Dropped coroutines are closed after a collection notices them;
		// what they held is freed after the next ones.
		for range 4 {
			settle()
			time.Sleep(50 * time.Millisecond)
			runtime.Gosched()
		}
		left := RSS()
		vals["peak"] = float64(peak-base) / float64(n)
		vals["left"] = 100 * float64(max(left-base, 0)) / float64(max(peak-base, 1))
	default:
		return nil, fmt.Errorf("unknown shapes family %q", p.Family)
	}
	return vals, nil
}

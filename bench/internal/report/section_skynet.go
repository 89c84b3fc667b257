package report

import (
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/costack-dev/costack/bench/internal/workload"
	"github.com/costack-dev/costack/costack"
)

// The skynet row (issue 15): github.com/atemerev/skynet, a root actor
// spawning 10 children, each 10 more, down to 10^depth leaves; every leaf
// sends its number up, every parent sums. costack's version is
// examples/actors' (scheduler tasks with yield.Mailbox inboxes) on 1 and 2
// workers; the baseline is the benchmark's own goroutine-and-channel
// version. Every variant runs in a child of its own, so that its peak RSS
// is its own.

// skynetParams are the parameters of a skynet child.
type skynetParams struct {
	Impl    string `json:"impl"` // "costack" or "goroutine"
	Workers int    `json:"workers,omitempty"`
	Eager   bool   `json:"eager,omitempty"` // costack.Eager for the children
	Depth   int    `json:"depth"`
	Runs    int    `json:"runs"`
}

// Skynet columns.
const (
	colSky1     = "1 worker"
	colSky2     = "2 workers"
	colSkyEager = "eager, 1 worker"
)

// skynetDepth is the tree's depth: 10^6 leaves as the benchmark has it,
// 10^4 for -quick.
func skynetDepth(quick bool) int {
	if quick {
		return 4
	}
	return 6
}

func init() {
	registerChildTask("skynet", skynetChild)
	s := &Section{
		Name:  "skynet",
		Title: "Skynet: 10-ary tree of actors, leaves send their numbers up, parents sum (native engine)",
		Columns: []Column{
			{Name: colSky1, Engine: "native"},
			{Name: colSky2, Engine: "native"},
			{Name: colSkyEager, Engine: "native"},
			{Name: ColGoroutine},
		},
		Ratios: [][2]string{{colSky1, ColGoroutine}, {colSky2, ColGoroutine}, {colSkyEager, ColGoroutine}},
		Notes: []string{
			"github.com/atemerev/skynet at depth 6 (1,111,111 actors, 1M leaves; -quick: depth 4): 1 worker / 2 workers are",
			"costack scheduler tasks with yield.Mailbox inboxes (examples/actors -depth 6), ticked until all have ended, on",
			"Workers(1) / Workers(2); eager: the same with every child started by costack.Eager (it runs at once, inside Go, until",
			"its first wait, as Go's runtime runs a new goroutine next), so the tree runs depth first; goroutine is the",
			"benchmark's own Go version (a goroutine per actor, unbuffered channels).",
			"time: the median of 3 runs (-quick: 1) in one child process, each from spawning the root to the root's sum",
			"(checked: 499999500000); peak RSS: the child's VmHWM after its first run, the whole process (Go runtime included).",
			"Each column runs in a child of its own. Issue 15's target: <= 0.5x the goroutine version's time, <= its peak RSS.",
		},
	}
	s.Plan = func(cfg Config) []Probe {
		depth := skynetDepth(cfg.Quick)
		runs := 3
		if cfg.Quick {
			runs = 1
		}
		var ps []Probe
		for _, c := range []struct {
			col     string
			impl    workload.Impl
			workers int
			eager   bool
		}{{colSky1, workload.Costack, 1, false}, {colSky2, workload.Costack, 2, false}, {colSkyEager, workload.Costack, 1, true}, {ColGoroutine, workload.Goroutine, 0, false}} {
			ps = append(ps, Probe{ID: c.col, Column: c.col, Desc: "skynet: " + c.col, Task: "skynet",
				Params: skynetParams{Impl: string(c.impl), Workers: c.workers, Eager: c.eager, Depth: depth, Runs: runs},
				Need:   1 << 30})
		}
		return ps
	}
	s.Rows = func(cfg Config, res Results) []Row {
		depth := skynetDepth(cfg.Quick)
		leaves := 1
		for range depth {
			leaves *= 10
		}
		p := fmt.Sprintf("%d leaves", leaves)
		id := func(col string) string { return col }
		return []Row{
			s.TimedRow("skynet time", p, float64(leaves), "ms", res, id, "ms"),
			s.Row("skynet peak RSS", p, float64(leaves), "MB", "lower", res.Cell(id, "peakMB")),
		}
	}
	registerSection(s)
}

func skynetChild(raw json.RawMessage) (map[string]float64, error) {
	var p skynetParams
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	leaves := 1
	for range p.Depth {
		leaves *= 10
	}
	want := workload.SkynetWant(leaves)
	run := func() (time.Duration, error) {
		start := time.Now()
		var sum int
		switch p.Impl {
		case string(workload.Costack):
			var opts []costack.TaskOption
			if p.Eager {
				opts = append(opts, costack.Eager())
			}
			var err error
			if sum, err = workload.SkynetCostack(leaves, max(p.Workers, 1), opts...); err != nil {
				return 0, err
			}
		case string(workload.Goroutine):
			sum = workload.SkynetGoroutine(leaves)
		default:
			return 0, fmt.Errorf("skynet: unknown implementation %q", p.Impl)
		}
		d := time.Since(start)
		if sum != want {
			return 0, fmt.Errorf("skynet: sum %d, want %d", sum, want)
		}
		return d, nil
	}
	vals := map[string]float64{}
	var ms []float64
	for i := range max(p.Runs, 1) {
		d, err := run()
		if err != nil {
			return nil, err
		}
		ms = append(ms, float64(d)/1e6)
		if i == 0 {
			vals["peakMB"] = float64(PeakRSS()) / (1 << 20)
		}
		runtime.GC()
	}
	slices.Sort(ms)
	vals["ms"], vals["ms/best"] = ms[len(ms)/2], ms[0]
	return vals, nil
}

package report

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/costack-dev/costack/bench/internal/workload"
	"github.com/costack-dev/costack/costack"
)

// The first tick after a spawn (issue 15): Go-ing N scheduler tasks, then
// the first Tick (every task's first resume) against a steady tick of the
// same tasks, in one process.

// firstTickParams are the parameters of a first-tick child.
type firstTickParams struct {
	N      int `json:"n"`
	Steady int `json:"steady"`
}

// First-tick columns: both of an engine come from one child.
const (
	colFirstNative    = "native first"
	colSteadyNative   = "native steady"
	colFirstPortable  = "portable first"
	colSteadyPortable = "portable steady"
)

// firstTickSizes are the task counts: 100k and 1M (-quick: 10k). The
// portable engine runs the smallest only (a goroutine per coroutine: 1M
// take some 3 GB and minutes of the report's time).
func firstTickSizes(quick bool) []int {
	if quick {
		return []int{10_000}
	}
	return []int{100_000, 1_000_000}
}

func init() {
	registerChildTask("firsttick", firstTickChild)
	s := &Section{
		Name:  "firsttick",
		Title: "First tick after spawn: Go N scheduler tasks, then the first Tick against a steady one",
		Columns: []Column{
			{Name: colFirstNative, Engine: "native"},
			{Name: colSteadyNative, Engine: "native"},
			{Name: colFirstPortable, Engine: "portable"},
			{Name: colSteadyPortable, Engine: "portable"},
		},
		Ratios: [][2]string{{colFirstNative, colSteadyNative}, {colFirstPortable, colSteadyPortable}},
		Notes: []string{
			"N tasks running the game-entity body (the scheduler rows') started with Go on a new Scheduler; first: the",
			"first Tick, which runs every task up to its first yield; steady: the median of the 10 ticks after it (-quick:",
			"N=10000, 3). Both columns of an engine come from one child process. portable runs N=100000 only (its",
			"coroutines are goroutines: 1M would take about 3 GB). Issue 15's target: first <= 2x steady.",
		},
	}
	id := func(engine string, n int) string { return fmt.Sprintf("%s/%d", engine, n) }
	s.Plan = func(cfg Config) []Probe {
		steady := 10
		if cfg.Quick {
			steady = 3
		}
		var ps []Probe
		sizes := firstTickSizes(cfg.Quick)
		for _, n := range sizes {
			ps = append(ps, Probe{ID: id("native", n), Column: colFirstNative, Desc: fmt.Sprintf("first tick, N=%d: native", n),
				Task: "firsttick", Params: firstTickParams{N: n, Steady: steady}, Need: int64(n) * 900})
		}
		ps = append(ps, Probe{ID: id("portable", sizes[0]), Column: colFirstPortable, Desc: fmt.Sprintf("first tick, N=%d: portable", sizes[0]),
			Task: "firsttick", Params: firstTickParams{N: sizes[0], Steady: steady}, Need: int64(sizes[0]) * 4096})
		return ps
	}
	s.Rows = func(cfg Config, res Results) []Row {
		var rows []Row
		for i, n := range firstTickSizes(cfg.Quick) {
			get := func(col string) (float64, string) {
				engine, key := "native", "first"
				switch col {
				case colSteadyNative:
					key = "steady"
				case colFirstPortable:
					engine = "portable"
				case colSteadyPortable:
					engine, key = "portable", "steady"
				}
				if engine == "portable" && i > 0 {
					return 0, "portable runs the smallest N only (memory)"
				}
				return res.Value(id(engine, n), key)
			}
			rows = append(rows, s.Row("first tick after spawn", fmt.Sprintf("N=%d", n), float64(n), "ms", "lower", get))
		}
		return rows
	}
	registerSection(s)
}

func firstTickChild(raw json.RawMessage) (map[string]float64, error) {
	var p firstTickParams
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	s := costack.NewScheduler()
	defer s.Close()
	settle()
	start := time.Now()
	workload.StartEntityTasks(s, p.N)
	spawned := time.Since(start)
	start = time.Now()
	s.Tick()
	first := time.Since(start)
	var steady []float64
	for range max(p.Steady, 1) {
		start := time.Now()
		s.Tick()
		steady = append(steady, float64(time.Since(start))/1e6)
	}
	if s.Len() != p.N {
		return nil, fmt.Errorf("first tick: %d tasks live, want %d", s.Len(), p.N)
	}
	slices.Sort(steady)
	return map[string]float64{
		"first":  float64(first) / 1e6,
		"steady": steady[len(steady)/2],
		"go":     float64(spawned) / float64(p.N),
	}, nil
}

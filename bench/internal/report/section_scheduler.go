package report

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/costack-dev/costack/bench/internal/workload"
	"github.com/costack-dev/costack/costack"
)

// The scheduler section (issue 18): the cost of a Scheduler tick against
// baselines measured in the same process, interleaved tick by tick so that
// load from elsewhere falls on both alike.
func init() {
	registerChildTask("scheduler", schedulerChild)
	s := &Section{
		Name:  "scheduler",
		Title: "Scheduler: a tick against its baseline, interleaved in one process (native engine)",
		Columns: []Column{
			{Name: "baseline", Engine: "native"},
			{Name: "scheduler", Engine: "native"},
		},
		Ratios: [][2]string{{"scheduler", "baseline"}},
		Notes: []string{
			"tick: Scheduler.Tick over N tasks that step and yield (phases and groups in place, idle) against the core table's bare loop of Resume calls over N coroutines; ns per resume; target <= 1.2x.",
			"tick with phases: every task runs in FixedUpdate, Update and LateUpdate (3 resumes per tick) against the bare loop; ns per resume.",
			"workers: N tasks on Workers(2) against one worker; ns per task; target <= 0.6x on 2 cores (needs both cores free).",
			"group pause/resume: a group of 10k among N paused for a tick and resumed the next, against the same two ticks with no pause; ns per task per tick.",
			"pprof labels: named tasks under ProfileLabels(true) against unnamed ones; ns per resume (why labels are opt-in).",
			"Each cell is the median over the rounds of one tick's time per resume; both columns of a row come from one process.",
		},
	}
	type probe struct {
		Case   string
		N      int
		Rounds int
	}
	cases := []struct{ name, desc string }{
		{"tick", "tick"},
		{"phases", "tick with phases"},
		{"workers", "workers"},
		{"group", "group pause/resume"},
		{"labels", "pprof labels"},
	}
	sizes := func(cfg Config, c string) []int {
		switch {
		case cfg.Quick:
			return []int{100_000}
		case c == "tick":
			return []int{100_000, 1_000_000}
		case c == "labels":
			return []int{100_000}
		}
		return []int{1_000_000}
	}
	id := func(c string, n int) string { return fmt.Sprintf("%s/%d", c, n) }
	s.Plan = func(cfg Config) []Probe {
		var ps []Probe
		for _, c := range cases {
			for _, n := range sizes(cfg, c.name) {
				rounds := 15
				if cfg.Quick {
					rounds = 5
				}
				ps = append(ps, Probe{ID: id(c.name, n), Column: "scheduler",
					Desc: fmt.Sprintf("scheduler, %s, N=%d", c.desc, n), Task: "scheduler",
					Params: probe{c.name, n, rounds}, Need: int64(n) * 900})
			}
		}
		return ps
	}
	s.Rows = func(cfg Config, res Results) []Row {
		var rows []Row
		for _, c := range cases {
			for _, n := range sizes(cfg, c.name) {
				pid := id(c.name, n)
				// One probe measured both columns: its values are keyed by
				// column name (and name+"/best").
				r := s.Row(c.desc, fmt.Sprintf("N=%d", n), float64(n), "ns/resume", "lower",
					func(col string) (float64, string) { return res.Value(pid, col) })
				r.Best = map[string]float64{}
				for col := range r.Values {
					if v, why := res.Value(pid, col+"/best"); why == "" {
						r.Best[col] = v
					}
				}
				rows = append(rows, r)
			}
		}
		return rows
	}
	registerSection(s)
}

// schedulerChild measures one row: both designs in this process, a tick of
// each in turn per round.
func schedulerChild(raw json.RawMessage) (map[string]float64, error) {
	var p struct {
		Case   string
		N      int
		Rounds int
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	n := p.N
	var base, sched func()
	resumesBase, resumesSched := n, n
	var cleanup []func()
	defer func() {
		for _, f := range slices.Backward(cleanup) {
			f()
		}
	}()
	newSched := func(opts ...costack.SchedulerOption) *costack.Scheduler {
		s := costack.NewScheduler(opts...)
		cleanup = append(cleanup, s.Close)
		return s
	}
	switch p.Case {
	case "tick", "phases":
		tick, closeAll := workload.BareEntities(n)
		cleanup = append(cleanup, closeAll)
		base = tick
		s := newSched()
		if p.Case == "tick" {
			workload.StartEntityTasks(s, n)
		} else {
			workload.StartPhasedEntityTasks(s, n)
			resumesSched = 3 * n
		}
		sched = s.Tick
	case "workers":
		one, two := newSched(), newSched(costack.Workers(2))
		workload.StartEntityTasks(one, n)
		workload.StartEntityTasks(two, n)
		base, sched = one.Tick, two.Tick
	case "group":
		const members = 10_000
		plain, paused := newSched(), newSched()
		g := paused.NewGroup("10k")
		workload.StartEntityTasks(plain, n)
		workload.StartEntityTasks(paused, n-members)
		workload.StartEntityTasks(paused, members, costack.InGroup(g))
		base = func() { plain.Tick(); plain.Tick() }
		sched = func() { g.Pause(); paused.Tick(); g.Resume(); paused.Tick() }
		resumesBase, resumesSched = 2*n, 2*n
	case "labels":
		plain, named := newSched(), newSched(costack.ProfileLabels(true))
		workload.StartEntityTasks(plain, n)
		workload.StartEntityTasks(named, n, costack.Named("entity"))
		base, sched = plain.Tick, named.Tick
	default:
		return nil, fmt.Errorf("scheduler: unknown case %q", p.Case)
	}
	base()
	sched()
	var bs, ss []float64
	for range max(p.Rounds, 1) {
		start := time.Now()
		base()
		bs = append(bs, float64(time.Since(start))/float64(resumesBase))
		start = time.Now()
		sched()
		ss = append(ss, float64(time.Since(start))/float64(resumesSched))
	}
	slices.Sort(bs)
	slices.Sort(ss)
	return map[string]float64{
		"baseline": bs[len(bs)/2], "baseline/best": bs[0],
		"scheduler": ss[len(ss)/2], "scheduler/best": ss[0],
	}, nil
}

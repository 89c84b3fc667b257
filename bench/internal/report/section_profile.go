package report

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"

	"github.com/costack-dev/costack/bench/internal/workload"
	"github.com/costack-dev/costack/costack"
)

// The profile of suspended tasks (issue 17): Scheduler.WriteProfile of N
// game-entity tasks, against a steady tick of the same tasks, and the
// longest tick while a profile is being written (the profile holds the
// tick off about a millisecond at a time).

type profileParams struct {
	N int `json:"n"`
}

const (
	colProfileNative      = "native profile"
	colTickNative         = "native tick"
	colPausedTickNative   = "native tick while profiling"
	colProfilePortable    = "portable profile"
	colTickPortable       = "portable tick"
	colPausedTickPortable = "portable tick while profiling"
)

func profileSizes(quick bool) []int {
	if quick {
		return []int{10_000}
	}
	return []int{100_000, 1_000_000}
}

func init() {
	registerChildTask("profile", profileChild)
	s := &Section{
		Name:  "profile",
		Title: "Profile of suspended coroutines: Scheduler.WriteProfile of N tasks, WriteProfile of N coroutines, against a steady tick",
		Columns: []Column{
			{Name: colProfileNative, Engine: "native"},
			{Name: colTickNative, Engine: "native"},
			{Name: colPausedTickNative, Engine: "native"},
			{Name: colProfilePortable, Engine: "portable"},
			{Name: colTickPortable, Engine: "portable"},
			{Name: colPausedTickPortable, Engine: "portable"},
		},
		Ratios: [][2]string{{colProfileNative, colTickNative}, {colPausedTickNative, colTickNative}, {colProfilePortable, colTickPortable}},
		Notes: []string{
			"N tasks running the game-entity body, suspended; profile: one Scheduler.WriteProfile to io.Discard (the",
			"tasks read and counted by stack, symbolized, encoded as pprof's gzipped protobuf); tick: the median of 5",
			"steady ticks; tick while profiling: the longest tick run back to back while a profile is written from",
			"another goroutine (the profile holds the tick off for about 1 ms at a time). portable runs N=100000 only.",
			"profile of coroutines: the process-wide costack.WriteProfile of N game entities made with costack.New and",
			"suspended across two collections (registered), against a tick resuming each once (its loop of Resume calls);",
			"the profile holds nothing off: a Resume that wants a coroutine being read waits for it.",
			"Issue 17's targets: 1M tasks in <= 1 s, no tick held off for more than a few ms.",
		},
	}
	id := func(engine string, n int) string { return fmt.Sprintf("%s/%d", engine, n) }
	s.Plan = func(cfg Config) []Probe {
		var ps []Probe
		sizes := profileSizes(cfg.Quick)
		for _, n := range sizes {
			ps = append(ps, Probe{ID: id("native", n), Column: colProfileNative, Desc: fmt.Sprintf("profile, N=%d: native", n),
				Task: "profile", Params: profileParams{N: n}, Need: int64(n) * 900})
		}
		ps = append(ps, Probe{ID: id("portable", sizes[0]), Column: colProfilePortable, Desc: fmt.Sprintf("profile, N=%d: portable", sizes[0]),
			Task: "profile", Params: profileParams{N: sizes[0]}, Need: int64(sizes[0]) * 4096})
		return ps
	}
	s.Rows = func(cfg Config, res Results) []Row {
		var rows []Row
		for i, n := range profileSizes(cfg.Quick) {
			var prefix string // "co": the coroutines' row
			get := func(col string) (float64, string) {
				engine, key := "native", "profile"
				switch col {
				case colTickNative:
					key = "tick"
				case colPausedTickNative:
					key = "paused"
				case colProfilePortable:
					engine = "portable"
				case colTickPortable:
					engine, key = "portable", "tick"
				case colPausedTickPortable:
					engine, key = "portable", "paused"
				}
				if engine == "portable" && i > 0 {
					return 0, "portable runs the smallest N only (memory)"
				}
				return res.Value(id(engine, n), prefix+key)
			}
			prefix = ""
			rows = append(rows, s.Row("profile of tasks", fmt.Sprintf("N=%d", n), float64(n), "ms", "lower", get))
			prefix = "co"
			rows = append(rows, s.Row("profile of coroutines", fmt.Sprintf("N=%d", n), float64(n), "ms", "lower", get))
		}
		return rows
	}
	registerSection(s)
}

func profileChild(raw json.RawMessage) (map[string]float64, error) {
	var p profileParams
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	s := costack.NewScheduler()
	defer s.Close()
	workload.StartEntityTasks(s, p.N)
	s.Tick()
	settle()
	var ticks []float64
	for range 5 {
		start := time.Now()
		s.Tick()
		ticks = append(ticks, float64(time.Since(start))/1e6)
	}
	slices.Sort(ticks)
	start := time.Now()
	if err := s.WriteProfile(io.Discard); err != nil {
		return nil, err
	}
	profile := float64(time.Since(start)) / 1e6
	done := make(chan error, 1)
	go func() { done <- s.WriteProfile(io.Discard) }()
	paused := 0.0
	for {
		start := time.Now()
		s.Tick()
		paused = max(paused, float64(time.Since(start))/1e6)
		select {
		case err := <-done:
			if err != nil {
				return nil, err
			}
			if s.Len() != p.N {
				return nil, fmt.Errorf("profile: %d tasks live, want %d", s.Len(), p.N)
			}
			out := map[string]float64{"profile": profile, "tick": ticks[len(ticks)/2], "paused": paused}
			s.Close()
			return out, coroutinesProfile(p.N, out)
		default:
		}
	}
}

// coroutinesProfile measures the process-wide WriteProfile of n suspended
// game-entity coroutines (costack.New) into out ("coprofile", "cotick",
// "copaused"), as profileChild does for tasks.
func coroutinesProfile(n int, out map[string]float64) error {
	pop := workload.NewPopulation(workload.Costack)
	defer pop.Close()
	pop.Reserve(n)
	pop.Add(n)
	for range 2 {
		runtime.GC() // the coroutines are adopted: in the registry, no longer young
	}
	settle()
	tick := func() float64 {
		start := time.Now()
		pop.Tick()
		return float64(time.Since(start)) / 1e6
	}
	var ticks []float64
	for range 5 {
		ticks = append(ticks, tick())
	}
	slices.Sort(ticks)
	start := time.Now()
	if err := costack.WriteProfile(io.Discard); err != nil {
		return err
	}
	out["coprofile"] = float64(time.Since(start)) / 1e6
	out["cotick"] = ticks[len(ticks)/2]
	done := make(chan error, 1)
	go func() { done <- costack.WriteProfile(io.Discard) }()
	paused := 0.0
	for {
		paused = max(paused, tick())
		select {
		case err := <-done:
			out["copaused"] = paused
			return err
		default:
		}
	}
}

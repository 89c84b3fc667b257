package report

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/costack-dev/costack/bench/internal/workload"
)

// The spawn churn rows (issue 15): a population of game entities of which
// 10% end and 10% are spawned every tick, as a game spawns bullets and
// effects every frame.

// churnParams are the parameters of a churn child.
type churnParams struct {
	Impl  string `json:"impl"`
	N     int    `json:"n"`
	Life  int    `json:"life"`
	Warm  int    `json:"warm"`
	Ticks int    `json:"ticks"`
}

// churnLife is an entity's life in ticks: a tenth of the population ends
// every tick.
const churnLife = 10

// churnSize returns the population, the warm-up ticks and the timed ticks.
func churnSize(quick bool) (n, warm, ticks int) {
	if quick {
		return 10_000, churnLife, 5
	}
	return 100_000, 2 * churnLife, 20
}

func init() {
	registerChildTask("churn", churnChild)
	s := &Section{
		Name:    "churn",
		Title:   "Spawn churn: 10% of a population of game entities end and 10% are spawned every tick",
		Columns: shapesColumns,
		Ratios:  [][2]string{{ColNative, ColIterPull}, {ColNative, ColGoroutine}, {ColPortable, ColIterPull}, {ColPortable, ColGoroutine}},
		Notes: []string{
			"N game entities (the tick rows' body) live 10 ticks each, staggered: every tick resumes all N once, the N/10",
			"whose life ends return (iter.Pull: next reports false, then stop; goroutine: its out channel closes), and a",
			"new entity is spawned into each freed slot: created and resumed to its first yield (costack.New + Resume,",
			"iter.Pull + next, go + a channel round trip). ns/spawn: the spawning part of a tick over the entities spawned;",
			"tick: the whole tick (resumes, ends and spawns). Median over 20 timed ticks after 20 warm-up ticks (-quick:",
			"N=10000, 5 after 10); each column in a child of its own.",
		},
	}
	s.Plan = func(cfg Config) []Probe {
		n, warm, ticks := churnSize(cfg.Quick)
		var ps []Probe
		for _, col := range shapesColumns {
			ps = append(ps, Probe{ID: col.Name, Column: col.Name, Desc: "spawn churn: " + col.Name, Task: "churn",
				Params: churnParams{Impl: string(shapesImpl[col.Name]), N: n, Life: churnLife, Warm: warm, Ticks: ticks},
				Need:   int64(n)*4096 + 256<<20})
		}
		return ps
	}
	s.Rows = func(cfg Config, res Results) []Row {
		n, _, _ := churnSize(cfg.Quick)
		p := fmt.Sprintf("N=%d, %d/tick", n, n/churnLife)
		id := func(col string) string { return col }
		return []Row{
			s.TimedRow("spawn churn, per spawn", p, float64(n), "ns/spawn", res, id, "spawn"),
			s.TimedRow("spawn churn, tick", p, float64(n), "ms/tick", res, id, "tick"),
		}
	}
	registerSection(s)
}

func churnChild(raw json.RawMessage) (map[string]float64, error) {
	var p churnParams
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	impl, err := workload.ParseImpl(p.Impl)
	if err != nil {
		return nil, err
	}
	c := workload.NewChurn(impl, p.N, p.Life)
	defer c.Close()
	for range p.Warm {
		c.Tick()
	}
	var spawn, tick []float64
	for range max(p.Ticks, 1) {
		start := time.Now()
		k, d := c.Tick()
		tick = append(tick, float64(time.Since(start))/1e6)
		if k == 0 {
			return nil, fmt.Errorf("churn: no entity ended in a tick")
		}
		spawn = append(spawn, float64(d)/float64(k))
	}
	slices.Sort(spawn)
	slices.Sort(tick)
	return map[string]float64{
		"spawn": spawn[len(spawn)/2], "spawn/best": spawn[0],
		"tick": tick[len(tick)/2], "tick/best": tick[0],
	}, nil
}

// Package report is the costack-bench side-by-side benchmark report: costack
// on the native engine, costack on the portable engine, iter.Pull and
// goroutines with channels, measured on the same workloads (package
// workload) and printed as one table with ratios, PNG charts and optional
// JSON.
//
// Every measurement runs in a fresh child process — the report re-executes
// its own binary with ChildFlag — so that memory growth is not polluted by
// earlier measurements and so that each child can select its costack engine
// through COSTACK_ENGINE. A program (or test binary) that runs the report
// must therefore call ChildMain first thing when IsChild reports that it is
// such a child; Main does this itself.
package report

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is what a report measures and where it writes.
type Config struct {
	// Quick makes a smaller, faster report (whole report under a minute).
	Quick bool
	// N lists the population sizes of the memory and tick rows.
	N []int
	// Budget is the RSS budget of the capacity rows, in bytes.
	Budget int64
	// Out is the directory the PNG charts are written to.
	Out string
	// JSON is where the machine-readable report is written: a file name,
	// "-" for stdout (the table then goes to stderr), or "" for nowhere.
	JSON string
	// Target is the duration of one timed run and Runs the number of timed
	// runs per measurement (the median is reported).
	Target time.Duration
	Runs   int
	// Rounds is how many times the timing children run, the kinds taking
	// turns, so that a burst of load on a shared machine does not land on
	// one kind only; each cell reports the median over the rounds.
	Rounds int
	// CapacityLimit stops a capacity measurement that takes longer; its
	// count is then a lower bound.
	CapacityLimit time.Duration
	// Best makes the table and the charts show the fastest timed run of
	// each timing cell instead of the median (the JSON always has both).
	// On a machine shared with other work the fastest run is the steadier
	// estimate of the cost itself.
	Best bool
	// Exe is the binary re-executed for each measurement; by default the
	// running one (os.Executable).
	Exe string
	// Only lists the sections to run ("core" is the core table); empty
	// runs them all.
	Only map[string]bool
}

// defaults fills in what c leaves zero.
func (c *Config) defaults() {
	if len(c.N) == 0 {
		if c.Quick {
			c.N = []int{1_000, 10_000, 100_000}
		} else {
			c.N = []int{10_000, 100_000, 1_000_000}
		}
	}
	if c.Budget == 0 {
		if c.Quick {
			c.Budget = 256 << 20
		} else {
			c.Budget = 2 << 30
		}
	}
	if c.Out == "" {
		c.Out = "costack-report"
	}
	if c.Target == 0 {
		if c.Quick {
			c.Target = 20 * time.Millisecond
		} else {
			c.Target = 200 * time.Millisecond
		}
	}
	if c.Runs == 0 {
		if c.Quick {
			c.Runs = 3
		} else {
			c.Runs = 5
		}
	}
	if c.Rounds == 0 {
		if c.Quick {
			c.Rounds = 1
		} else {
			c.Rounds = 3
		}
	}
	if c.CapacityLimit == 0 {
		if c.Quick {
			c.CapacityLimit = 15 * time.Second
		} else {
			c.CapacityLimit = 120 * time.Second
		}
	}
}

// Main parses the command line of costack-bench (args without the program
// name), runs the report and returns the exit code. A child invocation (see
// IsChild) runs its measurement instead.
func Main(args []string, stdout, stderr io.Writer) int {
	if IsChild(args) {
		return ChildMain(args, stdout, stderr)
	}
	fs := flag.NewFlagSet("costack-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	var n, budget, from, only string
	fs.BoolVar(&cfg.Quick, "quick", false, "smaller sizes and shorter timing runs: the whole report in under a minute")
	fs.StringVar(&n, "n", "", "comma-separated population sizes for the memory and tick rows (default 10000,100000,1000000; -quick 1000,10000,100000)")
	fs.StringVar(&budget, "budget", "", "RSS budget for the capacity rows, e.g. 2GB, 512MB (default 2GB; -quick 256MB)")
	fs.StringVar(&cfg.Out, "out", "costack-report", "directory for the PNG charts")
	fs.StringVar(&cfg.JSON, "json", "", "write machine-readable results to this file; - means stdout (the table then goes to stderr)")
	fs.DurationVar(&cfg.Target, "time", 0, "duration of one timed run (default 200ms; -quick 20ms)")
	fs.IntVar(&cfg.Runs, "runs", 0, "timed runs per measurement, median reported (default 5; -quick 3)")
	fs.IntVar(&cfg.Rounds, "rounds", 0, "rounds of the timing measurements, kinds taking turns, median reported (default 3; -quick 1)")
	fs.DurationVar(&cfg.CapacityLimit, "capacity-limit", 0, "time limit per capacity measurement (default 2m; -quick 15s)")
	fs.BoolVar(&cfg.Best, "best", false, "show the fastest timed run of each timing cell instead of the median (steadier on a busy machine; -json has both)")
	fs.StringVar(&only, "only", "", "comma-separated sections to run (default all: "+strings.Join(SectionNames(), ", ")+")")
	fs.StringVar(&from, "from", "", "measure nothing: print the table and write the charts (and -json) of a report saved with -json")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: costack-bench [flags]")
		fmt.Fprintln(stderr, "Runs costack (native and portable engines), iter.Pull and goroutines+channels side by side.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "costack-bench: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if n != "" {
		for _, s := range strings.Split(n, ",") {
			v, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || v <= 0 {
				fmt.Fprintf(stderr, "costack-bench: bad -n %q\n", n)
				return 2
			}
			cfg.N = append(cfg.N, v)
		}
	}
	if o, err := parseOnly(only); err != nil {
		fmt.Fprintln(stderr, "costack-bench: -only:", err)
		return 2
	} else {
		cfg.Only = o
	}
	if budget != "" {
		b, err := ParseBytes(budget)
		if err != nil {
			fmt.Fprintln(stderr, "costack-bench: -budget:", err)
			return 2
		}
		cfg.Budget = b
	}
	var rep *Report
	var err error
	if from != "" {
		rep, err = Load(from)
	} else {
		rep, err = Run(context.Background(), cfg, stderr)
	}
	if err != nil {
		fmt.Fprintln(stderr, "costack-bench:", err)
		return 1
	}
	if err := rep.Write(cfg, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "costack-bench:", err)
		return 1
	}
	if from == "" && len(rep.Errors) > 0 {
		return 1
	}
	return 0
}

// Report is the result of a run, as written by -json.
type Report struct {
	// Date is when the run started.
	Date time.Time `json:"date"`
	// Machine describes where it ran.
	Machine Machine `json:"machine"`
	// Engines maps the costack columns (native, portable) to
	// costack.Engine() in a child asked for that engine.
	Engines map[string]string `json:"engines"`
	// Settings used.
	N             []int         `json:"n"`
	Budget        int64         `json:"budget"`
	Target        time.Duration `json:"target_ns"`
	Runs          int           `json:"runs"`
	Rounds        int           `json:"rounds"`
	CapacityLimit time.Duration `json:"capacity_limit_ns"`
	// Stat says what the timing values are: StatMedian (as measured, and
	// always in JSON) or StatBest (a table shown with -best).
	Stat string `json:"stat"`
	// Columns lists the columns in order; Ratios the ratio columns.
	Columns []string `json:"columns"`
	Ratios  []string `json:"ratios"`
	// Rows are the measurements of the core table.
	Rows []Row `json:"rows"`
	// Sections are the other tables (section_*.go), in order.
	Sections []SectionReport `json:"sections,omitempty"`
	// CapacityStops maps a column whose capacity run stopped before the
	// budget to the reason (its count is then a lower bound).
	CapacityStops map[string]string `json:"capacity_stops,omitempty"`
	// Errors lists measurements that failed.
	Errors []string `json:"errors,omitempty"`
}

// Machine describes the computer and toolchain a report ran on.
type Machine struct {
	CPU        string `json:"cpu"`
	Cores      int    `json:"cores"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Go         string `json:"go"`
	GOOS       string `json:"goos"`
	GOARCH     string `json:"goarch"`
	// LoadStart and LoadEnd are the 1-minute load averages when the run
	// started and ended: a load above the number of cores means other
	// programs competed for the CPU and the times are noisy.
	LoadStart float64 `json:"load_start"`
	LoadEnd   float64 `json:"load_end"`
}

// Row is one line of the report: one measurement for every column.
type Row struct {
	// Case and Param name the row, e.g. "round trip", "depth 4".
	Case  string `json:"case"`
	Param string `json:"param"`
	// X is the row's parameter as a number (depth or N), for charts.
	X float64 `json:"x"`
	// Unit of the values; Better is "lower" or "higher".
	Unit   string `json:"unit"`
	Better string `json:"better"`
	// Values maps a column to its measurement; a column without a value
	// has its reason in NA.
	Values map[string]float64 `json:"values"`
	NA     map[string]string  `json:"na,omitempty"`
	// Best maps a column of a timing row to the fastest timed run seen
	// (Values holds the median): a floor that load from other programs on
	// the machine disturbs less.
	Best map[string]float64 `json:"best,omitempty"`
	// Ratios maps "column/baseline" (e.g. "native/iter.Pull") to
	// Values[column]/Values[baseline].
	Ratios map[string]float64 `json:"ratios"`
}

// TableFile is the text table's file name in the -out directory.
const TableFile = "report.txt"

// Values of Report.Stat.
const (
	StatMedian = "median"
	StatBest   = "best"
)

// Row cases.
const (
	CaseRoundTrip  = "round trip"
	CaseReloc      = "round trip, 64 in turn"
	CaseCreate     = "create+resume+Close"
	CaseRSS        = "RSS/suspended"
	CaseFootprint  = "Footprint/suspended"
	CaseGoMem      = "Go heap+stack/suspended"
	CaseTick       = "game-loop tick"
	CaseCapacity   = "capacity in budget"
	ParamRelocNone = "same place"
	ParamRelocGor  = "other goroutine"
	ParamRelocDeep = "other depth"
)

// ratioPairs are the ratio columns: costack column over baseline.
var ratioPairs = [][2]string{
	{ColNative, ColIterPull},
	{ColNative, ColGoroutine},
	{ColPortable, ColIterPull},
	{ColPortable, ColGoroutine},
}

// RatioKey names the ratio of column col over baseline base.
func RatioKey(col, base string) string { return col + "/" + base }

// step is one child run.
type step struct {
	desc string
	k    kind
	t    task
	// argv, if set, is the command of an external child (Column.Command);
	// otherwise the report's own binary runs.
	argv []string
	// need is the memory the step is expected to take: when the machine has
	// less available, the step waits a while for it and is then skipped
	// (need < 0: waits for -need, then runs anyway).
	need int64
	// store records the result (or the error) in the report's state.
	store func(*childResult, error)
}

// skipped is the error of a step that did not run.
type skipped string

func (s skipped) Error() string { return "skipped: " + string(s) }

// naReason is the n/a text for a failed or skipped step.
func naReason(err error) string {
	var s skipped
	if errors.As(err, &s) {
		return s.Error()
	}
	return "error: " + firstLine(err)
}

// waitForMemory waits until the machine has need bytes available, calling
// waiting once if it has to wait, for at most max. It reports whether the
// memory is there; a negative need waits for -need but then reports true
// regardless.
func waitForMemory(ctx context.Context, need int64, max time.Duration, waiting func(avail int64)) bool {
	soft := need < 0
	if soft {
		need = -need
	}
	deadline := time.Now().Add(max)
	for said := false; ; said = true {
		avail := MemAvailable()
		if avail == 0 || avail >= need {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return soft
		}
		if !said {
			waiting(avail)
		}
		time.Sleep(2 * time.Second)
	}
}

// Run measures everything cfg asks for, printing progress to progress.
func Run(ctx context.Context, cfg Config, progress io.Writer) (*Report, error) {
	cfg.defaults()
	exe := cfg.Exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("cannot re-execute myself: %w", err)
		}
	}
	rep := &Report{
		Date: time.Now().UTC(),
		Machine: Machine{
			CPU:        CPUModel(),
			Cores:      runtime.NumCPU(),
			GOMAXPROCS: runtime.GOMAXPROCS(0),
			Go:         runtime.Version(),
			GOOS:       runtime.GOOS,
			GOARCH:     runtime.GOARCH,
			LoadStart:  LoadAvg(),
		},
		Engines:       map[string]string{},
		N:             cfg.N,
		Budget:        cfg.Budget,
		Target:        cfg.Target,
		Runs:          cfg.Runs,
		Rounds:        cfg.Rounds,
		CapacityLimit: cfg.CapacityLimit,
		Columns:       Columns,
		Stat:          StatMedian,
	}
	for _, p := range ratioPairs {
		rep.Ratios = append(rep.Ratios, RatioKey(p[0], p[1]))
	}
	childTimeout, memWait := 20*time.Minute, 2*time.Minute
	if cfg.Quick {
		childTimeout, memWait = 3*time.Minute, 10*time.Second
	}
	run := func(i, total int, s step) {
		need := max(s.need, -s.need)
		if s.need != 0 && !waitForMemory(ctx, s.need, memWait, func(avail int64) {
			fmt.Fprintf(progress, "costack-bench: [%d/%d] %s: waiting for memory (needs about %s, %s available)\n",
				i, total, s.desc, FormatBytes(need), FormatBytes(avail))
		}) {
			err := skipped(fmt.Sprintf("needs about %s, %s available", FormatBytes(need), FormatBytes(MemAvailable())))
			fmt.Fprintf(progress, "costack-bench: [%d/%d] %s %v\n", i, total, s.desc, err)
			s.store(nil, err)
			return
		}
		var res *childResult
		var err error
		var skip skipped
		// A child that runs out of memory half way (other programs grew)
		// gets one more try once memory is back.
		for attempt := 0; attempt < 2; attempt++ {
			if attempt > 0 {
				if !waitForMemory(ctx, need, memWait, func(int64) {}) {
					break
				}
				fmt.Fprintf(progress, "costack-bench: [%d/%d] %s: retrying\n", i, total, s.desc)
			}
			fmt.Fprintf(progress, "costack-bench: [%d/%d] %s ...\n", i, total, s.desc)
			start := time.Now()
			cctx, cancel := context.WithTimeout(ctx, childTimeout)
			argv := s.argv
			if argv == nil {
				argv = []string{exe}
			}
			res, err = runChild(cctx, argv, s.k, s.t, progress, s.desc)
			cancel()
			if d := time.Since(start); d > time.Second {
				fmt.Fprintf(progress, "costack-bench: [%d/%d] %s done in %.1fs\n", i, total, s.desc, d.Seconds())
			}
			if !errors.As(err, &skip) || s.need == 0 {
				break
			}
		}
		switch {
		case errors.As(err, &skip):
			fmt.Fprintf(progress, "costack-bench: [%d/%d] %s %v\n", i, total, s.desc, err)
		case err != nil:
			rep.Errors = append(rep.Errors, fmt.Sprintf("%s: %v", s.desc, err))
			fmt.Fprintf(progress, "costack-bench: %s failed: %v\n", s.desc, err)
		}
		s.store(res, err)
	}

	// Which engines are there?
	na := map[string]string{}
	for i, k := range kinds[:2] {
		run(i+1, 2, step{desc: "engine probe " + k.name, k: k, t: task{Task: taskEngine, Impl: string(k.impl)},
			store: func(r *childResult, err error) {
				switch {
				case err != nil:
					na[k.name] = "engine probe failed: " + err.Error()
				case !strings.HasPrefix(r.Engine, k.engine):
					rep.Engines[k.name] = r.Engine
					na[k.name] = "engine unavailable: " + r.Engine
				default:
					rep.Engines[k.name] = r.Engine
				}
			}})
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	timingRounds := map[string][]*childResult{}
	pops := map[string]map[int]*childResult{}
	caps := map[string]*childResult{}
	cellNA := map[string]string{} // "col|case" → reason
	var steps []step
	timed := task{Target: cfg.Target, Runs: cfg.Runs}
	for round := range cfg.Rounds {
		for _, k := range kinds {
			if na[k.name] != "" {
				continue
			}
			t := timed
			t.Task = taskTiming
			desc := "round trips, relocation, create: " + k.name
			if cfg.Rounds > 1 {
				desc += fmt.Sprintf(" (round %d/%d)", round+1, cfg.Rounds)
			}
			steps = append(steps, step{desc: desc, k: k, t: t,
				store: func(r *childResult, err error) {
					if err != nil {
						cellNA[k.name+"|timing"] = naReason(err)
						return
					}
					timingRounds[k.name] = append(timingRounds[k.name], r)
				}})
		}
	}
	for _, n := range cfg.N {
		for _, k := range kinds {
			if na[k.name] != "" {
				continue
			}
			t := timed
			t.Task, t.N = taskPopulation, n
			steps = append(steps, step{desc: fmt.Sprintf("memory and tick, N=%d: %s", n, k.name), k: k, t: t,
				need: int64(n)*4096 + 256<<20,
				store: func(r *childResult, err error) {
					if err != nil {
						cellNA[fmt.Sprintf("%s|pop%d", k.name, n)] = naReason(err)
						return
					}
					if pops[k.name] == nil {
						pops[k.name] = map[int]*childResult{}
					}
					pops[k.name][n] = r
				}})
		}
	}
	batch := int(max(100, min(10_000, cfg.Budget/64/4096)))
	for _, k := range kinds {
		if na[k.name] != "" {
			continue
		}
		t := task{Task: taskCapacity, Budget: cfg.Budget, Batch: batch, Limit: cfg.CapacityLimit}
		// A capacity run does not need its whole budget to say something:
		// it waits for memory like the other steps, then runs anyway and
		// stops early (reporting a lower bound) if the machine runs low.
		steps = append(steps, step{desc: fmt.Sprintf("capacity in %s: %s", FormatBytes(cfg.Budget), k.name), k: k, t: t,
			need: -(cfg.Budget + lowMemory),
			store: func(r *childResult, err error) {
				if err != nil {
					cellNA[k.name+"|capacity"] = naReason(err)
					return
				}
				caps[k.name] = r
			}})
	}
	core := selected(cfg.Only, coreSection)
	if !core {
		steps = nil
	}
	plans, secSteps, err := planSections(ctx, cfg, na)
	if err != nil {
		return nil, err
	}
	steps = append(steps, secSteps...)
	for i, s := range steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		run(i+1, len(steps), s)
	}

	rep.Machine.LoadEnd = LoadAvg()
	rep.Sections = buildSections(cfg, plans)
	if !core {
		return rep, nil
	}

	// Rows.
	add := func(c, p string, x float64, unit, better string, get func(col string) (float64, string), best func(col string) (float64, bool)) {
		r := Row{Case: c, Param: p, X: x, Unit: unit, Better: better,
			Values: map[string]float64{}, NA: map[string]string{}, Ratios: map[string]float64{}}
		if best != nil {
			r.Best = map[string]float64{}
			for _, col := range Columns {
				if v, ok := best(col); ok {
					r.Best[col] = v
				}
			}
		}
		for _, col := range Columns {
			if why := na[col]; why != "" {
				r.NA[col] = why
				continue
			}
			v, why := get(col)
			if why != "" {
				r.NA[col] = why
				continue
			}
			r.Values[col] = v
		}
		r.Ratios = ratios(r.Values)
		rep.Rows = append(rep.Rows, r)
	}
	timingCell := func(key string) func(string) (float64, string) {
		return func(col string) (float64, string) {
			if why := cellNA[col+"|timing"]; why != "" {
				return 0, why
			}
			var vs []float64
			for _, r := range timingRounds[col] {
				if v, ok := r.Timing[key]; ok {
					vs = append(vs, v)
				}
			}
			if len(vs) == 0 {
				return 0, "not measured"
			}
			slices.Sort(vs)
			return vs[len(vs)/2], ""
		}
	}
	timingBest := func(key string) func(string) (float64, bool) {
		return func(col string) (float64, bool) {
			best, ok := 0.0, false
			for _, r := range timingRounds[col] {
				if v, has := r.Best[key]; has && (!ok || v < best) {
					best, ok = v, true
				}
			}
			return best, ok
		}
	}
	for _, d := range Depths {
		add(CaseRoundTrip, fmt.Sprintf("depth %d", d), float64(d), "ns/op", "lower", timingCell(fmt.Sprintf(keyDepth, d)), timingBest(fmt.Sprintf(keyDepth, d)))
	}
	add(CaseReloc, ParamRelocNone, 0, "ns/op", "lower", timingCell(keyRelocNone), timingBest(keyRelocNone))
	add(CaseReloc, ParamRelocGor, 0, "ns/op", "lower", timingCell(keyRelocGor), timingBest(keyRelocGor))
	add(CaseReloc, ParamRelocDeep, 0, "ns/op", "lower", timingCell(keyRelocDepth), timingBest(keyRelocDepth))
	add(CaseCreate, "depth 1", 0, "ns/op", "lower", timingCell(keyCreate), timingBest(keyCreate))
	popCell := func(n int, get func(*childResult) (float64, string)) func(string) (float64, string) {
		return func(col string) (float64, string) {
			r := pops[col][n]
			if r == nil {
				return 0, or(cellNA[fmt.Sprintf("%s|pop%d", col, n)], "not measured")
			}
			return get(r)
		}
	}
	for _, n := range cfg.N {
		add(CaseRSS, fmt.Sprintf("N=%d", n), float64(n), "B", "lower", popCell(n, func(r *childResult) (float64, string) { return r.RSSPer, "" }), nil)
	}
	for _, n := range cfg.N {
		add(CaseFootprint, fmt.Sprintf("N=%d", n), float64(n), "B", "lower", popCell(n, func(r *childResult) (float64, string) {
			if r.FootPer < 0 {
				return 0, "no Footprint for this kind"
			}
			return r.FootPer, ""
		}), nil)
	}
	for _, n := range cfg.N {
		add(CaseGoMem, fmt.Sprintf("N=%d", n), float64(n), "B", "lower", popCell(n, func(r *childResult) (float64, string) { return r.GoPer, "" }), nil)
	}
	for _, n := range cfg.N {
		add(CaseTick, fmt.Sprintf("N=%d", n), float64(n), "ns/entity", "lower", popCell(n, func(r *childResult) (float64, string) { return r.TickNs, "" }),
			func(col string) (float64, bool) {
				if r := pops[col][n]; r != nil {
					return r.TickMin, true
				}
				return 0, false
			})
	}
	add(CaseCapacity, FormatBytes(cfg.Budget), float64(cfg.Budget), "instances", "higher", func(col string) (float64, string) {
		r := caps[col]
		if r == nil {
			return 0, or(cellNA[col+"|capacity"], "not measured")
		}
		if r.Stop != "budget" {
			cellNA[col+"|capstop"] = r.Stop
		}
		return float64(r.Count), ""
	}, nil)
	for _, col := range Columns {
		if s := cellNA[col+"|capstop"]; s != "" {
			if rep.CapacityStops == nil {
				rep.CapacityStops = map[string]string{}
			}
			rep.CapacityStops[col] = s
		}
	}
	return rep, nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// BestOf returns a copy of r whose timing rows hold the fastest timed run
// of each cell (Row.Best) as their values, with the ratios recomputed.
func (r *Report) BestOf() *Report {
	c := *r
	c.Stat = StatBest
	c.Rows = make([]Row, len(r.Rows))
	for i, row := range r.Rows {
		c.Rows[i] = row
		if len(row.Best) == 0 {
			continue
		}
		v := map[string]float64{}
		for col, x := range row.Values {
			v[col] = x
			if b, ok := row.Best[col]; ok {
				v[col] = b
			}
		}
		c.Rows[i].Values = v
		c.Rows[i].Ratios = ratios(v)
	}
	c.Sections = make([]SectionReport, len(r.Sections))
	for i, sr := range r.Sections {
		c.Sections[i] = sr
		c.Sections[i].Rows = bestRows(sr)
	}
	return &c
}

// bestRows returns sr's rows with the fastest runs as values (Row.Best),
// ratios recomputed.
func bestRows(sr SectionReport) []Row {
	var pairs [][2]string
	for _, k := range sr.Ratios {
		a, b, _ := strings.Cut(k, "/")
		pairs = append(pairs, [2]string{a, b})
	}
	rows := make([]Row, len(sr.Rows))
	for i, row := range sr.Rows {
		rows[i] = row
		if len(row.Best) == 0 {
			continue
		}
		v := map[string]float64{}
		for col, x := range row.Values {
			v[col] = x
			if b, ok := row.Best[col]; ok {
				v[col] = b
			}
		}
		rows[i].Values = v
		rows[i].Ratios = ratiosOf(pairs, v)
	}
	return rows
}

// ratios computes the core table's ratio columns of a row's values.
func ratios(values map[string]float64) map[string]float64 { return ratiosOf(ratioPairs, values) }

// Load reads a report written with -json.
func Load(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// Write prints the table (to stdout, or to stderr when the JSON goes to
// stdout), writes the charts into cfg.Out and the JSON where cfg.JSON says.
func (r *Report) Write(cfg Config, stdout, stderr io.Writer) error {
	cfg.defaults()
	table := stdout
	if cfg.JSON == "-" {
		table = stderr
	}
	shown := r
	if cfg.Best {
		shown = r.BestOf()
	}
	shown.WriteTable(table)
	files, err := shown.WriteCharts(cfg.Out)
	if err != nil {
		return err
	}
	// The table goes next to the charts too.
	var text strings.Builder
	shown.WriteTable(&text)
	txt := filepath.Join(cfg.Out, TableFile)
	if err := os.WriteFile(txt, []byte(text.String()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(table, "\ncharts: %s\ntable: %s\n", strings.Join(files, ", "), txt)
	if cfg.JSON == "" {
		return nil
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if cfg.JSON == "-" {
		_, err = stdout.Write(b)
		return err
	}
	if err := os.WriteFile(cfg.JSON, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(table, "json: %s\n", cfg.JSON)
	return nil
}

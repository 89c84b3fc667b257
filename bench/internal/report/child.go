package report

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/costack-dev/costack/bench/internal/workload"
	"github.com/costack-dev/costack/costack"
)

// ChildFlag is the hidden flag with which the report re-executes itself to
// take one measurement in a fresh process. Its value is a JSON task.
const ChildFlag = "-costack-bench-child"

// resultPrefix starts the line on which a child writes its result.
const resultPrefix = "costack-bench-result: "

// exitSkipped is the exit code of a child that gave up on its measurement
// for want of memory; its stderr says why.
const exitSkipped = 3

// progressPrefix starts a progress line a child writes to stderr; the
// parent passes it on.
const progressPrefix = "costack-bench-progress: "

// lowMemory is the MemAvailable below which a capacity run stops early
// rather than risk the OOM killer on a shared machine.
const lowMemory = 768 << 20

// childStderr is where a child writes progress.
var childStderr io.Writer = os.Stderr

func progressf(format string, args ...any) {
	fmt.Fprintf(childStderr, progressPrefix+format+"\n", args...)
}

// Task kinds run by children.
const (
	taskEngine     = "engine"     // report costack.Engine()
	taskTiming     = "timing"     // round trips, relocation, create
	taskPopulation = "population" // memory per instance and game-loop tick at N
	taskCapacity   = "capacity"   // instances that fit in a budget
)

// task is what a child measures.
type task struct {
	Task string `json:"task"`
	Impl string `json:"impl"`
	// N is the population size (taskPopulation).
	N int `json:"n,omitempty"`
	// Budget is the RSS budget in bytes (taskCapacity).
	Budget int64 `json:"budget,omitempty"`
	// Batch is the number of instances created between RSS readings
	// (taskCapacity).
	Batch int `json:"batch,omitempty"`
	// Limit stops a capacity run that takes longer (taskCapacity).
	Limit time.Duration `json:"limit,omitempty"`
	// Target is the duration of one timed run; Runs is how many timed runs
	// are taken (the median is kept).
	Target time.Duration `json:"target,omitempty"`
	Runs   int           `json:"runs,omitempty"`
	// Params are the parameters of a section's child task.
	Params json.RawMessage `json:"params,omitempty"`
}

// Timing keys in childResult.Timing.
const (
	keyDepth      = "depth%d"
	keyRelocNone  = "reloc-none"
	keyRelocGor   = "reloc-goroutine"
	keyRelocDepth = "reloc-depth"
	keyCreate     = "create"
)

// Depths are the call depths of the round-trip rows.
var Depths = []int{1, 4, 16, 64}

// childResult is what a child reports.
type childResult struct {
	// Engine is costack.Engine() in the child.
	Engine string `json:"engine"`
	// Timing maps a timing key to ns/op, the median of the timed runs;
	// Best to the fastest run.
	Timing map[string]float64 `json:"timing,omitempty"`
	Best   map[string]float64 `json:"best,omitempty"`
	// Population results: bytes per instance as RSS growth, as the sum of
	// Footprint (-1: none) and as Go heap+stack growth; ns per entity per
	// tick.
	RSSPer  float64 `json:"rss_per,omitempty"`
	FootPer float64 `json:"foot_per,omitempty"`
	GoPer   float64 `json:"go_per,omitempty"`
	TickNs  float64 `json:"tick_ns,omitempty"`
	TickMin float64 `json:"tick_min,omitempty"`
	// Capacity results: instances created, RSS growth then, and why the
	// run stopped ("budget" or "time limit").
	Count int64  `json:"count,omitempty"`
	Grown int64  `json:"grown,omitempty"`
	Stop  string `json:"stop,omitempty"`
	// Values are the results of a section's child task.
	Values map[string]float64 `json:"values,omitempty"`
}

// IsChild reports whether args (without the program name) ask for a child
// measurement.
func IsChild(args []string) bool {
	return len(args) > 0 && strings.HasPrefix(args[0], ChildFlag+"=")
}

// ChildMain runs the measurement args asks for (see IsChild) and writes its
// result to stdout. It returns the process exit code.
func ChildMain(args []string, stdout, stderr io.Writer) int {
	if !IsChild(args) {
		fmt.Fprintln(stderr, "costack-bench: not a child invocation")
		return 2
	}
	var t task
	if err := json.Unmarshal([]byte(strings.TrimPrefix(args[0], ChildFlag+"=")), &t); err != nil {
		fmt.Fprintln(stderr, "costack-bench: bad child task:", err)
		return 2
	}
	childStderr = stderr
	res, err := runTask(t)
	if err != nil {
		var s skipped
		if errors.As(err, &s) {
			fmt.Fprintln(stderr, string(s))
			return exitSkipped
		}
		fmt.Fprintln(stderr, "costack-bench:", err)
		return 1
	}
	b, err := json.Marshal(res)
	if err != nil {
		fmt.Fprintln(stderr, "costack-bench:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s%s\n", resultPrefix, b)
	return 0
}

func runTask(t task) (*childResult, error) {
	res := &childResult{Engine: costack.Engine()}
	if t.Task == taskEngine {
		return res, nil
	}
	if fn := childTasks[t.Task]; fn != nil {
		v, err := fn(t.Params)
		if err != nil {
			return nil, err
		}
		res.Values = v
		return res, nil
	}
	impl, err := workload.ParseImpl(t.Impl)
	if err != nil {
		return nil, err
	}
	switch t.Task {
	case taskTiming:
		res.Timing = map[string]float64{}
		res.Best = map[string]float64{}
		timeOp := func(key string, op workload.Op) {
			defer op.Close()
			res.Timing[key], res.Best[key] = measure(func(n int) { op.Run(n) }, t.Target, t.Runs)
		}
		for _, d := range Depths {
			timeOp(fmt.Sprintf(keyDepth, d), workload.RoundTrip(impl, d))
		}
		timeOp(keyRelocNone, workload.RelocNone(impl))
		timeOp(keyRelocGor, workload.RelocGoroutine(impl))
		timeOp(keyRelocDepth, workload.RelocDepthOp(impl))
		timeOp(keyCreate, workload.CreateResumeClose(impl))
	case taskPopulation:
		if err := population(impl, t, res); err != nil {
			return nil, err
		}
	case taskCapacity:
		capacity(impl, t, res)
	default:
		return nil, fmt.Errorf("unknown task %q", t.Task)
	}
	return res, nil
}

// measure returns the median and the minimum ns per operation of runs timed
// runs of run, each sized to take about target, after a calibration that
// doubles as a warm-up.
func measure(run func(n int), target time.Duration, runs int) (median, best float64) {
	if runs < 1 {
		runs = 1
	}
	n := 1
	var per float64
	for {
		start := time.Now()
		run(n)
		d := time.Since(start)
		if d >= target/4 || n >= 1<<30 {
			per = float64(d) / float64(n)
			break
		}
		grow := 100.0
		if d > 0 {
			grow = min(100, max(2, 1.5*float64(target/4)/float64(d)))
		}
		n = int(float64(n) * grow)
	}
	k := 1
	if per > 0 {
		k = max(1, int(float64(target)/per))
	}
	samples := make([]float64, runs)
	for i := range samples {
		start := time.Now()
		run(k)
		samples[i] = float64(time.Since(start)) / float64(k)
	}
	slices.Sort(samples)
	return samples[len(samples)/2], samples[0]
}

// settle collects garbage and returns freed memory to the OS, so that RSS
// reflects live memory.
func settle() {
	runtime.GC()
	debug.FreeOSMemory()
}

func goBytes() int64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc + ms.StackInuse)
}

func population(impl workload.Impl, t task, res *childResult) error {
	p := workload.NewPopulation(impl)
	p.Reserve(t.N)
	settle()
	rss0, go0 := RSS(), goBytes()
	start := time.Now()
	for left := t.N; left > 0; left -= popBatch {
		if avail := MemAvailable(); avail > 0 && avail < lowMemory {
			return skipped(fmt.Sprintf("stopped at %d of %d instances: system memory low (%s available)", p.Len(), t.N, FormatBytes(avail)))
		}
		p.Add(min(left, popBatch))
	}
	if d := time.Since(start); d > time.Second {
		progressf("created %d instances in %.1fs; timing ticks", t.N, d.Seconds())
	}
	settle()
	rss1, go1 := RSS(), goBytes()
	n := float64(t.N)
	res.RSSPer = float64(rss1-rss0) / n
	res.GoPer = float64(go1-go0) / n
	res.FootPer = -1
	if f := p.Footprint(); f >= 0 {
		res.FootPer = float64(f) / n
	}
	// Ticks: at least one timed run besides the calibration tick.
	res.TickNs, res.TickMin = measure(func(k int) {
		for range k {
			p.Tick()
		}
	}, t.Target, t.Runs)
	res.TickNs /= n
	res.TickMin /= n
	// The process exits next: there is no need to spend time closing.
	return nil
}

// popBatch is how many instances a population child creates between two
// checks of the memory the machine has left.
const popBatch = 10_000

func capacity(impl workload.Impl, t task, res *childResult) {
	p := workload.NewPopulation(impl)
	settle()
	rss0 := RSS()
	start := time.Now()
	lastReport := start
	var lastBatch int64
	res.Stop = "budget"
	for {
		if time.Since(lastReport) > 2*time.Second {
			lastReport = time.Now()
			progressf("%d instances, RSS +%s", p.Len(), FormatBytes(RSS()-rss0))
		}
		if avail := MemAvailable(); avail > 0 && avail < lowMemory {
			res.Stop = "system memory low"
			break
		}
		grown := RSS() - rss0
		res.Grown = grown
		if grown+2*max(lastBatch, 0) > t.Budget {
			break
		}
		if t.Limit > 0 && time.Since(start) > t.Limit {
			res.Stop = "time limit"
			break
		}
		before := RSS()
		p.Reserve(t.Batch)
		p.Add(t.Batch)
		lastBatch = RSS() - before
	}
	res.Count = int64(p.Len())
}

// kind is one column of the report: an implementation, and for costack the
// engine the child process is asked to use.
type kind struct {
	name   string
	impl   workload.Impl
	engine string // COSTACK_ENGINE for the child, "" to leave it alone
}

// Column names, in report order.
const (
	ColNative    = "native"
	ColPortable  = "portable"
	ColIterPull  = "iter.Pull"
	ColGoroutine = "goroutine"
)

// Columns lists the report's columns in order.
var Columns = []string{ColNative, ColPortable, ColIterPull, ColGoroutine}

var kinds = []kind{
	{ColNative, workload.Costack, "native"},
	{ColPortable, workload.Costack, "portable"},
	{ColIterPull, workload.IterPull, ""},
	{ColGoroutine, workload.Goroutine, ""},
}

// runChild runs t in a fresh process of argv (the report's own binary, or
// an external child) with COSTACK_ENGINE set as k
// asks, and returns its result.
func runChild(ctx context.Context, argv []string, k kind, t task, progress io.Writer, desc string) (*childResult, error) {
	t.Impl = string(k.impl)
	spec, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, argv[0], append(argv[1:len(argv):len(argv)], ChildFlag+"="+string(spec))...)
	env := slices.DeleteFunc(os.Environ(), func(s string) bool {
		return strings.HasPrefix(s, "COSTACK_ENGINE=")
	})
	if k.engine != "" {
		env = append(env, "COSTACK_ENGINE="+k.engine)
	}
	cmd.Env = env
	var stdout bytes.Buffer
	stderr := &lineFilter{progress: progress, desc: desc}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.rest.String())
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == exitSkipped {
			return nil, skipped(msg)
		}
		if len(msg) > 2000 {
			msg = msg[:2000] + "…"
		}
		if msg == "" {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s", err, msg)
	}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), resultPrefix); ok {
			var res childResult
			if err := json.Unmarshal([]byte(line), &res); err != nil {
				return nil, err
			}
			return &res, nil
		}
	}
	return nil, errors.New("child wrote no result")
}

// lineFilter passes a child's progress lines on to progress, prefixed with
// desc, and keeps every other line (for an error message).
type lineFilter struct {
	progress io.Writer
	desc     string
	partial  []byte
	rest     bytes.Buffer
}

func (f *lineFilter) Write(b []byte) (int, error) {
	f.partial = append(f.partial, b...)
	for {
		i := bytes.IndexByte(f.partial, '\n')
		if i < 0 {
			break
		}
		line := string(f.partial[:i])
		f.partial = f.partial[i+1:]
		if msg, ok := strings.CutPrefix(line, progressPrefix); ok {
			fmt.Fprintf(f.progress, "costack-bench:     %s: %s\n", f.desc, msg)
		} else {
			f.rest.WriteString(line + "\n")
		}
	}
	if len(f.partial) > 1<<16 {
		f.rest.Write(f.partial)
		f.partial = f.partial[:0]
	}
	return len(b), nil
}

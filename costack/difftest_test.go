package costack

// Differential testing: random coroutine programs, generated from a byte
// slice, run on every available engine and on a reference model, and their
// traces compared.
//
// A program is a set of coroutine bodies and a driver. Bodies are trees of
// ops: nested calls through frames of assorted shapes (scalars, address-taken
// arrays and stack-to-stack pointers, maps/slices/interfaces/closures, a big
// frame that grows the stack, recursion, defers in a loop), each optionally
// with a deferred call that may recover; yields at any depth; resumes and
// closes of any coroutine (itself included), at a random call depth and
// possibly from a fresh goroutine; status queries; panics; runtime.Goexit;
// runtime.GC. The driver resumes, closes and inspects coroutines. Every op
// appends to a trace, which also holds every value passed in and out, every
// status, every error (PanicError values included), every recovered value
// and the order of deferred calls; every frame checks its locals when it
// returns.
//
// The oracle is the portable engine. Native (when available) must produce
// exactly the portable trace. The portable engine is in turn checked against
// refBackend, a model built on goroutines and channels that shares nothing
// with the engine (internal/engine), so the suite checks something even where the
// native engine is missing.
//
// Deferred calls yield too, also while their frame unwinds (panic, Close,
// Goexit). The native engine may refuse some yields (see misuse_test.go);
// checkProgram handles that.
//
// The suite's files, in the order a program goes through them:
// difftest_program_test.go (ops, programs and their generator),
// difftest_values_test.go (payloads, panic values, how the trace shows
// them), difftest_backend_test.go (the engines and the reference model),
// difftest_machine_test.go and difftest_frames_test.go (the interpreter and
// its frame shapes), difftest_check_test.go (checkProgram: running every
// backend and comparing the traces), and this file (the tests, the soak and
// the fuzz target).
//
// Running it:
//
//	go test -run TestDifferentialRandom ./costack/           # fixed seeds, in the normal suite
//	COSTACK_SOAK=10m go test -run TestDifferentialSoak ./costack/
//	go test -run '^$' -fuzz FuzzDifferential -fuzzminimizetime 5s ./costack/
//
// Add GOGC=1 and GODEBUG=gccheckmark=1,clobberfree=1 for GC torture. The
// fuzzer's default minimization budget (60 s per new input) shows as long
// stretches of 0 execs/sec; -fuzzminimizetime shortens them. A failure
// prints the input, the program and the first difference; to replay it,
// put the input in testdata/fuzz/FuzzDifferential.

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/costack-dev/costack/internal/engine"
)

// TestDifferentialRandom runs a fixed set of random programs.
func TestDifferentialRandom(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 100
	}
	diffStats.programs, diffStats.refusedPrograms, diffStats.refusedYields = 0, 0, 0
	defer logDiffStats(t)
	for seed := range uint64(n) {
		if d := checkProgram(t, seedData(seed)); d != "" {
			t.Fatalf("seed %d: %s", seed, d)
		}
	}
}

// TestDifferentialSoak runs random programs for COSTACK_SOAK (a
// time.ParseDuration string); it is skipped when that is unset.
func TestDifferentialSoak(t *testing.T) {
	env := os.Getenv("COSTACK_SOAK")
	if env == "" {
		t.Skip("set COSTACK_SOAK=<duration> to run random programs for that long")
	}
	d, err := time.ParseDuration(env)
	if err != nil {
		t.Fatalf("COSTACK_SOAK=%q: %v", env, err)
	}
	base := uint64(time.Now().UnixNano())
	t.Logf("soak for %v, seeds from %d", d, base)
	diffStats.programs, diffStats.refusedPrograms, diffStats.refusedYields = 0, 0, 0
	defer logDiffStats(t)
	deadline := time.Now().Add(d)
	n := 0
	for time.Now().Before(deadline) {
		if d := checkProgram(t, seedData(base+uint64(n))); d != "" {
			t.Fatalf("seed %d: %s", base+uint64(n), d)
		}
		n++
	}
	t.Logf("%d programs", n)
}

// TestDifferentialSeesFaults is a negative control: an engine that gets one
// value wrong in fifty yields must be caught.
func TestDifferentialSeesFaults(t *testing.T) {
	n := 0
	faulty := engineBackend(engine.Portable)
	portableNew := faulty.new
	faulty.new = func(body func(dYielder, int) payload) dCoro {
		return portableNew(func(y dYielder, in int) payload {
			return body(faultyYielder{y, &n}, in)
		})
	}
	caught := 0
	for seed := range uint64(100) {
		p := generate(seedData(seed))
		// The refusals, so that only the fault can tell the traces
		// apart (in strict mode the portable engine refuses too).
		var refuse map[*op]any
		if k, ok := refusingEngine(); ok {
			refuse, _, _ = findRefusals(k, p)
		}
		want, _ := runProgram(refBackend, p, refuse)
		got, _ := runProgram(faulty, p, refuse)
		if traceDiff(want, got) != "" {
			caught++
		}
	}
	assert.Positive(t, caught)
}

// TestDifferentialStrictRefusesAsNative: in strict mode the portable engine
// refuses exactly the yields of every program that the native engine
// refuses, with the same panics (issue 16), so that the differential tests
// of a -race build, where only the portable engine runs, check what a
// release build does.
func TestDifferentialStrictRefusesAsNative(t *testing.T) {
	if err := engine.Available(engine.Native); err != nil {
		t.Skip("native engine unavailable:", err)
	}
	was := Strict()
	SetStrict(true)
	defer SetStrict(was)
	n := 150
	if testing.Short() {
		n = 50
	}
	refusing := 0
	for seed := range uint64(n) {
		p := generate(seedData(seed))
		native, nativeTrace, d := findRefusals(engine.Native, p)
		require.Empty(t, d, "seed %d, native engine", seed)
		portable, portableTrace, d := findRefusals(engine.Portable, p)
		require.Empty(t, d, "seed %d, portable engine", seed)
		require.Equal(t, native, portable, "seed %d: the refused yields and their panics\nprogram:\n%s", seed, p)
		require.Empty(t, traceDiff(portableTrace, nativeTrace), "seed %d", seed)
		if len(native) > 0 {
			refusing++
		}
	}
	t.Logf("%d of %d programs had refused yields", refusing, n)
	assert.Positive(t, refusing, "no program refused a yield: the test checked nothing")
}

type faultyYielder struct {
	y dYielder
	n *int
}

func (f faultyYielder) Yield(out payload) int {
	*f.n++
	in := f.y.Yield(out)
	if *f.n%50 == 0 {
		in++
	}
	return in
}

// TestDifferentialCoverage checks that the generator's programs do what it
// promises, so that a change to it cannot quietly make them trivial.
func TestDifferentialCoverage(t *testing.T) {
	want := []string{
		" yielded ", " true nil", "ErrDead", "ErrRunning", "PanicError(", "is-sentinel=true",
		"recovered closing", "recovered a panic", " goexit", "loop defer", "ret big", "ret array",
		"ret heap", "ret scalars", "ret recursive", "spawned goroutine goexit", "normal",
		"= suspended", "co0 resume co1", "returned=false",
		// Values passed both ways, compared across the engines and with the
		// reference model: the first Resume's value as the body's argument,
		// each later one as Yield's result, yielded values out of Resume.
		"start in=", ", resumed with ", " false nil",
	}
	seen := map[string]int{}
	events := 0
	for seed := range uint64(200) {
		tr, _ := runProgram(engineBackend(engine.Portable), generate(seedData(seed)), nil)
		events += len(tr)
		for _, e := range tr {
			if strings.Contains(e, " recovered ") && !strings.Contains(e, "recovered nil") && !strings.Contains(e, "recovered closing") {
				seen["recovered a panic"]++
			}
			for _, w := range want {
				if strings.Contains(e, w) {
					seen[w]++
				}
			}
		}
	}
	t.Logf("%d events: %v", events, seen)
	for _, w := range want {
		assert.Positive(t, seen[w], "no %q in 200 programs", w)
	}
}

func FuzzDifferential(f *testing.F) {
	for seed := range uint64(16) {
		f.Add(seedData(1000 + seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if d := checkProgram(t, data); d != "" {
			t.Fatal(d)
		}
	})
}

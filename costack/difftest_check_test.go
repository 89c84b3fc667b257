package costack

// Checking a differential test's program (see difftest_test.go): every
// backend's trace against the others, with the refusals of the native
// engine (or of the portable engine in strict mode).

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/costack-dev/costack/internal/engine"
)

var nativeNoted = false

// refusingEngine is the engine whose refusals checkProgram finds, and every
// backend then reproduces: the native engine where it is available; where
// it is not (-race, -gcflags=all=-N -l, other platforms), the portable
// engine in strict mode, which then refuses what the native engine would,
// with its messages. ok is false when no engine refuses anything.
func refusingEngine() (k engine.Kind, ok bool) {
	if engine.Available(engine.Native) == nil {
		return engine.Native, true
	}
	if Strict() {
		return engine.Portable, true
	}
	return k, false
}

// findRefusals runs p on engine k until k refuses no more of its yields,
// each run with the refusals found so far replaced by their panics (see
// machine.step). It returns those refusals and the final run's trace, and
// describes ("" if none) the first run that refused a yield and whose
// trace is not the final one: a refused yield must be like a panic at the
// yield.
func findRefusals(k engine.Kind, p *program) (refuse map[*op]any, final []string, diff string) {
	refuse = map[*op]any{}
	var refusing [][]string
	for {
		tr, refused := runProgram(engineBackend(k), p, refuse)
		if len(refused) == 0 {
			final = tr
			break
		}
		refusing = append(refusing, tr)
		for o, v := range refused {
			refuse[o] = v
		}
	}
	for _, tr := range refusing {
		if d := traceDiff(final, tr); d != "" {
			return refuse, final, d
		}
	}
	return refuse, final, ""
}

// checkProgram runs the program generated from data on the reference model
// and on every available engine, and describes the first difference in
// their traces ("" if none). The portable trace is compared with the
// reference model, and the native one with the portable one.
//
// The native engine, and the portable one in strict mode, may refuse a
// yield it cannot handle with a panic (see isRefusal). The program then
// runs again, on every backend, with each refused yield replaced by that
// panic, until the refusing engine (refusingEngine) refuses no more; the
// traces must then be identical, and the runs in which it refused must
// have the same trace as the final one. With the native engine refusing,
// a portable engine in strict mode must refuse nothing more: the
// reference model would not follow it.
func checkProgram(t testing.TB, data []byte) string {
	t.Helper()
	if err := engine.Available(engine.Native); err != nil && !nativeNoted {
		nativeNoted = true
		how := "the reference model only"
		if Strict() {
			how += ", the portable engine refusing in strict mode"
		}
		t.Logf("native engine unavailable (%v): comparing the portable engine with %s", err, how)
	}
	p := generate(data)
	diffStats.programs++
	refuse := map[*op]any{}
	var native, portable []string
	if k, ok := refusingEngine(); ok {
		var final []string
		var d string
		refuse, final, d = findRefusals(k, p)
		if d != "" {
			return fmt.Sprintf("%s engine: a refused yield is not like a panic at the yield\ninput: %q\nprogram:\n%s\n%s", k, data, p, d)
		}
		diffStats.refusedYields += len(refuse)
		if len(refuse) > 0 {
			diffStats.refusedPrograms++
		}
		if k == engine.Native {
			native = final
		} else {
			portable = final
		}
	}
	ref, _ := runProgram(refBackend, p, refuse)
	if portable == nil {
		portable, _ = runProgram(engineBackend(engine.Portable), p, refuse)
	}
	d := traceDiff(ref, portable)
	what := "portable engine differs from the reference model"
	if d == "" && native != nil {
		d = traceDiff(portable, native)
		what = "native engine differs from the portable engine"
	}
	if d == "" {
		return ""
	}
	return fmt.Sprintf("%s\ninput: %q\nrefused yields: %d\nprogram:\n%s\n%s", what, data, len(refuse), p, d)
}

// diffStats counts what checkProgram saw, for the log.
var diffStats struct {
	programs, refusedPrograms, refusedYields int
}

func logDiffStats(t testing.TB) {
	if k, ok := refusingEngine(); ok {
		t.Logf("%d programs; the %s engine refused %d yields in %d of them", diffStats.programs, k, diffStats.refusedYields, diffStats.refusedPrograms)
	}
}

func traceDiff(want, got []string) string {
	n := min(len(want), len(got))
	i := 0
	for i < n && want[i] == got[i] {
		i++
	}
	if i == len(want) && i == len(got) {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "first difference at event %d (want %d events, got %d)\n", i, len(want), len(got))
	for k := max(0, i-8); k < i; k++ {
		fmt.Fprintf(&b, "   %s\n", want[k])
	}
	for k := i; k < min(len(want), i+6); k++ {
		fmt.Fprintf(&b, " - %s\n", want[k])
	}
	for k := i; k < min(len(got), i+6); k++ {
		fmt.Fprintf(&b, " + %s\n", got[k])
	}
	return b.String()
}

func seedData(seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x636f737461636b))
	data := make([]byte, 256+r.IntN(1200))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	return data
}

package costack

// Checking a differential test's program (see difftest_test.go): every
// backend's trace against the others, with the native engine's refusals.

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/costack-dev/costack/sharedstack"
)

var nativeNoted = false

// checkProgram runs the program generated from data on the reference model
// and on every available engine, and describes the first difference in
// their traces ("" if none). The portable trace is compared with the
// reference model, and the native one with the portable one.
//
// The native engine may refuse a yield it cannot handle with a panic (see
// isRefusal). The program then runs again, on every backend, with each
// refused yield replaced by that panic, until the native engine refuses no
// more; the traces must then be identical, and the runs in which the
// native engine refused must have the same trace as the final one.
func checkProgram(t testing.TB, data []byte) string {
	t.Helper()
	if err := sharedstack.Available(sharedstack.Native); err != nil && !nativeNoted {
		nativeNoted = true
		t.Logf("native engine unavailable (%v): comparing the portable engine with the reference model only", err)
	}
	p := generate(data)
	diffStats.programs++
	refuse := map[*op]any{}
	var native []string
	if sharedstack.Available(sharedstack.Native) == nil {
		// A run in which the engine refuses yields must not differ from
		// the final run, which panics in its place.
		var refusing [][]string
		for {
			tr, refused := runProgram(engineBackend(sharedstack.Native), p, refuse)
			if len(refused) == 0 {
				native = tr
				break
			}
			refusing = append(refusing, tr)
			for o, v := range refused {
				refuse[o] = v
			}
		}
		diffStats.refusedYields += len(refuse)
		if len(refuse) > 0 {
			diffStats.refusedPrograms++
		}
		for _, tr := range refusing {
			if d := traceDiff(native, tr); d != "" {
				return fmt.Sprintf("native engine: a refused yield is not like a panic at the yield\ninput: %q\nprogram:\n%s\n%s", data, p, d)
			}
		}
	}
	ref, _ := runProgram(refBackend, p, refuse)
	portable, _ := runProgram(engineBackend(sharedstack.Portable), p, refuse)
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
	if sharedstack.Available(sharedstack.Native) == nil {
		t.Logf("%d programs; the native engine refused %d yields in %d of them", diffStats.programs, diffStats.refusedYields, diffStats.refusedPrograms)
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

package costack

import (
	"io"
	"log"
	"os"
	"runtime"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind. Dropped
// suspended coroutines are closed by finalizers, which need a GC to
// run, so collect twice before looking (goleak then retries for a while).
// The log of tasks that panic on purpose is discarded
// (TestPanicWithNoHookIsLogged checks it).
func TestMain(m *testing.M) {
	log.SetOutput(io.Discard)
	code := m.Run()
	if code == 0 {
		runtime.GC()
		runtime.GC()
		if err := goleak.Find(); err != nil {
			os.Stderr.WriteString("goleak: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

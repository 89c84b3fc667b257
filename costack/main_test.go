package costack

import (
	"io"
	"log"
	"os"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind. Dropped
// suspended coroutines are closed by finalizers, attached after a
// collection and run after the next one (drop.go), so collect a few times,
// letting the runtime's cleanup and finalizer goroutines run in between,
// before the final look (goleak then retries for a while).
// The log of tasks that panic on purpose is discarded
// (TestPanicWithNoHookIsLogged checks it).
func TestMain(m *testing.M) {
	log.SetOutput(io.Discard)
	code := m.Run()
	if code == 0 {
		for range 5 {
			runtime.GC()
			time.Sleep(5 * time.Millisecond)
		}
		if err := goleak.Find(); err != nil {
			os.Stderr.WriteString("goleak: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

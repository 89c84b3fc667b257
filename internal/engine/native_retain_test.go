//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package engine

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The retention loops classify each value against stack bounds and the
// image bottom read before the loop: that holds only if nothing in the
// loop can move the stack, i.e. the loop calls nothing that can grow or
// shrink it (I4). This pins it on the compiled code: the only calls in
// those functions are the write barrier and the panics of failed bounds
// checks (which never return into the loop).
func TestNativeRetainLoopMakesNoCall(t *testing.T) {
	needNative(t)
	if testing.Short() {
		t.Skip("runs go tool objdump")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	// The package compiled as the test's (an archive keeps its symbols; a
	// test binary does not).
	archive := filepath.Join(t.TempDir(), "engine.a")
	build := exec.Command(goTool, "build", "-o", archive, ".")
	build.Env = append(os.Environ(), "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	// Calls that cannot move the stack under a loop: the write barrier
	// (gcWriteBarrier, and wbMove for a struct with pointers: nosplit),
	// the panics of failed checks (which never return), and what runs
	// before the loops (the prologue's morestack, retainObjects' early
	// return, extend making room for the trail first).
	allowed := regexp.MustCompile(`runtime\.(gcWriteBarrier\d*|wbMove|wbZero|panic\w*|goPanic\w*|morestack\w*)|engine\.(retainObjects|\(\*trail\)\.reserve)`)
	for _, fn := range []string{`engine\.\(\*shape\)\.retain$`, `engine\.\(\*chain\)\.retainSlots$`, `engine\.\(\*trail\)\.extend$`} {
		out, err := exec.Command(goTool, "tool", "objdump", "-s", fn, archive).CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Contains(t, string(out), "TEXT", "no code for %s", fn)
		for _, line := range strings.Split(string(out), "\n") {
			if !strings.Contains(line, "R_CALL") {
				continue
			}
			assert.Regexp(t, allowed, line, "%s calls something that may move the stack", fn)
		}
	}
}

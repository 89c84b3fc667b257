//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package engine

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Negative controls: each switch disables one part of the proof (I2
// retention, I2 stack-object reachability, I3 saved-BP relocation, I5
// relocation of detached defer records); the
// torture must then fail. It runs in a child process because a failure may
// be a fatal runtime error.

const negativeEnv = "COSTACK_NEGATIVE_CONTROL"

func TestNativeNegativeControlChild(t *testing.T) {
	needNative(t)
	switch os.Getenv(negativeEnv) {
	case "":
		t.Skip("run by TestNativeNegativeControls")
	case "retention":
		disableRetention = true
	case "objects":
		disableObjectScan = true
	case "bp":
		disableBPReloc = true
	case "defers":
		disableDeferReloc = true
	default:
		t.Fatal("unknown control")
	}
	// Shapes made before (by the probe) were made with the whole proof.
	flushShapes()
	flushFrames()
	cfg := tortureCfg()
	cfg.duration = 3 * time.Second
	runTorture(t, Native, cfg)
}

func TestNativeNegativeControls(t *testing.T) {
	needNative(t)
	if testing.Short() {
		t.Skip("slow")
	}
	for _, control := range []string{"retention", "objects", "bp", "defers"} {
		t.Run(control, func(t *testing.T) {
			t.Parallel()
			out, err := runSelf(t, []string{negativeEnv + "=" + control, "GODEBUG=clobberfree=1"},
				"-test.run=^TestNativeNegativeControlChild$", "-test.v")
			// The child must have run the torture and failed in it, not
			// failed to start.
			require.Contains(t, string(out), "=== RUN   TestNativeNegativeControlChild", "the child did not run (%v):\n%s", err, tail(out))
			require.Error(t, err, "the torture passed without %s:\n%s", control, tail(out))
			assert.NotContains(t, string(out), "--- PASS: TestNativeNegativeControlChild")
			t.Logf("failed as it must:\n%s", tail(out))
		})
	}
}

// runSelf runs this test binary again with extra environment and returns
// its combined output. Under qemu-user without binfmt_misc (how the arm64
// leg runs) the kernel cannot execute the binary itself (ENOEXEC); it is
// then run by the emulator ($COSTACK_QEMU, by default qemu-aarch64 on
// arm64), which qemu-user lets the emulated process start as a host
// program.
func runSelf(t *testing.T, env []string, args ...string) ([]byte, error) {
	t.Helper()
	run := func(name string, args ...string) ([]byte, error) {
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), env...)
		return cmd.CombinedOutput()
	}
	out, err := run(os.Args[0], args...)
	if !errors.Is(err, syscall.ENOEXEC) {
		return out, err
	}
	emu := os.Getenv("COSTACK_QEMU")
	if emu == "" {
		emu = "qemu-" + map[string]string{"arm64": "aarch64", "amd64": "x86_64"}[runtime.GOARCH]
	}
	path, lerr := exec.LookPath(emu)
	if lerr != nil {
		return out, fmt.Errorf("%w (and no emulator: %v)", err, lerr)
	}
	t.Logf("re-executing the test binary under %s", path)
	return run(path, append([]string{os.Args[0]}, args...)...)
}

func tail(b []byte) string {
	const n = 1200
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

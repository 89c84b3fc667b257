//go:build linux && amd64 && go1.26 && !go1.28 && !race

package sharedstack

import (
	"os"
	"os/exec"
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
			cmd := exec.Command(os.Args[0], "-test.run=^TestNativeNegativeControlChild$", "-test.v")
			cmd.Env = append(os.Environ(), negativeEnv+"="+control, "GODEBUG=clobberfree=1")
			out, err := cmd.CombinedOutput()
			require.Error(t, err, "the torture passed without %s:\n%s", control, tail(out))
			assert.NotContains(t, string(out), "--- PASS: TestNativeNegativeControlChild")
			t.Logf("failed as it must:\n%s", tail(out))
		})
	}
}

func tail(b []byte) string {
	const n = 1200
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

//go:build linux && amd64 && go1.26 && !go1.28 && !race

package costack

import (
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/costack-dev/costack/internal/rt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

//go:noinline
func yieldVia(y *Yielder[float64, float64], in float64) float64 { return y.Yield(in + 1) }

// A suspended image holds the body's frames, the engine's switch frame and
// one frame of this package: Run, inlined into the wrapper that each
// instantiation gets (only if Run calls no method of the engine: a
// second frame would cost every suspended coroutine 32 bytes or more). Checked on linux/amd64, where a frame is
// its pcsp size plus the return PC below it: from the bottom, the return PC
// of yieldSwitch's call of switchOut and yieldSwitch's frame (24 bytes),
// the body's two frames, Run's (16 bytes of spill slots, its saved BP and
// the return PC into it: 32), and the return PC into engine.run.
func TestImageHoldsOneFrameOfCostack(t *testing.T) {
	if runtime.GOARCH != "amd64" || !strings.HasPrefix(Engine(), "native") {
		t.Skip("frame sizes checked on the native engine on amd64:", Engine())
	}
	body := func(y *Yielder[float64, float64], in float64) float64 { return yieldVia(y, in) }
	c := New(body)
	defer c.Close()
	_, _, err := c.Resume(1)
	require.NoError(t, err)
	frame := func(pc uintptr) int {
		spd, ok := rt.FindFunc(pc).MaxSPDelta()
		require.True(t, ok)
		return int(spd) + 8
	}
	want := 24 + frame(reflect.ValueOf(yieldVia).Pointer()) + frame(reflect.ValueOf(body).Pointer()) + 32 + 8
	assert.Equal(t, want, c.s.co.ImageSize())
}

package importer

import (
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/costack-dev/costack/costack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestYieldIsInlinedIntoAnImportersBody is costack's
// TestYieldIsInlinedIntoTheBody for a body in a package that imports
// costack but not the engine, as a user's does: there the compiler inlines
// Yielder.Yield but none of the engine's methods inside it (so Yield calls
// the engine's switch, a function in assembly, itself). Nothing in this
// package may import sharedstack or internal/engine. In costack's own
// external tests this passes either way: their package is compiled against
// costack's test variant, whose tests import the engine.
func TestYieldIsInlinedIntoAnImportersBody(t *testing.T) {
	if !strings.HasPrefix(costack.Engine(), "native") {
		t.Skip("portable engine:", costack.Engine())
	}
	var frames []string
	c := costack.New(func(y *costack.Yielder[float32, string], in float32) string {
		defer func() { frames = callerFrames() }()
		_ = y.Yield("x")
		return "done"
	})
	_, _, err := c.Resume(1)
	require.NoError(t, err)
	require.NoError(t, c.Close())
	i := slices.IndexFunc(frames, func(s string) bool { return strings.HasSuffix(s, "engine.yieldSwitch") })
	require.GreaterOrEqual(t, i, 0, "no switch frame in %v", frames)
	require.Greater(t, len(frames), i+1)
	assert.Contains(t, frames[i+1], "TestYieldIsInlinedIntoAnImportersBody", "the frame above the switch is %s, not the body", frames[i+1])
}

// callerFrames returns the physical frames (not inlined calls) above it.
func callerFrames() []string {
	pcs := make([]uintptr, 32)
	var names []string
	for _, pc := range pcs[:runtime.Callers(2, pcs)] {
		if f := runtime.FuncForPC(pc - 1); f != nil {
			names = append(names, runtime.FuncForPC(f.Entry()).Name())
		}
	}
	return names
}

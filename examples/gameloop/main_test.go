package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/costack-dev/costack/costack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestHeadlessRun(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run([]string{"-n", "3000", "-frames", "40", "-every", "10"}, nil, &out))
	s := out.String()
	assert.Contains(t, s, "3000 entities")
	assert.Contains(t, s, "frame    40")
	assert.Contains(t, s, "40 frames, mean tick")
	assert.Contains(t, s, "live    3001") // entities and the siren
}

func TestViewQuitsOnQ(t *testing.T) {
	var out bytes.Buffer
	// Without -frames the view runs until q.
	require.NoError(t, run([]string{"-n", "2000", "-view", "-fps", "0", "-w", "30", "-h", "8"}, strings.NewReader("wasdq"), &out))
	s := out.String()
	assert.Contains(t, s, "\x1b[2J", "clears the screen")
	assert.Contains(t, s, "\x1b[1;97m@", "draws the player")
	assert.True(t, strings.HasSuffix(s, "\x1b[?25h\r\n"), "restores the cursor")
}

func TestViewStopsAfterFrames(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run([]string{"-n", "500", "-view", "-fps", "0", "-frames", "5", "-w", "20", "-h", "6"}, strings.NewReader(""), &out))
	assert.Contains(t, out.String(), "frame 5 ")
	assert.NotContains(t, out.String(), "frame 6 ")
}

// snapshot runs the world for frames ticks and returns the entities.
func snapshot(t *testing.T, n, workers, frames int, seed uint32) ([]entity, int, int) {
	s := costack.NewScheduler(costack.Workers(workers))
	defer s.Close()
	w := spawn(s, n, seed)
	for range frames {
		w.movePlayer(s.Frame())
		s.Tick()
	}
	return append([]entity(nil), w.ents...), w.caught, w.alarms
}

func TestDeterministicForSeedWhateverTheWorkers(t *testing.T) {
	const n, frames = 1500, 320 // the siren fires at frame 300
	e1, c1, a1 := snapshot(t, n, 1, frames, 7)
	assert.Positive(t, a1)
	for _, workers := range []int{2, 3} {
		en, cn, an := snapshot(t, n, workers, frames, 7)
		assert.Equal(t, e1, en, "workers=%d", workers)
		assert.Equal(t, c1, cn)
		assert.Equal(t, a1, an)
	}
	other, _, _ := snapshot(t, n, 1, 10, 8)
	assert.NotEqual(t, e1[:100], other[:100])
}

func TestRunRejectsBadFlags(t *testing.T) {
	var out bytes.Buffer
	assert.Error(t, run([]string{"-n", "0"}, nil, &out))
	assert.Error(t, run([]string{"-bogus"}, nil, &out))
}

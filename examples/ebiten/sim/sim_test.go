package sim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The simulation without Ebitengine: sprites live their whole life (grow,
// move, rest, recolour, shrink), die, and are respawned; the population
// stays at its size.
func TestWorldLifeCycle(t *testing.T) {
	const n = 2000
	w := NewWorld(n, 640, 480, 7, 1)
	defer w.Close()
	sawResting, sawGrowing := false, false
	for range 900 { // 15 s of frames: every first generation has died
		w.Tick()
		for i := range w.Sprites {
			sp := &w.Sprites[i]
			sawResting = sawResting || sp.Resting
			sawGrowing = sawGrowing || (sp.Scale > 0 && sp.Scale < 1)
			require.True(t, sp.Scale == 0 || (sp.X >= -60 && sp.X <= 700 && sp.Y >= -60 && sp.Y <= 540), "sprite %d flew off: %+v", i, *sp)
		}
	}
	st := w.Stats()
	assert.True(t, sawResting)
	assert.True(t, sawGrowing)
	assert.Greater(t, st.Born, n+n/2, "sprites died and were respawned")
	// A task per sprite, and the keeper, less those that died this frame:
	// the keeper respawns them at the end of the next one.
	assert.LessOrEqual(t, st.Tasks, n+1)
	assert.Greater(t, st.Tasks, n*95/100)
	alive := 0
	for i := range w.Sprites {
		if w.Sprites[i].Scale > 0 {
			alive++
		}
	}
	assert.Greater(t, alive, n*9/10)
	assert.Greater(t, st.HeapMB, 0.0)
	assert.Positive(t, st.TickTime)
}

func TestWorldIsDeterministic(t *testing.T) {
	run := func() []Sprite {
		w := NewWorld(300, 640, 480, 42, 1)
		defer w.Close()
		for range 400 {
			w.Tick()
		}
		return append([]Sprite(nil), w.Sprites...)
	}
	assert.Equal(t, run(), run())
}

func TestWorldWithWorkers(t *testing.T) {
	w := NewWorld(3000, 640, 480, 3, 2)
	defer w.Close()
	for range 300 {
		w.Tick()
	}
	assert.LessOrEqual(t, w.Stats().Tasks, 3001)
	assert.Greater(t, w.Stats().Tasks, 3000*95/100)
	assert.Greater(t, w.Stats().Born, 3000)
}

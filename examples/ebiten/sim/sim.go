// Package sim is the example's simulation, with no Ebitengine in it (so
// that it is tested without a display): a costack Scheduler whose tasks
// are the sprites.
package sim

import (
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/costack-dev/costack/costack"
	"github.com/costack-dev/costack/yield"
)

// Each sprite is
// one task that spawns (grows in), moves (steps its physics in
// FixedUpdate), waits (rests for a random span of scheduler time,
// blinking), changes phase (picks a new colour in LateUpdate, once every
// moving sprite of the frame has moved) and dies (shrinks out). A keeper
// task in EndOfFrame respawns a sprite in every slot freed that frame, so
// the population stays at the requested size.

// Sprite is what the renderer draws: one slot per sprite, written only by
// the sprite's own task.
type Sprite struct {
	X, Y, VX, VY float64
	Scale        float64 // 0 when the slot is empty
	R, G, B      float64
	Resting      bool
}

// World is the simulation.
type World struct {
	W, H    float64
	Sprites []Sprite
	Sched   *costack.Scheduler
	Frames  uint64

	deaths *yield.Mailbox[int] // freed slots, for the keeper
	born   int
	stats  Stats
}

// Stats are the HUD's numbers.
type Stats struct {
	Tasks    int
	TickTime time.Duration // moving average of Tick
	HeapMB   float64
	Born     int
}

// NewWorld makes a world of n sprites in a w×h field, deterministic for a
// seed.
func NewWorld(n int, w, h float64, seed uint64, workers int) *World {
	wd := &World{
		W: w, H: h,
		Sprites: make([]Sprite, n),
		Sched:   costack.NewScheduler(costack.Workers(workers), costack.FixedStep(time.Second/120, 4)),
		deaths:  &yield.Mailbox[int]{Name: "deaths"},
	}
	for i := range n {
		wd.spawn(i, seed)
	}
	wd.Sched.Go(wd.keeper(seed), costack.Named("keeper"), costack.InPhase(costack.EndOfFrame))
	return wd
}

func (wd *World) spawn(slot int, seed uint64) {
	wd.born++
	rnd := rand.New(rand.NewPCG(seed, uint64(wd.born)))
	wd.Sched.Go(func(t *costack.Task) { wd.sprite(t, slot, rnd) }, costack.Named("sprite"))
}

// sprite is one sprite's whole life, as straight-line code.
func (wd *World) sprite(t *costack.Task, slot int, rnd *rand.Rand) {
	sp := &wd.Sprites[slot]
	*sp = Sprite{X: rnd.Float64() * wd.W, Y: rnd.Float64() * wd.H,
		VX: rnd.Float64()*120 - 60, VY: rnd.Float64()*120 - 60,
		R: 0.3 + 0.7*rnd.Float64(), G: 0.3 + 0.7*rnd.Float64(), B: 0.3 + 0.7*rnd.Float64()}
	defer func() {
		*sp = Sprite{}
		_ = wd.deaths.Send(slot) // never full, never closed while sprites live
	}()

	for i := 1; i <= 20; i++ { // spawn: grow in
		sp.Scale = float64(i) / 20
		t.Yield()
	}
	dt := t.Scheduler().FixedStep().Seconds()
	for range 2 + rnd.IntN(4) {
		// Move, in FixedUpdate: a physics step per fixed step.
		for range 60 + rnd.IntN(120) {
			t.YieldTo(costack.FixedUpdate)
			sp.X += sp.VX * dt
			sp.Y += sp.VY * dt
			if sp.X < 0 || sp.X > wd.W {
				sp.VX = -sp.VX
			}
			if sp.Y < 0 || sp.Y > wd.H {
				sp.VY = -sp.VY
			}
		}
		// Wait: rest, blinking, for up to a second of scheduler time.
		sp.Resting = true
		yield.For(t, time.Duration(200+rnd.IntN(800))*time.Millisecond)
		sp.Resting = false
		// Change phase: a new colour in LateUpdate.
		t.YieldTo(costack.LateUpdate)
		sp.R, sp.G, sp.B = sp.G, sp.B, sp.R
	}
	for i := 15; i > 0; i-- { // die: shrink out
		sp.Scale = float64(i) / 15
		t.Yield()
	}
}

// keeper respawns a sprite in every slot freed during the frame, at the
// end of the frame.
func (wd *World) keeper(seed uint64) func(t *costack.Task) {
	return func(t *costack.Task) {
		for {
			t.Wait(wd.deaths)
			for {
				slot, ok := wd.deaths.TryReceive()
				if !ok {
					break
				}
				wd.spawn(slot, seed)
			}
		}
	}
}

// Tick runs one frame of the simulation and updates the statistics.
func (wd *World) Tick() {
	start := time.Now()
	wd.Sched.Tick()
	d := time.Since(start)
	wd.Frames++
	if wd.stats.TickTime == 0 {
		wd.stats.TickTime = d
	} else {
		wd.stats.TickTime = (wd.stats.TickTime*15 + d) / 16
	}
	wd.stats.Tasks = wd.Sched.Len()
	wd.stats.Born = wd.born
	if wd.Frames%30 == 1 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		wd.stats.HeapMB = float64(ms.HeapInuse) / (1 << 20)
	}
}

// Stats returns the HUD's numbers.
func (wd *World) Stats() Stats { return wd.stats }

// Close ends every task.
func (wd *World) Close() { wd.Sched.Close() }

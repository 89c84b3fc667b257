// Command ebiten drives an Ebitengine game with a costack Scheduler: every
// one of -n sprites (10,000 by default) is a task that spawns, moves in
// FixedUpdate, rests, changes colour in LateUpdate and dies, and a keeper
// task respawns them; the game's Update is one Scheduler.Tick. A HUD shows
// the number of tasks, the tick time and the heap.
//
//	go run . -n 20000
//	xvfb-run -a go run . -frames 120 -screenshot out.png   # headless, as CI does
//
// With -frames N it stops after N frames; with -screenshot it writes the
// last frame to a PNG (cmd/pngcheck checks that it is not blank).
package main

import (
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"

	"github.com/costack-dev/costack/costack"
	"github.com/costack-dev/costack/examples/ebiten/sim"
	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/ebitenutil"
)

const screenW, screenH = 640, 480

type game struct {
	world      *sim.World
	dot        *ebiten.Image
	frames     uint64 // stop after this many frames; 0: never
	screenshot string
	shot       error // the screenshot's outcome, once taken
	taken      bool
}

func (g *game) Update() error {
	if g.taken {
		return ebiten.Termination
	}
	if g.frames == 0 || g.world.Frames < g.frames {
		g.world.Tick()
	}
	return nil
}

func (g *game) Draw(screen *ebiten.Image) {
	screen.Fill(color.RGBA{12, 14, 24, 255})
	var op ebiten.DrawImageOptions
	for i := range g.world.Sprites {
		sp := &g.world.Sprites[i]
		if sp.Scale == 0 {
			continue
		}
		op.GeoM.Reset()
		op.GeoM.Translate(-2, -2)
		op.GeoM.Scale(sp.Scale, sp.Scale)
		op.GeoM.Translate(sp.X, sp.Y)
		op.ColorScale.Reset()
		a := float32(1)
		if sp.Resting && (g.world.Frames/8+uint64(i))%2 == 0 {
			a = 0.4 // blink while resting
		}
		op.ColorScale.Scale(float32(sp.R)*a, float32(sp.G)*a, float32(sp.B)*a, a)
		screen.DrawImage(g.dot, &op)
	}
	st := g.world.Stats()
	ebitenutil.DebugPrint(screen, fmt.Sprintf(
		"frame %d  tasks %d  tick %.2f ms  heap %.1f MB  born %d  TPS %.0f  FPS %.0f\nengine: %s",
		g.world.Frames, st.Tasks, float64(st.TickTime.Microseconds())/1000, st.HeapMB, st.Born,
		ebiten.ActualTPS(), ebiten.ActualFPS(), costack.Engine()))
	if g.frames > 0 && g.world.Frames >= g.frames && !g.taken {
		g.taken = true
		if g.screenshot != "" {
			g.shot = writePNG(screen, g.screenshot)
		}
	}
}

func (g *game) Layout(int, int) (int, int) { return screenW, screenH }

func writePNG(screen *ebiten.Image, path string) error {
	b := screen.Bounds()
	img := image.NewRGBA(b)
	screen.ReadPixels(img.Pix)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ebiten:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("ebiten", flag.ContinueOnError)
	n := fs.Int("n", 10_000, "sprites (each a task)")
	frames := fs.Uint64("frames", 0, "stop after this many frames (0: run until the window is closed)")
	screenshot := fs.String("screenshot", "", "write the last frame to this PNG (needs -frames)")
	workers := fs.Int("workers", 1, "scheduler workers")
	seed := fs.Uint64("seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *workers < 1 {
		return errors.New("need -n >= 1 and -workers >= 1")
	}
	if *screenshot != "" && *frames == 0 {
		return errors.New("-screenshot needs -frames")
	}
	world := sim.NewWorld(*n, screenW, screenH, *seed, *workers)
	defer world.Close()
	dot := ebiten.NewImage(4, 4)
	dot.Fill(color.White)
	g := &game{world: world, dot: dot, frames: *frames, screenshot: *screenshot}
	ebiten.SetWindowSize(screenW, screenH)
	ebiten.SetWindowTitle(fmt.Sprintf("costack: %d sprites, a task each", *n))
	if err := ebiten.RunGame(g); err != nil {
		return err
	}
	if g.shot != nil {
		return fmt.Errorf("screenshot: %w", g.shot)
	}
	if g.screenshot != "" {
		fmt.Printf("wrote %s after %d frames (%d tasks)\n", g.screenshot, world.Frames, world.Stats().Tasks)
	}
	return nil
}

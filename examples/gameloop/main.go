// Command gameloop runs a headless game simulation in which every entity is
// a costack task: up to a million entities that wander, chase the player,
// flee from it, or patrol, written as straight-line code with waits.
//
//	go run ./examples/gameloop -n 1000000 -frames 100
//	go run ./examples/gameloop -n 200000 -view
//
// Headless, it prints the time and memory of every tick (-every k: every
// k-th). With -view it draws a window of the world round the player in the
// terminal with ANSI colours: wasd moves the player (it walks by itself
// otherwise), q quits; it also stops after -frames frames if that is set.
//
// The behaviours show the waits of package yield: wanderers walk a few steps
// then rest (yield.Frames), chasers step towards the player every other
// frame and rest after catching it (yield.For, scheduler time), fleers look
// around every few frames and run when the player is near, patrollers walk a
// square and, at each corner, wait for the alarm or a timeout (yield.Any of
// a Signal and yield.After). A siren task fires the alarm every few seconds
// of scheduler time.
//
// With -workers n the tasks run on n goroutines: bodies touch only their own
// entity and read the player (moved by the loop between ticks); the catch
// counter, shared by all chasers, is updated through Task.Apply. A run is
// deterministic for a given -seed whatever the number of workers.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/costack-dev/costack/costack"
	"github.com/costack-dev/costack/yield"
)

func main() {
	view := false
	for _, a := range os.Args[1:] {
		if a == "-view" || a == "--view" || a == "-view=true" || a == "--view=true" {
			view = true
		}
	}
	if view {
		// cbreak mode: keys arrive one at a time, unechoed.
		if restore, err := rawTerminal(); err == nil {
			defer restore()
		}
	}
	err := run(os.Args[1:], os.Stdin, os.Stdout)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "gameloop:", err)
		os.Exit(2)
	}
}

// rawTerminal puts the terminal in cbreak mode with stty and returns the
// function that restores it.
func rawTerminal() (func(), error) {
	stty := func(args ...string) (string, error) {
		c := exec.Command("stty", args...)
		c.Stdin = os.Stdin
		out, err := c.Output()
		return strings.TrimSpace(string(out)), err
	}
	saved, err := stty("-g")
	if err != nil {
		return nil, err
	}
	if _, err := stty("-icanon", "-echo", "min", "1"); err != nil {
		return nil, err
	}
	return func() { _, _ = stty(saved) }, nil
}

// Kinds of entities.
type kind uint8

const (
	wanderer kind = iota
	chaser
	fleer
	patroller
	nKinds
)

var kindNames = [nKinds]string{"wander", "chase", "flee", "patrol"}

// entity is the state of one entity. Only its own task writes it.
type entity struct {
	x, y    float32
	kind    kind
	running bool // fleeing (a fleer that saw the player, a patroller on alarm)
}

// world is the shared state. The player is moved by the loop between
// ticks; tasks only read it.
type world struct {
	size       float32
	ents       []entity
	px, py     float32
	alarm      *yield.Signal
	caught     int
	alarms     int
	wantDX     float32
	wantDY     float32
	manualMove int
}

// rng is a per-entity xorshift generator: it lives in the task's frame.
type rng uint32

func (r *rng) next() uint32 {
	x := uint32(*r)
	x ^= x << 13
	x ^= x >> 17
	x ^= x << 5
	*r = rng(x)
	return x
}

func (r *rng) intn(n int) int { return int(r.next() % uint32(n)) }

// unit returns a float in [-1, 1).
func (r *rng) unit() float32 { return float32(r.next()%2000)/1000 - 1 }

func (w *world) clamp(e *entity) {
	e.x = min(max(e.x, 0), w.size-1)
	e.y = min(max(e.y, 0), w.size-1)
}

// towards moves e by step towards (tx, ty) (away from it if step < 0) and
// returns the distance before the move.
func (w *world) towards(e *entity, tx, ty, step float32) float32 {
	dx, dy := tx-e.x, ty-e.y
	d := float32(math.Sqrt(float64(dx*dx + dy*dy)))
	if d > 0.001 {
		e.x += dx / d * step
		e.y += dy / d * step
	}
	w.clamp(e)
	return d
}

func (w *world) distToPlayer(e *entity) float32 {
	dx, dy := w.px-e.x, w.py-e.y
	return float32(math.Sqrt(float64(dx*dx + dy*dy)))
}

func (w *world) wander(t *costack.Task, e *entity, r rng) {
	for {
		dx, dy := r.unit()*0.7, r.unit()*0.7
		for range 5 + r.intn(20) {
			e.x += dx
			e.y += dy
			w.clamp(e)
			t.Yield()
		}
		yield.Frames(t, 10+r.intn(50))
	}
}

func (w *world) chase(t *costack.Task, e *entity) {
	for {
		if w.towards(e, w.px, w.py, 1.2) < 1.5 {
			t.Apply(func() { w.caught++ })
			yield.For(t, 2*time.Second)
			continue
		}
		yield.Frames(t, 2)
	}
}

func (w *world) flee(t *costack.Task, e *entity, r rng) {
	yield.Frames(t, 1+r.intn(15)) // look round at different times
	for {
		if w.distToPlayer(e) < 25 {
			e.running = true
			for range 30 {
				w.towards(e, w.px, w.py, -0.9)
				t.Yield()
			}
			e.running = false
		}
		yield.Frames(t, 15)
	}
}

func (w *world) patrol(t *costack.Task, e *entity, r rng) {
	side := float32(5 + r.intn(15))
	x0, y0 := e.x, e.y
	corners := [4][2]float32{{x0, y0}, {x0 + side, y0}, {x0 + side, y0 + side}, {x0, y0 + side}}
	for {
		for _, c := range corners {
			for w.towards(e, c[0], c[1], 0.5) > 0.5 {
				t.Yield()
			}
			if yield.Any(t, w.alarm, yield.After(1500*time.Millisecond)) == 0 {
				// The alarm: run from the player for a second.
				e.running = true
				for range 60 {
					w.towards(e, w.px, w.py, -0.8)
					t.Yield()
				}
				e.running = false
			}
		}
	}
}

func (w *world) siren(t *costack.Task) {
	for {
		yield.For(t, 5*time.Second)
		w.alarm.Fire()
		t.Apply(func() { w.alarms++ })
	}
}

// spawn creates the world and one task per entity.
func spawn(s *costack.Scheduler, n int, seed uint32) *world {
	w := &world{
		size:  float32(math.Ceil(math.Sqrt(float64(n)) * 4)),
		ents:  make([]entity, n),
		alarm: yield.NewSignal(),
	}
	w.size = max(w.size, 40)
	w.px, w.py = w.size/2, w.size/2
	for i := range w.ents {
		e := &w.ents[i]
		r := rng(seed ^ uint32(i)*2654435761 | 1)
		e.x, e.y = float32(r.intn(int(w.size))), float32(r.intn(int(w.size)))
		switch p := r.intn(10); {
		case p < 4:
			e.kind = wanderer
			s.Go(func(t *costack.Task) { w.wander(t, e, r) })
		case p < 6:
			e.kind = chaser
			s.Go(func(t *costack.Task) { w.chase(t, e) })
		case p < 8:
			e.kind = fleer
			s.Go(func(t *costack.Task) { w.flee(t, e, r) })
		default:
			e.kind = patroller
			s.Go(func(t *costack.Task) { w.patrol(t, e, r) })
		}
	}
	s.Go(w.siren)
	return w
}

// movePlayer moves the player between ticks: by the keys, or along a loop.
func (w *world) movePlayer(frame uint64) {
	if w.manualMove > 0 {
		w.manualMove--
		w.px += w.wantDX
		w.py += w.wantDY
	} else {
		a := float64(frame) / 300
		r := float64(w.size) / 4
		w.px = w.size/2 + float32(r*math.Cos(a))
		w.py = w.size/2 + float32(r*math.Sin(2*a)/2)
	}
	w.px = min(max(w.px, 0), w.size-1)
	w.py = min(max(w.py, 0), w.size-1)
}

// key handles a key pressed in view mode; it reports whether to quit.
func (w *world) key(b byte) bool {
	const step = 1.5
	switch b {
	case 'q', 'Q', 3: // 3: ^C in cbreak mode
		return true
	case 'w':
		w.wantDX, w.wantDY = 0, -step
	case 's':
		w.wantDX, w.wantDY = 0, step
	case 'a':
		w.wantDX, w.wantDY = -step, 0
	case 'd':
		w.wantDX, w.wantDY = step, 0
	default:
		return false
	}
	w.manualMove = 8
	return false
}

// ANSI colours of the kinds, and of running entities.
var (
	kindGlyph = [nKinds]string{"\x1b[32m.", "\x1b[31mc", "\x1b[33mf", "\x1b[36mp"}
	runGlyph  = "\x1b[35m!"
)

// render draws the viewport round the player into b.
func (w *world) render(b *strings.Builder, vw, vh int, status string) {
	grid := make([]int8, vw*vh)
	for i := range grid {
		grid[i] = -1
	}
	x0, y0 := w.px-float32(vw)/2, w.py-float32(vh)/2
	for i := range w.ents {
		e := &w.ents[i]
		cx, cy := int(e.x-x0), int(e.y-y0)
		if e.x < x0 || e.y < y0 || cx >= vw || cy >= vh {
			continue
		}
		g := int8(e.kind)
		if e.running {
			g = int8(nKinds)
		}
		grid[cy*vw+cx] = g
	}
	b.WriteString("\x1b[H")
	for y := range vh {
		for x := range vw {
			switch g := grid[y*vw+x]; {
			case x == vw/2 && y == vh/2:
				b.WriteString("\x1b[1;97m@\x1b[0m")
			case g < 0:
				b.WriteByte(' ')
			case g == int8(nKinds):
				b.WriteString(runGlyph)
			default:
				b.WriteString(kindGlyph[g])
			}
		}
		b.WriteString("\x1b[0m\x1b[K\r\n")
	}
	b.WriteString("\x1b[0m")
	b.WriteString(status)
	b.WriteString("\x1b[K\r\n\x1b[2m wasd: move   q: quit   \x1b[32m. wander \x1b[31mc chase \x1b[33mf flee \x1b[36mp patrol \x1b[35m! running\x1b[0m\x1b[K")
}

func memInUse() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("gameloop", flag.ContinueOnError)
	fs.SetOutput(stdout)
	n := fs.Int("n", 100_000, "entities (up to 1,000,000 and beyond)")
	frames := fs.Int("frames", 0, "stop after this many frames (0: 300 headless, unlimited with -view)")
	every := fs.Int("every", 1, "headless: print every k-th frame")
	workers := fs.Int("workers", 1, "scheduler workers")
	seed := fs.Uint("seed", 1, "random seed")
	view := fs.Bool("view", false, "draw the world in the terminal (q quits)")
	vw := fs.Int("w", 78, "view width")
	vh := fs.Int("h", 20, "view height")
	fps := fs.Int("fps", 30, "view: frames per second (0: as fast as possible)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *workers < 1 || *every < 1 || *vw < 4 || *vh < 4 || *fps < 0 {
		return errors.New("need -n, -workers, -every >= 1, -w, -h >= 4, -fps >= 0")
	}
	if *frames == 0 && !*view {
		*frames = 300
	}

	base := memInUse()
	start := time.Now()
	s := costack.NewScheduler(costack.Workers(*workers))
	defer s.Close()
	w := spawn(s, *n, uint32(*seed))
	spawnTime := time.Since(start)

	var keys chan byte
	if *view {
		keys = make(chan byte, 16)
		go func() {
			defer close(keys)
			br := bufio.NewReader(stdin)
			for {
				b, err := br.ReadByte()
				if err != nil {
					return
				}
				keys <- b
			}
		}()
		fmt.Fprint(stdout, "\x1b[2J\x1b[?25l")
		defer fmt.Fprint(stdout, "\x1b[0m\x1b[?25h\r\n")
	} else {
		fmt.Fprintf(stdout, "engine: %s, %d entities, %d workers, spawned in %v\n", costack.Engine(), *n, *workers, spawnTime.Round(time.Millisecond))
	}

	var total, worst time.Duration
	var perEntity uint64
	var b strings.Builder
	next := time.Now()
	quit := false
	for !quit && (*frames == 0 || int(s.Frame()) < *frames) {
		w.movePlayer(s.Frame())
		t0 := time.Now()
		s.Tick()
		dt := time.Since(t0)
		total += dt
		worst = max(worst, dt)
		f := s.Frame()
		if f == 1 {
			if m := memInUse(); m > base {
				perEntity = (m - base) / uint64(*n)
			}
		}
		if !*view {
			if f%uint64(*every) == 0 || f == 1 {
				fmt.Fprintf(stdout, "frame %5d  tick %9v  mem %7.1f MB  live %7d  caught %6d  alarms %3d\n",
					f, dt.Round(time.Microsecond), float64(memInUse())/(1<<20), s.Len(), w.caught, w.alarms)
			}
			continue
		}
		status := fmt.Sprintf("\x1b[1m frame %d  tick %v  %d entities  caught %d  alarms %d  player (%.0f,%.0f)",
			f, dt.Round(time.Microsecond), s.Len(), w.caught, w.alarms, w.px, w.py)
		b.Reset()
		w.render(&b, *vw, *vh, status)
		if _, err := io.WriteString(stdout, b.String()); err != nil {
			return err
		}
		if *fps > 0 {
			next = next.Add(time.Second / time.Duration(*fps))
			time.Sleep(time.Until(next))
		}
	drain:
		for {
			select {
			case k, ok := <-keys:
				if !ok {
					keys = nil
					break drain
				}
				if w.key(k) {
					quit = true
				}
			default:
				break drain
			}
		}
	}
	if !*view && s.Frame() > 0 {
		fmt.Fprintf(stdout, "%d frames, mean tick %v, worst %v; about %d bytes per entity after the first tick\n",
			s.Frame(), (total / time.Duration(s.Frame())).Round(time.Microsecond), worst.Round(time.Microsecond), perEntity)
		counts := [nKinds]int{}
		for i := range w.ents {
			counts[w.ents[i].kind]++
		}
		var parts []string
		for k, c := range counts {
			parts = append(parts, fmt.Sprintf("%s %d", kindNames[k], c))
		}
		fmt.Fprintf(stdout, "entities: %s; caught %d times, %d alarms\n", strings.Join(parts, ", "), w.caught, w.alarms)
	}
	return nil
}

package workload

import (
	"iter"

	"github.com/costack-dev/costack/costack"
)

// The game-entity body of the population rows (memory, tick, capacity): a
// loop with a few float locals (position, velocity, acceleration) that
// integrates one time step per resume and yields the position, one call
// below the body. Each implementation runs the same loop: costack's gets
// the time step from Resume, iter.Pull's (which cannot pass one in) uses
// a constant, the goroutine's receives it on its channel.

// entityDT is the time step of a tick.
const entityDT = 1.0 / 60

// --- costack ---

type entityCo = costack.Coroutine[float64, float64]

//go:noinline
func coEntity(y *costack.Yielder[float64, float64], dt float64) float64 {
	x, v, a := 0.0, 1.0, -9.81
	for {
		v += a * dt
		x += v * dt
		dt = y.Yield(x)
	}
}

func newEntityCo() *entityCo {
	return costack.New(func(y *costack.Yielder[float64, float64], dt float64) float64 {
		return coEntity(y, dt)
	})
}

type costackPop struct{ l chunks[*entityCo] }

func (p *costackPop) Len() int      { return p.l.n }
func (p *costackPop) Reserve(n int) { p.l.reserve(n) }
func (p *costackPop) Add(n int) {
	for range n {
		c := newEntityCo()
		if _, _, err := c.Resume(entityDT); err != nil {
			panic(err)
		}
		p.l.add(c)
	}
}

func (p *costackPop) Tick() float64 {
	sum := 0.0
	for _, ch := range p.l.c {
		for _, c := range ch {
			x, _, err := c.Resume(entityDT)
			if err != nil {
				panic(err)
			}
			sum += x
		}
	}
	return sum
}

func (p *costackPop) Footprint() int64 {
	var n int64
	for _, ch := range p.l.c {
		for _, c := range ch {
			n += int64(c.Footprint())
		}
	}
	return n
}

func (p *costackPop) Drop() { p.l = chunks[*entityCo]{} }

func (p *costackPop) Close() {
	for _, ch := range p.l.c {
		for _, c := range ch {
			if err := c.Close(); err != nil {
				panic(err)
			}
		}
	}
	p.l = chunks[*entityCo]{}
}

// --- iter.Pull ---

//go:noinline
func pullEntity(yield func(float64) bool) {
	x, v, a := 0.0, 1.0, -9.81
	for {
		v += a * entityDT
		x += v * entityDT
		if !yield(x) {
			return
		}
	}
}

type entityPull struct {
	next func() (float64, bool)
	stop func()
}

func newEntityPull() entityPull {
	next, stop := iter.Pull(func(yield func(float64) bool) { pullEntity(yield) })
	return entityPull{next, stop}
}

type pullPop struct{ l chunks[entityPull] }

func (p *pullPop) Len() int      { return p.l.n }
func (p *pullPop) Reserve(n int) { p.l.reserve(n) }
func (p *pullPop) Add(n int) {
	for range n {
		it := newEntityPull()
		it.next()
		p.l.add(it)
	}
}

func (p *pullPop) Tick() float64 {
	sum := 0.0
	for _, ch := range p.l.c {
		for _, it := range ch {
			x, _ := it.next()
			sum += x
		}
	}
	return sum
}

func (p *pullPop) Footprint() int64 { return -1 }

func (p *pullPop) Drop() { p.Close() }

func (p *pullPop) Close() {
	for _, ch := range p.l.c {
		for _, it := range ch {
			it.stop()
		}
	}
	p.l = chunks[entityPull]{}
}

// --- goroutines and channels ---

// entityGor is a goroutine running the entity loop, reached through two
// unbuffered channels: a resume sends the time step on in and receives the
// position from out; closing in ends the goroutine, which then closes out.
type entityGor struct {
	in  chan float64
	out chan float64
}

//go:noinline
func gorEntity(g entityGor) {
	x, v, a := 0.0, 1.0, -9.81
	for dt := range g.in {
		v += a * dt
		x += v * dt
		g.out <- x
	}
}

func newEntityGor() entityGor {
	g := entityGor{make(chan float64), make(chan float64)}
	go func() {
		defer close(g.out)
		gorEntity(g)
	}()
	return g
}

type chanPop struct{ l chunks[entityGor] }

func (p *chanPop) Len() int      { return p.l.n }
func (p *chanPop) Reserve(n int) { p.l.reserve(n) }
func (p *chanPop) Add(n int) {
	for range n {
		g := newEntityGor()
		g.in <- entityDT
		<-g.out
		p.l.add(g)
	}
}

func (p *chanPop) Tick() float64 {
	sum := 0.0
	for _, ch := range p.l.c {
		for _, g := range ch {
			g.in <- entityDT
			sum += <-g.out
		}
	}
	return sum
}

func (p *chanPop) Footprint() int64 { return -1 }

func (p *chanPop) Drop() { p.Close() }

func (p *chanPop) Close() {
	for _, ch := range p.l.c {
		for _, g := range ch {
			close(g.in)
			<-g.out
		}
	}
	p.l = chunks[entityGor]{}
}

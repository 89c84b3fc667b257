package workload

import (
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/costack-dev/costack/costack"
	"github.com/costack-dev/costack/yield"
)

// Spawning (issue 15): the skynet benchmark, a population that churns
// (entities end and are spawned every tick) and the scheduler's first tick
// after a spawn.

// --- skynet ---

// SkynetDiv is skynet's fan-out: every inner actor has 10 children.
const SkynetDiv = 10

// SkynetWant is the sum skynet over leaves leaves must return: the leaves
// send 0..leaves-1.
func SkynetWant(leaves int) int { return leaves * (leaves - 1) / 2 }

// skyTask starts the skynet subtree of size leaves numbered from num as a
// task on s, sending its sum to parent: the examples/actors version, every
// actor a task with a yield.Mailbox.
func skyTask(s *costack.Scheduler, parent *yield.Mailbox[int], num, size int, opts ...costack.TaskOption) {
	s.Go(func(t *costack.Task) {
		if size == 1 {
			if err := parent.Send(num); err != nil {
				panic(err) // unbounded and never closed: cannot fail
			}
			return
		}
		var inbox yield.Mailbox[int]
		size := size / SkynetDiv
		for i := range SkynetDiv {
			skyTask(s, &inbox, num+i*size, size, opts...)
		}
		sum := 0
		for range SkynetDiv {
			v, _ := inbox.Receive(t)
			sum += v
		}
		if err := parent.Send(sum); err != nil {
			panic(err)
		}
	}, opts...)
}

// SkynetCostack runs skynet over leaves leaves (a power of 10) as costack
// scheduler tasks on workers workers, ticking until every task has ended,
// and returns the sum the root got.
func SkynetCostack(leaves, workers int, opts ...costack.TaskOption) (int, error) {
	s := costack.NewScheduler(costack.Workers(workers))
	defer s.Close()
	var root yield.Mailbox[int]
	skyTask(s, &root, 0, leaves, opts...)
	for s.Len() > 0 {
		s.Tick()
	}
	sum, ok := root.TryReceive()
	if !ok {
		return 0, errors.New("skynet: the root sent nothing")
	}
	return sum, nil
}

// skyGoroutine is skynet's own Go version (github.com/atemerev/skynet):
// a goroutine per actor, an unbuffered channel per parent.
func skyGoroutine(c chan<- int, num, size int) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int)
	size /= SkynetDiv
	for i := range SkynetDiv {
		go skyGoroutine(rc, num+i*size, size)
	}
	sum := 0
	for range SkynetDiv {
		sum += <-rc
	}
	c <- sum
}

// SkynetGoroutine runs skynet over leaves leaves with goroutines and
// channels and returns the sum.
func SkynetGoroutine(leaves int) int {
	c := make(chan int)
	go skyGoroutine(c, 0, leaves)
	return <-c
}

// --- spawn churn ---

// Churn is a population of game entities of which a share ends and is
// replaced by new ones every tick.
type Churn interface {
	// Tick resumes every entity once; those whose life ends in this tick
	// return (iter.Pull: next reports false; goroutine: the channel
	// closes) and a new entity is spawned in each freed slot: created and
	// resumed up to its first yield. It returns how many were spawned and
	// how long spawning them took.
	Tick() (spawned int, spawning time.Duration)
	// Close ends every entity.
	Close()
}

// NewChurn returns a population of n entities of impl, each living life
// ticks: their lives are staggered so that n/life end (and as many are
// spawned) in every tick.
func NewChurn(impl Impl, n, life int) Churn {
	if life < 1 || n < 1 {
		panic(fmt.Sprintf("workload: churn of %d entities living %d ticks", n, life))
	}
	var s churnSlots
	switch impl {
	case Costack:
		s = &coChurn{}
	case IterPull:
		s = &pullChurn{}
	case Goroutine:
		s = &gorChurn{}
	default:
		panic("workload: unknown implementation " + string(impl))
	}
	s.init(n)
	for i := range n {
		s.spawn(i, i%life+1)
	}
	return &churn{s: s, n: n, life: life}
}

// churnSlots is one implementation's array of entity slots.
type churnSlots interface {
	init(n int)
	// spawn puts a new entity yielding life times into slot i and
	// resumes it to its first yield.
	spawn(i, life int)
	// tick resumes every slot once and appends those that ended to ended.
	tick(ended []int) []int
	close()
}

type churn struct {
	s       churnSlots
	n, life int
	ended   []int
}

func (c *churn) Tick() (int, time.Duration) {
	c.ended = c.s.tick(c.ended[:0])
	start := time.Now()
	for _, i := range c.ended {
		c.s.spawn(i, c.life)
	}
	return len(c.ended), time.Since(start)
}

func (c *churn) Close() { c.s.close() }

// Mortal game entities: the entity loop of entity.go, yielding life times.

//go:noinline
func coMortal(y *costack.Yielder[float64, float64], dt float64, life int) float64 {
	x, v, a := 0.0, 1.0, -9.81
	for range life {
		v += a * dt
		x += v * dt
		dt = y.Yield(x)
	}
	return x
}

type coChurn struct{ cos []*entityCo }

func (p *coChurn) init(n int) { p.cos = make([]*entityCo, n) }

func (p *coChurn) spawn(i, life int) {
	c := costack.New(func(y *costack.Yielder[float64, float64], dt float64) float64 {
		return coMortal(y, dt, life)
	})
	if _, _, err := c.Resume(entityDT); err != nil {
		panic(err)
	}
	p.cos[i] = c
}

func (p *coChurn) tick(ended []int) []int {
	for i, c := range p.cos {
		_, done, err := c.Resume(entityDT)
		if err != nil {
			panic(err)
		}
		if done {
			ended = append(ended, i)
		}
	}
	return ended
}

func (p *coChurn) close() {
	for _, c := range p.cos {
		if err := c.Close(); err != nil {
			panic(err)
		}
	}
	p.cos = nil
}

//go:noinline
func pullMortal(yield func(float64) bool, life int) {
	x, v, a := 0.0, 1.0, -9.81
	for range life {
		v += a * entityDT
		x += v * entityDT
		if !yield(x) {
			return
		}
	}
}

type pullChurn struct{ its []entityPull }

func (p *pullChurn) init(n int) { p.its = make([]entityPull, n) }

func (p *pullChurn) spawn(i, life int) {
	next, stop := iter.Pull(iter.Seq[float64](func(yield func(float64) bool) { pullMortal(yield, life) }))
	next()
	p.its[i] = entityPull{next, stop}
}

func (p *pullChurn) tick(ended []int) []int {
	for i, it := range p.its {
		if _, ok := it.next(); !ok {
			it.stop()
			ended = append(ended, i)
		}
	}
	return ended
}

func (p *pullChurn) close() {
	for _, it := range p.its {
		it.stop()
	}
	p.its = nil
}

//go:noinline
func gorMortal(g entityGor, life int) {
	x, v, a := 0.0, 1.0, -9.81
	for range life {
		dt, ok := <-g.in
		if !ok {
			return
		}
		v += a * dt
		x += v * dt
		g.out <- x
	}
	// The resume after the last yield ends the entity: out closes.
	<-g.in
}

type gorChurn struct{ gs []entityGor }

func (p *gorChurn) init(n int) { p.gs = make([]entityGor, n) }

func (p *gorChurn) spawn(i, life int) {
	g := entityGor{make(chan float64), make(chan float64)}
	go func() {
		defer close(g.out)
		gorMortal(g, life)
	}()
	g.in <- entityDT
	<-g.out
	p.gs[i] = g
}

func (p *gorChurn) tick(ended []int) []int {
	for i, g := range p.gs {
		g.in <- entityDT
		if _, ok := <-g.out; !ok {
			ended = append(ended, i)
		}
	}
	return ended
}

func (p *gorChurn) close() {
	for _, g := range p.gs {
		close(g.in)
		<-g.out
	}
	p.gs = nil
}

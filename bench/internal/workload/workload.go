// Package workload holds the benchmark bodies shared by the costack-bench
// report and by the go test benchmarks in package bench: the same suspendable
// body run as a costack coroutine, as an iter.Pull iterator and as a
// goroutine talking over channels.
//
// Which costack engine runs is decided per process by costack (the
// COSTACK_ENGINE environment variable); this package only knows "costack".
package workload

import (
	"fmt"
	"iter"
	"sync"

	"github.com/costack-dev/costack/costack"
)

// Impl names one way of running a suspendable body.
type Impl string

const (
	// Costack runs the body as a costack coroutine on the process's engine.
	Costack Impl = "costack"
	// IterPull runs the body as an iter.Seq converted with iter.Pull.
	IterPull Impl = "iter.Pull"
	// Goroutine runs the body on a goroutine of its own; a resume is a send
	// on one unbuffered channel and a receive on another.
	Goroutine Impl = "goroutine"
)

// Impls lists every implementation, in report order.
var Impls = []Impl{Costack, IterPull, Goroutine}

// ParseImpl returns the Impl named s.
func ParseImpl(s string) (Impl, error) {
	for _, i := range Impls {
		if string(i) == s {
			return i, nil
		}
	}
	return "", fmt.Errorf("workload: unknown implementation %q", s)
}

// chunkSize is the number of instances per storage chunk of a Population:
// populations grow by chunks, so growing one never copies (and never leaves
// garbage behind to pollute a memory measurement).
const chunkSize = 4096

// chunks is an append-only list stored in fixed-size chunks.
type chunks[T any] struct {
	c [][]T
	n int
}

func (l *chunks[T]) add(v T) {
	i := l.n / chunkSize
	if i == len(l.c) {
		l.c = append(l.c, make([]T, 0, chunkSize))
	}
	l.c[i] = append(l.c[i], v)
	l.n++
}

// reserve allocates (and touches) the chunks for n more elements.
func (l *chunks[T]) reserve(n int) {
	need := (l.n + n + chunkSize - 1) / chunkSize
	for len(l.c) < need {
		c := make([]T, chunkSize)
		// Write every element, so that the pages are resident now and a
		// memory baseline taken after reserve includes them.
		var zero T
		for i := range c {
			c[i] = zero
		}
		l.c = append(l.c, c[:0])
	}
}

// Population is a set of suspended instances of one implementation, all
// running the game-entity body (entity.go): a loop with a few float locals
// that integrates one step and yields once per resume, one call below the
// body.
type Population interface {
	// Len is the number of live instances.
	Len() int
	// Reserve prepares storage for n more instances (and touches it), so
	// that a memory baseline taken afterwards already counts it.
	Reserve(n int)
	// Add creates n instances and resumes each once, so that each ends
	// suspended in its yield.
	Add(n int)
	// Tick resumes every instance once, in order, and returns the sum of
	// the positions they yielded.
	Tick() float64
	// Footprint is the sum of the instances' costack Footprint, or -1 when
	// the implementation has no such measure.
	Footprint() int64
	// Close ends every instance and waits until each has ended.
	Close()
	// Drop lets go of every instance without ending it. A dropped costack
	// coroutine is closed by the runtime once it is collected; the
	// baselines have no such thing (a dropped iter.Pull iterator or
	// goroutine parks forever), so their Drop ends them as Close does.
	Drop()
}

// NewPopulation returns an empty population of impl.
func NewPopulation(impl Impl) Population {
	switch impl {
	case Costack:
		return &costackPop{}
	case IterPull:
		return &pullPop{}
	case Goroutine:
		return &chanPop{}
	}
	panic("workload: unknown implementation " + string(impl))
}

// --- costack ---

type co = costack.Coroutine[int, int]

// resumeIn is the value every operation resumes an instance with. Every
// body yields one more than it was resumed with (iter.Pull's, which cannot
// be passed a value, yields resumeIn+1), so every operation's value is
// resumeIn+1 (opValue), on every implementation: a test sees from Run's
// sum that each of n operations got a value out of a body.
const resumeIn = 1

// opValue is the value every operation of RoundTrip, the relocation ops and
// CreateResumeClose gets out of its instance.
const opValue = resumeIn + 1

//go:noinline
func coDeep(y *costack.Yielder[int, int], depth, in int) int {
	if depth > 1 {
		return coDeep(y, depth-1, in) + 1
	}
	// The loop ends only on a negative in, which no caller sends: the
	// coroutine runs until it is closed.
	for in >= 0 {
		in = y.Yield(in + 1)
	}
	return in
}

// newCo returns a costack coroutine that yields forever, depth calls below
// its body.
func newCo(depth int) *co {
	return costack.New(func(y *costack.Yielder[int, int], in int) int {
		return coDeep(y, depth, in)
	})
}

func mustResume(c *co) int {
	out, _, err := c.Resume(resumeIn)
	if err != nil {
		panic(err)
	}
	return out
}

func mustClose(c *co) {
	if err := c.Close(); err != nil {
		panic(err)
	}
}

// --- iter.Pull ---

//go:noinline
func pullDeep(yield func(int) bool, depth int) {
	if depth > 1 {
		pullDeep(yield, depth-1)
		return
	}
	for yield(opValue) {
	}
}

type pull struct {
	next func() (int, bool)
	stop func()
}

func newPull(depth int) pull {
	next, stop := iter.Pull(func(yield func(int) bool) { pullDeep(yield, depth) })
	return pull{next, stop}
}

// --- goroutines and channels ---

// gor is a goroutine body reached through two unbuffered channels: a resume
// sends on in and receives from out; closing in ends the goroutine, which
// then closes out.
type gor struct {
	in  chan int
	out chan int
}

//go:noinline
func gorDeep(g gor, depth int) {
	if depth > 1 {
		gorDeep(g, depth-1)
		return
	}
	for v := range g.in {
		g.out <- v + 1
	}
}

func newGor(depth int) gor {
	g := gor{make(chan int), make(chan int)}
	go func() {
		defer close(g.out)
		gorDeep(g, depth)
	}()
	return g
}

func (g gor) resume() int {
	g.in <- resumeIn
	return <-g.out
}

func (g gor) close() {
	close(g.in)
	<-g.out
}

// --- timed operations ---

// Op is a benchmark operation: Run performs n operations and returns the
// sum of the values they got out of the instances (so that no value goes
// unused, and a test can check that every operation happened); Close ends
// every instance the operation holds, and waits until each has ended (call
// it once, after the last Run).
type Op struct {
	Run   func(n int) (sum float64)
	Close func()
}

// RoundTrip returns an operation that resumes one instance whose body yields
// depth calls below the body; each operation is one resume and the yield
// that ends it. Every resume comes from the same goroutine and call depth.
func RoundTrip(impl Impl, depth int) Op {
	switch impl {
	case Costack:
		c := newCo(depth)
		return Op{
			Run: func(n int) float64 {
				sum := 0
				for range n {
					sum += mustResume(c)
				}
				return float64(sum)
			},
			Close: func() { mustClose(c) },
		}
	case IterPull:
		it := newPull(depth)
		return Op{
			Run: func(n int) float64 {
				sum := 0
				for range n {
					v, _ := it.next()
					sum += v
				}
				return float64(sum)
			},
			Close: it.stop,
		}
	case Goroutine:
		g := newGor(depth)
		return Op{
			Run: func(n int) float64 {
				sum := 0
				for range n {
					sum += g.resume()
				}
				return float64(sum)
			},
			Close: g.close,
		}
	}
	panic("workload: unknown implementation " + string(impl))
}

// relocBatch is the number of instances a relocation operation cycles
// through, so that the cost of changing goroutine or depth between batches
// is spread over many resumes.
const relocBatch = 64

// RelocDepth is the depth below the body at which relocation bodies yield.
const RelocDepth = 4

// group is relocBatch instances that yield RelocDepth calls deep.
type group struct {
	cos   []*co
	pulls []pull
	gors  []gor
}

func newGroup(impl Impl) *group {
	g := &group{}
	for range relocBatch {
		switch impl {
		case Costack:
			g.cos = append(g.cos, newCo(RelocDepth))
		case IterPull:
			g.pulls = append(g.pulls, newPull(RelocDepth))
		case Goroutine:
			g.gors = append(g.gors, newGor(RelocDepth))
		default:
			panic("workload: unknown implementation " + string(impl))
		}
	}
	return g
}

// resume resumes the first k instances of the group (all if k is larger)
// once each, and returns the sum of the values they yielded.
//
//go:noinline
func (g *group) resume(k int) int {
	sum := 0
	for _, c := range g.cos[:min(k, len(g.cos))] {
		sum += mustResume(c)
	}
	for _, it := range g.pulls[:min(k, len(g.pulls))] {
		v, _ := it.next()
		sum += v
	}
	for _, r := range g.gors[:min(k, len(g.gors))] {
		sum += r.resume()
	}
	return sum
}

func (g *group) close() {
	for _, c := range g.cos {
		mustClose(c)
	}
	for _, it := range g.pulls {
		it.stop()
	}
	for _, r := range g.gors {
		r.close()
	}
}

// RelocGoroutine returns an operation in which every resume comes from a
// different goroutine than the one before it: two goroutines take turns
// resuming a batch of instances (yielding RelocDepth calls deep), so the
// native engine must move each image to another stack on every resume. The
// hand-off between the goroutines is amortised over the batch.
func RelocGoroutine(impl Impl) Op {
	g := newGroup(impl)
	// A turn carries the number of resumes still to do; the goroutine
	// whose turn it is does a batch, adds its values to sum and passes the
	// rest on. Only the goroutine whose turn it is touches sum, and the
	// turns are handed over on channels: no two goroutines race on it.
	var turn [2]chan int
	var sum int
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i := range turn {
		turn[i] = make(chan int)
	}
	for i := range turn {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left := range turn[i] {
				sum += g.resume(left)
				if left <= relocBatch {
					done <- struct{}{}
					continue
				}
				turn[1-i] <- left - relocBatch
			}
		}()
	}
	return Op{
		Run: func(n int) float64 {
			if n <= 0 {
				return 0
			}
			sum = 0
			turn[0] <- n
			<-done
			return float64(sum)
		},
		Close: func() {
			close(turn[0])
			close(turn[1])
			wg.Wait()
			g.close()
		},
	}
}

// RelocNone is the control of RelocGoroutine and RelocDepthOp: the same
// batch of instances resumed in turn, always from the same goroutine and
// call depth, so that the native engine never moves an image.
func RelocNone(impl Impl) Op {
	g := newGroup(impl)
	return Op{
		Run: func(n int) float64 {
			sum := 0
			for ; n > 0; n -= relocBatch {
				sum += g.resume(n)
			}
			return float64(sum)
		},
		Close: g.close,
	}
}

// RelocDepthOp returns an operation in which every resume comes from a
// different call depth than the one before it: batches of instances
// (yielding RelocDepth calls deep) are resumed alternately from the loop
// itself and from 8 frames deeper, so the native engine must move each
// image on every resume. The descent is amortised over the batch.
func RelocDepthOp(impl Impl) Op {
	g := newGroup(impl)
	return Op{
		Run: func(n int) float64 {
			sum := 0
			for r := 0; n > 0; r, n = r+1, n-relocBatch {
				if r%2 == 0 {
					sum += g.resume(n)
				} else {
					atDepth(8, func() { sum += g.resume(n) })
				}
			}
			return float64(sum)
		},
		Close: g.close,
	}
}

// atDepth calls f depth frames below itself, each frame holding some
// locals.
//
//go:noinline
func atDepth(depth int, f func()) int {
	var pad [8]int
	pad[depth%8] = depth
	if depth > 0 {
		pad[0] += atDepth(depth-1, f)
	} else {
		f()
	}
	return pad[0] + pad[depth%8]
}

// CreateResumeClose returns an operation that creates an instance (yielding
// one call deep), resumes it once and closes it, waiting until it has
// ended.
func CreateResumeClose(impl Impl) Op {
	var run func(n int) float64
	switch impl {
	case Costack:
		run = func(n int) float64 {
			sum := 0
			for range n {
				c := newCo(1)
				sum += mustResume(c)
				mustClose(c)
			}
			return float64(sum)
		}
	case IterPull:
		run = func(n int) float64 {
			sum := 0
			for range n {
				it := newPull(1)
				v, _ := it.next()
				sum += v
				it.stop()
			}
			return float64(sum)
		}
	case Goroutine:
		run = func(n int) float64 {
			sum := 0
			for range n {
				g := newGor(1)
				sum += g.resume()
				g.close()
			}
			return float64(sum)
		}
	default:
		panic("workload: unknown implementation " + string(impl))
	}
	return Op{Run: run, Close: func() {}}
}

// Tick returns an operation on a population of n entities: each operation
// is one tick of a game loop, resuming every entity once; its value is the
// sum of the positions the entities yielded.
func Tick(impl Impl, n int) Op {
	p := NewPopulation(impl)
	p.Add(n)
	return Op{
		Run: func(k int) float64 {
			sum := 0.0
			for range k {
				sum += p.Tick()
			}
			return sum
		},
		Close: p.Close,
	}
}

package workload

import (
	"iter"

	"github.com/costack-dev/costack/costack"
	"github.com/costack-dev/costack/internal/shapes"
)

// The shapes of code beyond one yield site a few frames deep (issue 13):
// recursive generators, deep recursion, many yield sites. Each is an Op
// whose operation is one element (one resume and the yield that ends it).

// Variants of a recursive generator on costack.
const (
	// ViaPull runs the generator (an iter.Seq) through costack.Pull, as a
	// drop-in for iter.Pull.
	ViaPull = "Pull"
	// ViaNew runs a recursive body on costack.New that yields through its
	// Yielder.
	ViaNew = "New"
)

// walkNew walks the tree at n in order, yielding each value through y.
//
//go:noinline
func walkNew(n *shapes.Node, y *costack.Yielder[struct{}, int]) {
	if n == nil {
		return
	}
	walkNew(n.Left, y)
	y.Yield(n.Value)
	walkNew(n.Right, y)
}

// seqOp is an Op that pulls n values from a sequence, starting it again
// when it ends: through costack.Pull, iter.Pull or a goroutine and
// channels (impl), or for ViaNew a recursive costack.New body over tree.
func seqOp(impl Impl, variant string, seq iter.Seq[int], tree *shapes.Node) Op {
	if impl == Costack && variant == ViaNew {
		mk := func() *costack.Coroutine[struct{}, int] {
			return costack.New(func(y *costack.Yielder[struct{}, int], _ struct{}) int {
				walkNew(tree, y)
				return -1
			})
		}
		c := mk()
		return Op{
			// The operation that ends the walk gets the body's result
			// instead of a value, and adds nothing to the sum.
			Run: func(n int) float64 {
				sum := 0
				for range n {
					v, done, err := c.Resume(struct{}{})
					if err != nil {
						panic(err)
					}
					if done {
						c = mk()
						continue
					}
					sum += v
				}
				return float64(sum)
			},
			Close: func() {
				if err := c.Close(); err != nil {
					panic(err)
				}
			},
		}
	}
	var pull func(iter.Seq[int]) (func() (int, bool), func())
	switch impl {
	case Costack:
		pull = costack.Pull[int]
	case IterPull:
		pull = iter.Pull[int]
	case Goroutine:
		pull = chanPull
	default:
		panic("workload: unknown implementation " + string(impl))
	}
	next, stop := pull(seq)
	return Op{
		Run: func(n int) float64 {
			sum := 0
			for range n {
				v, ok := next()
				if !ok {
					stop()
					next, stop = pull(seq)
					v, _ = next()
				}
				sum += v
			}
			return float64(sum)
		},
		Close: func() { stop() },
	}
}

// chanPull is Pull over a goroutine and unbuffered channels: the
// goroutine-and-channel way to pull from a push iterator.
func chanPull(seq iter.Seq[int]) (func() (int, bool), func()) {
	req, out := make(chan bool), make(chan int)
	go func() {
		defer close(out)
		if !<-req {
			return
		}
		seq(func(v int) bool {
			out <- v
			return <-req
		})
	}()
	done := false
	next := func() (int, bool) {
		if done {
			return 0, false
		}
		req <- true
		v, ok := <-out
		done = !ok
		return v, ok
	}
	stop := func() {
		if !done {
			done = true
			close(req)
			for range out {
			}
		}
	}
	return next, stop
}

// TreeWalk returns an Op that pulls the in-order values of a balanced tree
// of 2^depth - 1 nodes (a recursive generator: its chain of frames differs
// at almost every yield), again and again.
func TreeWalk(impl Impl, variant string, depth int) Op {
	tree := shapes.Balanced(depth)
	return seqOp(impl, variant, tree.All(), tree)
}

// ListWalk returns an Op that pulls the values of a list-shaped tree of n
// nodes, whose walk yields at depths 1..n, again and again.
func ListWalk(impl Impl, variant string, n int) Op {
	tree := shapes.List(n)
	return seqOp(impl, variant, tree.All(), tree)
}

// YieldSites returns an Op whose operations yield from sites distinct call
// sites in turn (same frames, a different return PC each).
func YieldSites(impl Impl, sites int) Op {
	seq := func(yield func(int) bool) {
		ok := true
		for i := 0; ok; i++ {
			shapes.YieldAt(i%sites, func(v int) { ok = yield(v) })
		}
	}
	return seqOp(impl, ViaPull, seq, nil)
}

// PendingDefers returns an Op whose operations each yield from the bottom
// of a recursive descent depth levels deep, every level holding a pending
// stack-allocated defer record (shapes.Parse: a recursive-descent parser's
// shape), so that each switch carries depth pending records.
func PendingDefers(impl Impl, depth int) Op {
	return seqOp(impl, ViaPull, parseSeq(depth), nil)
}

// parseSeq yields 0, 1, 2, ... each from the bottom of shapes.Parse(depth).
func parseSeq(depth int) iter.Seq[int] {
	return func(yield func(int) bool) {
		ok := true
		for i := 0; ok; i++ {
			shapes.Parse(depth, func() { ok = yield(i) })
		}
	}
}

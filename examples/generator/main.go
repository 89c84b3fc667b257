// Command generator turns a recursive tree walk into pull-style iterators
// with costack.Pull and with iter.Pull, keeps -n of them alive, suspended
// deep inside the recursion, and compares what they cost.
//
//	go run ./examples/generator -n 100000 -depth 12
//
// Every iterator walks the same balanced binary tree in order. A suspended
// costack.Pull iterator holds only the live part of its stack (the
// recursion's frames); a suspended iter.Pull iterator holds a whole
// goroutine stack.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"runtime"
	"time"

	"github.com/costack-dev/costack/costack"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "generator:", err)
		os.Exit(2)
	}
}

// node is a binary tree node.
type node struct {
	left, right *node
	val         int
}

// build returns a balanced tree of the given depth holding lo, lo+1, ... in
// order.
func build(depth int, lo *int) *node {
	if depth == 0 {
		return nil
	}
	n := &node{left: build(depth-1, lo)}
	n.val = *lo
	*lo++
	n.right = build(depth-1, lo)
	return n
}

// walk is the recursive in-order walk, as a push iterator.
func (n *node) walk(yield func(int) bool) bool {
	if n == nil {
		return true
	}
	return n.left.walk(yield) && yield(n.val) && n.right.walk(yield)
}

func (n *node) all() iter.Seq[int] {
	return func(yield func(int) bool) { n.walk(yield) }
}

type puller func(iter.Seq[int]) (func() (int, bool), func())

func memInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

type result struct {
	name        string
	perIterator float64
	create      time.Duration
	next        time.Duration
	sum         int
}

// measure creates n iterators with pull, advances each by steps values (so
// that it is suspended deep in the recursion), measures the memory they hold
// and the time of one more round of next calls, then drains and stops them.
func measure(name string, pull puller, tree *node, n, steps int) (result, error) {
	r := result{name: name}
	before := memInUse()
	nexts := make([]func() (int, bool), n)
	stops := make([]func(), n)
	start := time.Now()
	for i := range nexts {
		nexts[i], stops[i] = pull(tree.all())
		for range steps + i%7 {
			if _, ok := nexts[i](); !ok {
				return r, errors.New(name + ": tree too small for -steps")
			}
		}
	}
	r.create = time.Since(start)
	after := memInUse()
	if after > before {
		r.perIterator = float64(after-before) / float64(n)
	}
	start = time.Now()
	for _, next := range nexts {
		v, ok := next()
		if !ok {
			return r, errors.New(name + ": iterator ended early")
		}
		r.sum += v
	}
	r.next = time.Since(start)
	for _, stop := range stops {
		stop()
	}
	return r, nil
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("generator", flag.ContinueOnError)
	fs.SetOutput(stdout)
	n := fs.Int("n", 100_000, "live iterators of each kind")
	depth := fs.Int("depth", 12, "depth of the tree (the recursion depth of a suspended walk)")
	steps := fs.Int("steps", 3, "values each iterator yields before it is measured")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *depth < 2 || *depth > 40 {
		return errors.New("need -n >= 1 and 2 <= -depth <= 40")
	}
	lo := 0
	tree := build(*depth, &lo)
	fmt.Fprintf(stdout, "engine: %s\n", costack.Engine())
	fmt.Fprintf(stdout, "%d live iterators over a tree of depth %d (%d values), each suspended %d+ values in\n\n", *n, *depth, lo, *steps)
	fmt.Fprintf(stdout, "%-14s %12s %12s %14s\n", "", "bytes/iter", "create", "next/iter")
	var results []result
	for _, p := range []struct {
		name string
		pull puller
	}{{"costack.Pull", costack.Pull[int]}, {"iter.Pull", iter.Pull[int]}} {
		r, err := measure(p.name, p.pull, tree, *n, *steps)
		if err != nil {
			return err
		}
		results = append(results, r)
		fmt.Fprintf(stdout, "%-14s %12.0f %12v %14v\n", r.name, r.perIterator, r.create.Round(time.Millisecond), (r.next / time.Duration(*n)).Round(time.Nanosecond))
	}
	if results[0].sum != results[1].sum {
		return fmt.Errorf("the iterators disagree: %d != %d", results[0].sum, results[1].sum)
	}
	if results[0].perIterator > 0 {
		fmt.Fprintf(stdout, "\niter.Pull holds %.1fx the memory of costack.Pull per suspended iterator\n", results[1].perIterator/results[0].perIterator)
	}
	return nil
}

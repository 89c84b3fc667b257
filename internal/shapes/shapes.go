// Package shapes holds the shapes of code that the tests and the benchmark
// report run coroutines through, beyond the one yield site a few frames
// deep: recursive generators over balanced and list-shaped trees, many
// distinct yield sites with identical frames, and recursion with a pending
// defer record per level. They are plain Go functions that yield through a
// callback, so that every implementation (costack, iter.Pull, goroutines)
// runs the same code.
package shapes

//go:generate go run gen_sites.go

// Node is a binary tree node.
type Node struct {
	Left, Right *Node
	Value       int
}

// Balanced returns a complete binary tree of 2^depth - 1 nodes whose
// in-order values are 0, 1, 2, ...
func Balanced(depth int) *Node {
	next := 0
	var build func(d int) *Node
	build = func(d int) *Node {
		if d == 0 {
			return nil
		}
		n := &Node{Left: build(d - 1)}
		n.Value = next
		next++
		n.Right = build(d - 1)
		return n
	}
	return build(depth)
}

// List returns a list-shaped tree of n nodes (each the right child of the
// previous one), whose in-order walk recurses n deep.
func List(n int) *Node {
	var root *Node
	for i := n - 1; i >= 0; i-- {
		root = &Node{Value: i, Right: root}
	}
	return root
}

// Walk calls yield with the values of the tree at n in order, recursively,
// until yield returns false; it reports whether it got to the end. It is
// the canonical recursive generator (an iter.Seq's body).
//
//go:noinline
func Walk(n *Node, yield func(int) bool) bool {
	if n == nil {
		return true
	}
	return Walk(n.Left, yield) && yield(n.Value) && Walk(n.Right, yield)
}

// All is the in-order iter.Seq of the tree at n.
func (n *Node) All() func(yield func(int) bool) {
	return func(yield func(int) bool) { Walk(n, yield) }
}

// Parse descends depth levels, each with one pending deferred call whose
// record is stack-allocated (the function has more returns than defers
// can be open-coded for), yields at the bottom, and returns the number of
// deferred calls that ran below it (each level's runs on the way out, so
// Parse(d) returns d when every one ran). It is a recursive-descent
// parser's shape.
//
//go:noinline
func Parse(depth int, yield func()) (ran int) {
	defer func() { ran++ }()
	switch {
	case depth < 0:
		return -1000
	case depth == 0:
		yield()
		return 0
	case depth == 1:
		return Parse(0, yield)
	case depth == 2:
		return Parse(1, yield)
	case depth == 3:
		return Parse(2, yield)
	case depth == 4:
		return Parse(3, yield)
	case depth == 5:
		return Parse(4, yield)
	case depth == 6:
		return Parse(5, yield)
	case depth == 7:
		return Parse(6, yield)
	case depth == 8:
		return Parse(7, yield)
	case depth == 9:
		return Parse(8, yield)
	case depth == 10:
		return Parse(9, yield)
	case depth == 11:
		return Parse(10, yield)
	case depth == 12:
		return Parse(11, yield)
	case depth == 13:
		return Parse(12, yield)
	case depth == 14:
		return Parse(13, yield)
	case depth == 15:
		return Parse(14, yield)
	}
	return Parse(depth-1, yield)
}

// Deep recurses depth calls (a small frame each) and calls yield at the
// bottom; it returns depth.
//
//go:noinline
func Deep(depth int, yield func()) int {
	if depth == 0 {
		yield()
		return 0
	}
	return Deep(depth-1, yield) + 1
}

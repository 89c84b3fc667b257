package costack

// The differential tests' programs (see difftest_test.go): the ops a
// coroutine body or the driver is made of, and the generator that builds a
// program from a byte slice.

import (
	"fmt"
	"strings"
)

type opKind uint8

const (
	opYield opKind = iota
	opCall
	opResume
	opClose
	opStatus
	opPanic
	opGoexit
	opGC
)

// Frame shapes of opCall.
const (
	shapeScalars = iota
	shapeArray
	shapeHeap
	shapeBig
	shapeRecursive
	shapeLoopDefers
	shapeBranchy     // recursion through one of two call sites per level: many chains
	shapeDeep        // hundreds to a couple of thousand frames
	shapeStackDefers // a stack-allocated defer record per level
	numShapes
)

type op struct {
	kind   opKind
	target int  // opResume, opClose, opStatus: the coroutine
	val    int  // a value: yielded, passed to Resume, panicked, frame seed
	depth  int  // opResume, opClose: frames to recurse before the call
	spawn  bool // opResume, opClose: call from a fresh goroutine
	shape  int  // opCall
	ops    []op // opCall: the frame's ops
	def    *deferSpec
}

type deferSpec struct {
	id      int
	recover bool
	ops     []op
}

type program struct {
	cos    [][]op // body of coroutine i
	driver []op
}

func (p *program) String() string {
	var b strings.Builder
	for i, ops := range p.cos {
		fmt.Fprintf(&b, "co%d:\n", i)
		dumpOps(&b, ops, 1)
	}
	b.WriteString("driver:\n")
	dumpOps(&b, p.driver, 1)
	return b.String()
}

func dumpOps(b *strings.Builder, ops []op, indent int) {
	pad := strings.Repeat("  ", indent)
	for _, o := range ops {
		switch o.kind {
		case opYield:
			fmt.Fprintf(b, "%syield %d\n", pad, o.val)
		case opCall:
			fmt.Fprintf(b, "%scall shape=%d val=%d\n", pad, o.shape, o.val)
			if o.def != nil {
				fmt.Fprintf(b, "%s  defer #%d recover=%v:\n", pad, o.def.id, o.def.recover)
				dumpOps(b, o.def.ops, indent+2)
			}
			dumpOps(b, o.ops, indent+1)
		case opResume:
			fmt.Fprintf(b, "%sresume co%d in=%d depth=%d spawn=%v\n", pad, o.target, o.val, o.depth, o.spawn)
		case opClose:
			fmt.Fprintf(b, "%sclose co%d depth=%d spawn=%v\n", pad, o.target, o.depth, o.spawn)
		case opStatus:
			fmt.Fprintf(b, "%sstatus co%d\n", pad, o.target)
		case opPanic:
			fmt.Fprintf(b, "%spanic %d\n", pad, o.val)
		case opGoexit:
			fmt.Fprintf(b, "%sgoexit\n", pad)
		case opGC:
			fmt.Fprintf(b, "%sgc\n", pad)
		}
	}
}

// ---- generator ----

// gen reads decisions from a byte slice; once it is used up every list
// ends, so any input gives a finite program.
type gen struct {
	data   []byte
	pos    int
	budget int // ops left
	ncos   int
	defers int
}

func (g *gen) more() bool { return g.pos < len(g.data) && g.budget > 0 }

func (g *gen) intn(n int) int {
	if g.pos >= len(g.data) {
		return 0
	}
	b := g.data[g.pos]
	g.pos++
	return int(b) % n
}

func generate(data []byte) *program {
	g := &gen{data: data, budget: 240}
	g.ncos = 1 + g.intn(5)
	p := &program{cos: make([][]op, g.ncos)}
	// The driver comes first, so that it is not starved when the input
	// runs out.
	for n := 4 + g.intn(28); n > 0 && g.more(); n-- {
		g.budget--
		switch g.intn(16) {
		default:
			p.driver = append(p.driver, g.resume())
		case 12:
			p.driver = append(p.driver, g.close())
		case 13, 14:
			p.driver = append(p.driver, op{kind: opStatus, target: g.intn(g.ncos)})
		case 15:
			if g.intn(4) == 0 {
				p.driver = append(p.driver, op{kind: opGC})
			}
		}
	}
	for i := range p.cos {
		p.cos[i] = g.ops(i, 0)
	}
	return p
}

func (g *gen) resume() op {
	return op{kind: opResume, target: g.intn(g.ncos), val: g.intn(100), depth: g.depth(), spawn: g.intn(5) == 0}
}

func (g *gen) close() op {
	return op{kind: opClose, target: g.intn(g.ncos), depth: g.depth(), spawn: g.intn(5) == 0}
}

func (g *gen) depth() int {
	if g.intn(3) == 0 {
		return g.intn(40)
	}
	return 0
}

// ops generates the op list of a frame of coroutine self at nesting depth
// (0: the body itself).
func (g *gen) ops(self, depth int) []op {
	var ops []op
	n := g.intn(9)
	if depth == 0 {
		n += 4 + g.intn(12)
	}
	for ; n > 0 && g.more(); n-- {
		g.budget--
		switch k := g.intn(24); {
		case k < 9:
			ops = append(ops, op{kind: opYield, val: g.intn(100)})
		case k < 14:
			if depth < 5 {
				o := op{kind: opCall, shape: g.intn(numShapes), val: g.intn(100)}
				if g.intn(3) == 0 {
					g.defers++
					o.def = &deferSpec{id: g.defers, recover: g.intn(2) == 0}
					if g.intn(2) == 0 {
						o.def.ops = g.ops(self, depth+1)
					}
				}
				o.ops = g.ops(self, depth+1)
				ops = append(ops, o)
			}
		case k < 18:
			ops = append(ops, g.resume())
		case k < 19:
			ops = append(ops, g.close())
		case k < 20:
			ops = append(ops, op{kind: opStatus, target: g.intn(g.ncos)})
		case k < 22:
			if g.intn(3) == 0 {
				ops = append(ops, op{kind: opPanic, val: g.intn(100)})
			}
		case k < 23:
			if g.intn(4) == 0 {
				ops = append(ops, op{kind: opGoexit})
			}
		default:
			if g.intn(8) == 0 {
				ops = append(ops, op{kind: opGC})
			}
		}
	}
	return ops
}

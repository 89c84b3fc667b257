package costack

// Differential testing: random coroutine programs, generated from a byte
// slice, run on every available engine and on a reference model, and their
// traces compared.
//
// A program is a set of coroutine bodies and a driver. Bodies are trees of
// ops: nested calls through frames of assorted shapes (scalars, address-taken
// arrays and stack-to-stack pointers, maps/slices/interfaces/closures, a big
// frame that grows the stack, recursion, defers in a loop), each optionally
// with a deferred call that may recover; yields at any depth; resumes and
// closes of any coroutine (itself included), at a random call depth and
// possibly from a fresh goroutine; status queries; panics; runtime.Goexit;
// runtime.GC. The driver resumes, closes and inspects coroutines. Every op
// appends to a trace, which also holds every value passed in and out, every
// status, every error (PanicError values included), every recovered value
// and the order of deferred calls; every frame checks its locals when it
// returns.
//
// The oracle is the portable engine. Native (when available) must produce
// exactly the portable trace. The portable engine is in turn checked against
// refBackend, a model built on goroutines and channels that shares nothing
// with package sharedstack, so the suite checks something even where the
// native engine is missing.
//
// Deferred calls yield too, also while their frame unwinds (panic, Close,
// Goexit). The native engine may refuse some yields (see misuse_test.go);
// checkProgram handles that.
//
// Running it:
//
//	go test -run TestDifferentialRandom ./costack/           # fixed seeds, in the normal suite
//	COSTACK_SOAK=10m go test -run TestDifferentialSoak ./costack/
//	go test -run '^$' -fuzz FuzzDifferential -fuzzminimizetime 5s ./costack/
//
// Add GOGC=1 and GODEBUG=gccheckmark=1,clobberfree=1 for GC torture. The
// fuzzer's default minimization budget (60 s per new input) shows as long
// stretches of 0 execs/sec; -fuzzminimizetime shortens them. A failure
// prints the input, the program and the first difference; to replay it,
// put the input in testdata/fuzz/FuzzDifferential.

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/costack-dev/costack/internal/gls"
	"github.com/costack-dev/costack/sharedstack"
)

// ---- programs ----

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

// ---- values ----

// payload is the Out type: a value with pointers of several kinds, so that
// values crossing a yield are seen by the GC in transit.
type payload struct {
	N  int
	S  string
	P  *int
	Xs []int
	M  map[string]int
	I  any
}

func mkPayload(n int) payload {
	p := new(int)
	*p = n * 7
	var i any = strconv.Itoa(n)
	if n%2 == 0 {
		i = float64(n) / 2
	}
	return payload{N: n, S: "s" + strconv.Itoa(n), P: p, Xs: []int{n, n + 1, n + 2}, M: map[string]int{"k": n}, I: i}
}

func (p payload) String() string {
	if p.P == nil {
		return fmt.Sprintf("{%d %q nil %v %v %v}", p.N, p.S, p.Xs, p.M, p.I)
	}
	return fmt.Sprintf("{%d %q %d %v %v %v}", p.N, p.S, *p.P, p.Xs, p.M, p.I)
}

type diffPanic struct{ n int }

var errDiffSentinel = errors.New("sentinel")

func panicValue(n int) any {
	switch n % 4 {
	case 0:
		return n
	case 1:
		return "boom" + strconv.Itoa(n)
	case 2:
		return fmt.Errorf("err%d: %w", n, errDiffSentinel)
	default:
		return diffPanic{n}
	}
}

func showValue(v any) string {
	if err, ok := v.(error); ok {
		return fmt.Sprintf("%T(%v is-sentinel=%v)", v, err, errors.Is(err, errDiffSentinel))
	}
	return fmt.Sprintf("%T(%v)", v, v)
}

func showErr(err error) string {
	var pe *PanicError
	switch {
	case err == nil:
		return "nil"
	case err == ErrDead:
		return "ErrDead"
	case err == ErrRunning:
		return "ErrRunning"
	case errors.As(err, &pe):
		return fmt.Sprintf("PanicError(%s unwrap-sentinel=%v)", showValue(pe.Value), errors.Is(err, errDiffSentinel))
	}
	return fmt.Sprintf("%T(%v)", err, err)
}

// ---- backends ----

type dYielder interface{ Yield(payload) int }

type dCoro interface {
	Resume(int) (payload, bool, error)
	Close() error
	Status() Status
}

type backend struct {
	name      string
	new       func(body func(y dYielder, in int) payload) dCoro
	isClosing func(any) bool
}

func engineBackend(k sharedstack.Kind) backend {
	return backend{
		name: k.String(),
		new: func(body func(y dYielder, in int) payload) dCoro {
			c, err := newOn(k, func(y *Yielder[int, payload], in int) payload { return body(y, in) })
			if err != nil {
				panic(err)
			}
			return c
		},
		isClosing: IsClosing,
	}
}

// refBackend is the reference model: each coroutine body runs on a
// goroutine of its own, and control passes over unbuffered channels.
var refBackend = backend{
	name:      "reference",
	new:       func(body func(dYielder, int) payload) dCoro { return &refCo{body: body} },
	isClosing: func(v any) bool { return v == errRefUnwind },
}

var errRefUnwind = errors.New("reference: closing")

type refThread struct{ cur *refCo }

// refThreads tells which reference coroutine's body runs on a goroutine.
var refThreads gls.Table[refThread]

type refIn struct {
	in    int
	close bool
}

type refOutcome uint8

const (
	refYielded refOutcome = iota
	refReturned
	refPanicked
	refGoexited
)

type refOut struct {
	kind refOutcome
	out  payload
	val  any
}

type refCo struct {
	body    func(dYielder, int) payload
	status  Status
	started bool
	closing bool
	toBody  chan refIn
	toRes   chan refOut
}

func (c *refCo) Status() Status { return c.status }

func (c *refCo) Resume(in int) (payload, bool, error) {
	switch c.status {
	case Dead:
		return payload{}, true, ErrDead
	case Running, Normal:
		return payload{}, false, ErrRunning
	}
	return c.enter(refIn{in: in})
}

func (c *refCo) Close() error {
	switch c.status {
	case Dead:
		return nil
	case Running, Normal:
		return ErrRunning
	}
	if !c.started {
		c.status = Dead
		return nil
	}
	c.closing = true
	_, _, err := c.enter(refIn{close: true})
	return err
}

func (c *refCo) enter(msg refIn) (payload, bool, error) {
	parent := refThreads.Get().cur
	if parent != nil {
		parent.status = Normal
	}
	c.status = Running
	if !c.started {
		c.started = true
		c.toBody = make(chan refIn)
		c.toRes = make(chan refOut)
		go c.main(msg.in)
	} else {
		c.toBody <- msg
	}
	r := <-c.toRes
	if parent != nil {
		parent.status = Running
	}
	switch r.kind {
	case refYielded:
		c.status = Suspended
		return r.out, false, nil
	case refReturned:
		c.status = Dead
		return r.out, true, nil
	case refPanicked:
		c.status = Dead
		return payload{}, true, &PanicError{Value: r.val}
	default:
		c.status = Dead
		runtime.Goexit()
		panic("unreachable")
	}
}

func (c *refCo) main(in int) {
	refThreads.Get().cur = c
	reported := false
	defer func() {
		// Goexit, possibly continuing after a recovered panic, as it does
		// when a deferred call panics during Goexit.
		if !reported {
			refThreads.Get().cur = nil
			c.toRes <- refOut{kind: refGoexited}
		}
	}()
	res := c.call(in)
	refThreads.Get().cur = nil
	reported = true
	c.toRes <- res
}

func (c *refCo) call(in int) (res refOut) {
	returned := false
	defer func() {
		if returned {
			return
		}
		switch r := recover(); {
		case r == errRefUnwind:
			res = refOut{kind: refReturned}
		case r != nil:
			res = refOut{kind: refPanicked, val: r}
		}
	}()
	res = refOut{kind: refReturned, out: c.body(c, in)}
	returned = true
	return res
}

func (c *refCo) Yield(out payload) int {
	if c.closing {
		panic(errRefUnwind)
	}
	c.toRes <- refOut{kind: refYielded, out: out}
	msg := <-c.toBody
	if msg.close {
		panic(errRefUnwind)
	}
	return msg.in
}

// ---- interpreter ----

type machine struct {
	b   backend
	p   *program
	cos []dCoro
	tr  []string
	// refuse holds the yields that the native engine refused, with the
	// value it panicked with: every backend panics with it instead of
	// yielding, so that the traces stay comparable.
	refuse map[*op]any
	// refused collects the refusals seen in this run.
	refused map[*op]any
}

// dctx is where ops run: in coroutine self's body (self >= 0) with its
// yielder, or outside any body.
type dctx struct {
	self int
	y    dYielder
}

func (c dctx) who() string {
	if c.self < 0 {
		return "main"
	}
	return "co" + strconv.Itoa(c.self)
}

func (m *machine) log(format string, args ...any) {
	m.tr = append(m.tr, fmt.Sprintf(format, args...))
}

func runProgram(b backend, p *program, refuse map[*op]any) (trace []string, refused map[*op]any) {
	m := &machine{b: b, p: p, cos: make([]dCoro, len(p.cos)), refuse: refuse, refused: map[*op]any{}}
	for i := range p.cos {
		m.cos[i] = b.new(m.body(i))
	}
	pc := 0
	for pc < len(p.driver) {
		if m.runG(func() {
			for pc < len(p.driver) {
				o := &p.driver[pc]
				pc++
				m.step(dctx{self: -1}, o)
			}
		}) {
			m.log("main goexit")
		}
	}
	for i, c := range m.cos {
		if m.runG(func() { m.log("final close co%d: %s", i, showErr(c.Close())) }) {
			m.log("final close co%d goexit", i)
		}
	}
	for i, c := range m.cos {
		m.log("final status co%d %v", i, c.Status())
	}
	return m.tr, m.refused
}

func (m *machine) body(i int) func(dYielder, int) payload {
	return func(y dYielder, in int) payload {
		m.log("co%d start in=%d, statuses %s", i, in, m.statuses())
		m.exec(dctx{self: i, y: y}, m.p.cos[i])
		m.log("co%d end", i)
		return mkPayload(1000 + i)
	}
}

// statuses lists the statuses of all coroutines.
func (m *machine) statuses() string {
	var b strings.Builder
	for i, c := range m.cos {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(c.Status().String())
	}
	return b.String()
}

// runG runs f on a fresh goroutine and waits; it reports whether the
// goroutine exited through runtime.Goexit.
func (m *machine) runG(f func()) (goexited bool) {
	done := make(chan bool)
	go func() {
		ok := false
		defer func() {
			if !ok {
				if r := recover(); r != nil {
					m.log("goroutine panic: %s", showValue(r))
					ok = true
				}
			}
			done <- !ok
		}()
		f()
		ok = true
	}()
	return <-done
}

func (m *machine) exec(c dctx, ops []op) {
	for i := range ops {
		m.step(c, &ops[i])
	}
}

func (m *machine) step(c dctx, o *op) {
	switch o.kind {
	case opYield:
		if c.self < 0 {
			return
		}
		if v, ok := m.refuse[o]; ok {
			panic(v)
		}
		in := m.yield(c, o)
		m.log("co%d yielded %d, resumed with %d", c.self, o.val, in)
	case opCall:
		m.call(c, o)
	case opResume:
		m.around(c, o, func() {
			out, done, err := m.cos[o.target].Resume(o.val)
			m.log("%s resume co%d(%d) = %v %v %s", c.who(), o.target, o.val, out, done, showErr(err))
		})
	case opClose:
		m.around(c, o, func() {
			err := m.cos[o.target].Close()
			m.log("%s close co%d = %s", c.who(), o.target, showErr(err))
		})
	case opStatus:
		m.log("%s status co%d = %v, all %s", c.who(), o.target, m.cos[o.target].Status(), m.statuses())
	case opPanic:
		if c.self < 0 {
			return
		}
		m.log("co%d panic %d", c.self, o.val)
		panic(panicValue(o.val))
	case opGoexit:
		m.log("%s goexit", c.who())
		runtime.Goexit()
	case opGC:
		runtime.GC()
	}
}

// yield yields, noting a refusal by the engine.
func (m *machine) yield(c dctx, o *op) int {
	defer func() {
		if r := recover(); r != nil {
			if isRefusal(r) {
				m.refused[o] = r
			}
			panic(r)
		}
	}()
	return c.y.Yield(mkPayload(o.val))
}

// isRefusal reports whether a panic value is the native engine refusing a
// yield it cannot handle (see misuse_test.go).
func isRefusal(r any) bool {
	s, ok := r.(string)
	return ok && strings.Contains(s, "not supported on the native engine")
}

// around runs f at o.depth frames below the current one, possibly on a
// fresh goroutine.
func (m *machine) around(c dctx, o *op, f func()) {
	if o.spawn {
		if m.runG(func() { diffAtDepth(o.depth, f) }) {
			m.log("%s: spawned goroutine goexit", c.who())
		}
		return
	}
	diffAtDepth(o.depth, f)
}

//go:noinline
func diffAtDepth(d int, f func()) {
	if d <= 0 {
		f()
		return
	}
	var pad [12]uintptr
	pad[d%12] = uintptr(d)
	diffAtDepth(d-1, f)
	if pad[d%12] != uintptr(d) {
		panic("diffAtDepth: frame corrupted")
	}
}

func (m *machine) call(c dctx, o *op) {
	switch o.shape {
	case shapeScalars:
		m.frameScalars(c, o)
	case shapeArray:
		m.frameArray(c, o)
	case shapeHeap:
		m.frameHeap(c, o)
	case shapeBig:
		m.frameBig(c, o)
	case shapeRecursive:
		m.frameRecursive(c, o, o.val%6)
	case shapeLoopDefers:
		m.frameLoopDefers(c, o)
	case shapeBranchy:
		m.frameBranchy(c, o, 2+o.val%11)
	case shapeDeep:
		m.frameDeep(c, o, 100+o.val*17)
	case shapeStackDefers:
		m.frameStackDefers(c, o, 1+o.val%40)
	}
}

// deferred is what a frame's deferred call does; r is what it recovered.
func (m *machine) deferred(c dctx, d *deferSpec, returned bool, r any) {
	if d.recover {
		rs := "nil"
		switch {
		case r == nil:
		case m.b.isClosing(r):
			rs = "closing"
		default:
			rs = showValue(r)
		}
		m.log("%s defer #%d returned=%v recovered %s", c.who(), d.id, returned, rs)
	} else {
		m.log("%s defer #%d returned=%v", c.who(), d.id, returned)
	}
	m.exec(c, d.ops)
}

//go:noinline
func (m *machine) frameScalars(c dctx, o *op) {
	returned := false
	if o.def != nil {
		defer func() {
			var r any
			if o.def.recover {
				r = recover()
			}
			m.deferred(c, o.def, returned, r)
		}()
	}
	a := int64(o.val) * 3
	f := float64(o.val) / 4
	s := strings.Repeat("x", o.val%5) + strconv.Itoa(o.val)
	var i any = o.val
	if o.val%3 == 0 {
		i = s
	}
	p := &a
	m.exec(c, o.ops)
	*p++
	m.log("%s ret scalars %d %v %s %v", c.who(), a, f, s, i)
	returned = true
}

type diffNode struct {
	next *diffNode
	v    int
}

//go:noinline
func sumArray(a *[16]int, s []int) int {
	n := 0
	for _, v := range a {
		n += v
	}
	for _, v := range s {
		n += v * 3
	}
	return n
}

//go:noinline
func (m *machine) frameArray(c dctx, o *op) {
	returned := false
	if o.def != nil {
		defer func() {
			var r any
			if o.def.recover {
				r = recover()
			}
			m.deferred(c, o.def, returned, r)
		}()
	}
	var arr [16]int
	for k := range arr {
		arr[k] = o.val + k
	}
	pa := &arr
	sl := pa[2:10]
	n1 := diffNode{v: o.val}
	n2 := diffNode{next: &n1, v: 2}
	n3 := diffNode{next: &n2, v: 3}
	m.exec(c, o.ops)
	pa[0]++
	sl[0]++
	m.log("%s ret array %d %d %d", c.who(), sumArray(pa, sl), n3.next.next.v, n3.next.v)
	returned = true
}

//go:noinline
func (m *machine) frameHeap(c dctx, o *op) {
	returned := false
	if o.def != nil {
		defer func() {
			var r any
			if o.def.recover {
				r = recover()
			}
			m.deferred(c, o.def, returned, r)
		}()
	}
	mp := map[int]string{o.val: "v", o.val + 1: "w"}
	xs := make([]int, o.val%7+1)
	for k := range xs {
		xs[k] = k * o.val
	}
	pl := mkPayload(o.val)
	pp := &pl
	var e error = fmt.Errorf("e%d", o.val)
	fn := func() int { return len(mp) + len(xs) + pp.N }
	m.exec(c, o.ops)
	m.log("%s ret heap %d %v %v %s %v", c.who(), fn(), mp, xs, pp, e)
	returned = true
}

//go:noinline
func (m *machine) frameBig(c dctx, o *op) {
	returned := false
	if o.def != nil {
		defer func() {
			var r any
			if o.def.recover {
				r = recover()
			}
			m.deferred(c, o.def, returned, r)
		}()
	}
	var big [6000]byte
	for k := range big {
		big[k] = byte(k + o.val)
	}
	m.exec(c, o.ops)
	sum := 0
	for k, b := range big {
		if b != byte(k+o.val) {
			sum = -1 << 20
		}
		sum += int(b)
	}
	m.log("%s ret big %d", c.who(), sum)
	returned = true
}

//go:noinline
func (m *machine) frameRecursive(c dctx, o *op, n int) {
	if n > 0 {
		x := [4]int{n, n * 2, n * 3, o.val}
		px := &x
		m.frameRecursive(c, o, n-1)
		m.log("%s ret recursive %d %v", c.who(), n, *px)
		return
	}
	returned := false
	if o.def != nil {
		defer func() {
			var r any
			if o.def.recover {
				r = recover()
			}
			m.deferred(c, o.def, returned, r)
		}()
	}
	m.exec(c, o.ops)
	returned = true
}

// frameBranchy recurses n levels, each through one of two call sites (by a
// bit of o.val): the chains of its yields differ in their return PCs, as a
// recursive generator's do.
//
//go:noinline
func (m *machine) frameBranchy(c dctx, o *op, n int) {
	if n > 0 {
		nd := &diffNode{v: n * o.val}
		if o.val>>(n%7)&1 == 0 {
			m.frameBranchy(c, o, n-1)
		} else {
			m.frameBranchy(c, o, n-1)
		}
		if nd.v != n*o.val {
			m.log("%s branchy frame %d corrupted", c.who(), n)
		}
		return
	}
	m.frameRecursive(c, o, 0)
	m.log("%s ret branchy %d", c.who(), o.val)
}

// frameDeep recurses n small frames before running the frame's ops.
//
//go:noinline
func (m *machine) frameDeep(c dctx, o *op, n int) int {
	if n > 0 {
		return m.frameDeep(c, o, n-1) + 1
	}
	m.frameRecursive(c, o, 0)
	m.log("%s ret deep %d", c.who(), o.val)
	return 0
}

// frameStackDefers recurses n levels, each with one pending deferred call
// whose record is stack-allocated (the function has too many returns for
// its defer to be open-coded), and runs the frame's ops at the bottom.
//
//go:noinline
func (m *machine) frameStackDefers(c dctx, o *op, n int) int {
	defer func() { m.log("%s stack defer %d", c.who(), n) }()
	switch {
	case n <= 0:
		m.frameRecursive(c, o, 0)
		return 0
	case n == 1:
		return m.frameStackDefers(c, o, 0) + 1
	case n == 2:
		return m.frameStackDefers(c, o, 1) + 1
	case n == 3:
		return m.frameStackDefers(c, o, 2) + 1
	case n == 4:
		return m.frameStackDefers(c, o, 3) + 1
	case n == 5:
		return m.frameStackDefers(c, o, 4) + 1
	case n == 6:
		return m.frameStackDefers(c, o, 5) + 1
	case n == 7:
		return m.frameStackDefers(c, o, 6) + 1
	case n == 8:
		return m.frameStackDefers(c, o, 7) + 1
	case n == 9:
		return m.frameStackDefers(c, o, 8) + 1
	case n == 10:
		return m.frameStackDefers(c, o, 9) + 1
	case n == 11:
		return m.frameStackDefers(c, o, 10) + 1
	case n == 12:
		return m.frameStackDefers(c, o, 11) + 1
	case n == 13:
		return m.frameStackDefers(c, o, 12) + 1
	case n == 14:
		return m.frameStackDefers(c, o, 13) + 1
	case n == 15:
		return m.frameStackDefers(c, o, 14) + 1
	}
	return m.frameStackDefers(c, o, n-1) + 1
}

//go:noinline
func (m *machine) frameLoopDefers(c dctx, o *op) {
	returned := false
	if o.def != nil {
		defer func() {
			var r any
			if o.def.recover {
				r = recover()
			}
			m.deferred(c, o.def, returned, r)
		}()
	}
	// Defers in a loop are never open-coded: the runtime links their
	// records from the goroutine.
	for k := range o.val%4 + 1 {
		defer func() { m.log("%s loop defer %d returned=%v", c.who(), k, returned) }()
	}
	m.exec(c, o.ops)
	returned = true
}

// ---- checking ----

var nativeNoted = false

// checkProgram runs the program generated from data on the reference model
// and on every available engine, and describes the first difference in
// their traces ("" if none). The portable trace is compared with the
// reference model, and the native one with the portable one.
//
// The native engine may refuse a yield it cannot handle with a panic (see
// isRefusal). The program then runs again, on every backend, with each
// refused yield replaced by that panic, until the native engine refuses no
// more; the traces must then be identical, and the runs in which the
// native engine refused must have the same trace as the final one.
func checkProgram(t testing.TB, data []byte) string {
	t.Helper()
	if err := sharedstack.Available(sharedstack.Native); err != nil && !nativeNoted {
		nativeNoted = true
		t.Logf("native engine unavailable (%v): comparing the portable engine with the reference model only", err)
	}
	p := generate(data)
	diffStats.programs++
	refuse := map[*op]any{}
	var native []string
	if sharedstack.Available(sharedstack.Native) == nil {
		// A run in which the engine refuses yields must not differ from
		// the final run, which panics in its place.
		var refusing [][]string
		for {
			tr, refused := runProgram(engineBackend(sharedstack.Native), p, refuse)
			if len(refused) == 0 {
				native = tr
				break
			}
			refusing = append(refusing, tr)
			for o, v := range refused {
				refuse[o] = v
			}
		}
		diffStats.refusedYields += len(refuse)
		if len(refuse) > 0 {
			diffStats.refusedPrograms++
		}
		for _, tr := range refusing {
			if d := traceDiff(native, tr); d != "" {
				return fmt.Sprintf("native engine: a refused yield is not like a panic at the yield\ninput: %q\nprogram:\n%s\n%s", data, p, d)
			}
		}
	}
	ref, _ := runProgram(refBackend, p, refuse)
	portable, _ := runProgram(engineBackend(sharedstack.Portable), p, refuse)
	d := traceDiff(ref, portable)
	what := "portable engine differs from the reference model"
	if d == "" && native != nil {
		d = traceDiff(portable, native)
		what = "native engine differs from the portable engine"
	}
	if d == "" {
		return ""
	}
	return fmt.Sprintf("%s\ninput: %q\nrefused yields: %d\nprogram:\n%s\n%s", what, data, len(refuse), p, d)
}

// diffStats counts what checkProgram saw, for the log.
var diffStats struct {
	programs, refusedPrograms, refusedYields int
}

func logDiffStats(t testing.TB) {
	if sharedstack.Available(sharedstack.Native) == nil {
		t.Logf("%d programs; the native engine refused %d yields in %d of them", diffStats.programs, diffStats.refusedYields, diffStats.refusedPrograms)
	}
}

func traceDiff(want, got []string) string {
	n := min(len(want), len(got))
	i := 0
	for i < n && want[i] == got[i] {
		i++
	}
	if i == len(want) && i == len(got) {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "first difference at event %d (want %d events, got %d)\n", i, len(want), len(got))
	for k := max(0, i-8); k < i; k++ {
		fmt.Fprintf(&b, "   %s\n", want[k])
	}
	for k := i; k < min(len(want), i+6); k++ {
		fmt.Fprintf(&b, " - %s\n", want[k])
	}
	for k := i; k < min(len(got), i+6); k++ {
		fmt.Fprintf(&b, " + %s\n", got[k])
	}
	return b.String()
}

func seedData(seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x636f737461636b))
	data := make([]byte, 256+r.IntN(1200))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	return data
}

// TestDifferentialRandom runs a fixed set of random programs.
func TestDifferentialRandom(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 100
	}
	diffStats.programs, diffStats.refusedPrograms, diffStats.refusedYields = 0, 0, 0
	defer logDiffStats(t)
	for seed := range uint64(n) {
		if d := checkProgram(t, seedData(seed)); d != "" {
			t.Fatalf("seed %d: %s", seed, d)
		}
	}
}

// TestDifferentialSoak runs random programs for COSTACK_SOAK (a
// time.ParseDuration string); it is skipped when that is unset.
func TestDifferentialSoak(t *testing.T) {
	env := os.Getenv("COSTACK_SOAK")
	if env == "" {
		t.Skip("set COSTACK_SOAK=<duration> to run random programs for that long")
	}
	d, err := time.ParseDuration(env)
	if err != nil {
		t.Fatalf("COSTACK_SOAK=%q: %v", env, err)
	}
	base := uint64(time.Now().UnixNano())
	t.Logf("soak for %v, seeds from %d", d, base)
	diffStats.programs, diffStats.refusedPrograms, diffStats.refusedYields = 0, 0, 0
	defer logDiffStats(t)
	deadline := time.Now().Add(d)
	n := 0
	for time.Now().Before(deadline) {
		if d := checkProgram(t, seedData(base+uint64(n))); d != "" {
			t.Fatalf("seed %d: %s", base+uint64(n), d)
		}
		n++
	}
	t.Logf("%d programs", n)
}

// TestDifferentialSeesFaults is a negative control: an engine that gets one
// value wrong in fifty yields must be caught.
func TestDifferentialSeesFaults(t *testing.T) {
	n := 0
	faulty := engineBackend(sharedstack.Portable)
	portableNew := faulty.new
	faulty.new = func(body func(dYielder, int) payload) dCoro {
		return portableNew(func(y dYielder, in int) payload {
			return body(faultyYielder{y, &n}, in)
		})
	}
	caught := 0
	for seed := range uint64(100) {
		p := generate(seedData(seed))
		want, _ := runProgram(refBackend, p, nil)
		got, _ := runProgram(faulty, p, nil)
		if traceDiff(want, got) != "" {
			caught++
		}
	}
	assert.Positive(t, caught)
}

type faultyYielder struct {
	y dYielder
	n *int
}

func (f faultyYielder) Yield(out payload) int {
	*f.n++
	in := f.y.Yield(out)
	if *f.n%50 == 0 {
		in++
	}
	return in
}

// TestDifferentialCoverage checks that the generator's programs do what it
// promises, so that a change to it cannot quietly make them trivial.
func TestDifferentialCoverage(t *testing.T) {
	want := []string{
		" yielded ", " true nil", "ErrDead", "ErrRunning", "PanicError(", "is-sentinel=true",
		"recovered closing", "recovered a panic", " goexit", "loop defer", "ret big", "ret array",
		"ret heap", "ret scalars", "ret recursive", "spawned goroutine goexit", "normal",
		"= suspended", "co0 resume co1", "returned=false",
	}
	seen := map[string]int{}
	events := 0
	for seed := range uint64(200) {
		tr, _ := runProgram(engineBackend(sharedstack.Portable), generate(seedData(seed)), nil)
		events += len(tr)
		for _, e := range tr {
			if strings.Contains(e, " recovered ") && !strings.Contains(e, "recovered nil") && !strings.Contains(e, "recovered closing") {
				seen["recovered a panic"]++
			}
			for _, w := range want {
				if strings.Contains(e, w) {
					seen[w]++
				}
			}
		}
	}
	t.Logf("%d events: %v", events, seen)
	for _, w := range want {
		assert.Positive(t, seen[w], "no %q in 200 programs", w)
	}
}

func FuzzDifferential(f *testing.F) {
	for seed := range uint64(16) {
		f.Add(seedData(1000 + seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if d := checkProgram(t, data); d != "" {
			t.Fatal(d)
		}
	})
}

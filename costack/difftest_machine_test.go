package costack

// The interpreter of the differential tests (see difftest_test.go): it runs
// a program on a backend and records its trace.

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
)

type machine struct {
	b   backend
	p   *program
	cos []dCoro
	tr  []string
	// refuse holds the yields that the refusing engine (refusingEngine)
	// refused, with the value it panicked with: every backend panics with
	// it instead of yielding, so that the traces stay comparable.
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

// isRefusal reports whether a panic value is the native engine, or the
// portable one in strict mode, refusing a yield that the native engine
// cannot handle (see misuse_test.go and refusal_test.go).
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

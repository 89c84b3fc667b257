//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package engine

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"unsafe"

	"github.com/costack-dev/costack/internal/rt"
)

// nativeProbe checks every layout and assumption of the native engine
// against the running program (I6): any disagreement selects the portable
// engine with the reason.
func nativeProbe() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("native self-check panicked: %v", r)
		}
	}()
	// _func and moduledata: entry, name, flags and args size of known
	// functions agree with the runtime's exported view.
	for _, fn := range []any{probeLeaf, run, haveRoom} {
		pc := reflect.ValueOf(fn).Pointer()
		f := rt.FindFunc(pc)
		rf := runtime.FuncForPC(pc)
		if !f.Valid() || rf == nil || f.Entry() != rf.Entry() || f.Entry() != pc {
			return errors.New("runtime function table layout mismatch (_func/moduledata)")
		}
		if f.Flag()&rt.FlagAsm != 0 {
			return errors.New("runtime function flags mismatch")
		}
	}
	for _, a := range []struct {
		pc   uintptr
		args int32
	}{{enterPC(), 8}, {yieldSwitchPC(), 8}} {
		f := rt.FindFunc(a.pc)
		if !f.Valid() || f.Entry() != a.pc || f.Args() != a.args || f.Flag()&rt.FlagAsm == 0 ||
			f.Flag()&rt.FlagSPWrite != 0 || !strings.HasSuffix(funcName(a.pc), "engine.enter") && !strings.HasSuffix(funcName(a.pc), "engine.yieldSwitch") {
			return errors.New("runtime function table mismatch for the engine's assembly")
		}
	}
	// g: the stack bounds contain a local; no panic, no defer pending here
	// that the layout would misread.
	var local uintptr
	gp := rt.GetG()
	if a := uintptr(unsafe.Pointer(&local)); a < gp.StackLo || a >= gp.StackHi || gp.StackHi-gp.StackLo < 2048 || gp.StackGuard0 < gp.StackLo {
		return errors.New("goroutine layout mismatch (g.stack)")
	}
	if gp.StackHi-gp.StackLo > 1<<30 || (gp.StackHi-gp.StackLo)&(gp.StackHi-gp.StackLo-1) != 0 {
		return errors.New("goroutine layout mismatch (g.stack size)")
	}
	// Open-coded defers: the engine relies on run's defer living in its
	// frame, not in a record linked from g. Builds with -N (debuggers)
	// don't open-code defers: use the portable engine there.
	if rt.FindFunc(reflect.ValueOf(run).Pointer()).FuncData(rt.FuncDataOpenCodedDeferInfo) == nil {
		return errors.New("defers are not open-coded (optimizations disabled, e.g. -gcflags=-N)")
	}
	if d := probeDefer(); d != nil {
		return errors.New("defers are not open-coded: " + d.Error())
	}
	// Heap defer records (loop defers): the engine detaches and relinks
	// them (I5), so their layout must be the one mirrored in rt.Defer.
	if err := probeDeferRecords(); err != nil {
		return err
	}
	// Stack maps of a known frame: probeFrame keeps one live heap pointer
	// and one address-taken object across a call.
	if err := probeMaps(); err != nil {
		return err
	}
	// The entry frame's size (amd64: run's) and where the body's Run is
	// in a Body's method table (startBody calls it from there).
	if err := initEntry(); err != nil {
		return err
	}
	if err := probeFuncIDs(); err != nil {
		return err
	}
	if err := probeBodyRunSlot(); err != nil {
		return err
	}
	// Finally run a coroutine: yield two calls deep with heap data and
	// stack objects pointing at each other, resume from another depth
	// (relocation) and check every value.
	return probeRun()
}

//go:noinline
func probeLeaf(a, b, c int) int { return a*b + c }

// probeFuncIDs checks the rt.FuncID mirror (decodeFrame refuses runtime
// switches by FuncID) on a function the runtime marks: the bottom frame of
// every goroutine, runtime.goexit.
func probeFuncIDs() error {
	pcs := make([]uintptr, 64)
	pcs = pcs[:runtime.Callers(0, pcs)]
	if len(pcs) == 0 {
		return errors.New("native self-check: no frames")
	}
	pc := pcs[len(pcs)-1]
	f := rt.FindFunc(pc - 1)
	if funcName(pc-1) != "runtime.goexit" || f.FuncID() != rt.FuncIDGoexit {
		return fmt.Errorf("runtime function ID mismatch (%s: %d)", funcName(pc-1), f.FuncID())
	}
	if g := rt.FindFunc(reflect.ValueOf(probeLeaf).Pointer()); g.FuncID() != rt.FuncIDNormal {
		return errors.New("runtime function ID mismatch (a normal function)")
	}
	return nil
}

// probeDefer checks that a defer in a simple function leaves no record on g.
//
//go:noinline
func probeDefer() (err error) {
	x := 0
	defer func() { x++ }()
	if d := rt.GetG().Defer; d != nil && d.SP-uintptr(unsafe.Pointer(&err)) < 4096 {
		return errors.New("defer record on g")
	}
	return nil
}

// probeDeferRecords checks the rt.Defer mirror against records the runtime
// made for defers in a loop (never open-coded, always heap records): two
// records in front of the chain, innermost first, with the deferring
// frame's sp, a pc inside this function, the deferred func values, and the
// link from the second to the first, then the previous head.
//
//go:noinline
func probeDeferRecords() (err error) {
	gp := rt.GetG()
	prev := gp.Defer
	var fns [2]func()
	x := 0
	fns[0] = func() { x += 1 }
	fns[1] = func() { x += 2 }
	for i := 0; i < 2; i++ {
		defer fns[i]()
	}
	d1 := gp.Defer
	if d1 == nil || d1.Link == nil {
		return errors.New("defer record layout mismatch (no records on g)")
	}
	d0 := d1.Link
	// Every call first: a call may move the stack (the records' sp move
	// with it, a uintptr taken before would not), so the address of local
	// and the bounds are read after the last one.
	fv := func(f func()) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&f)) }
	self := rt.FindFunc(reflect.ValueOf(probeDeferRecords).Pointer()).Entry()
	recs := [2]*rt.Defer{d0, d1}
	var entries [2]uintptr
	var fnvs [2]unsafe.Pointer
	for i, d := range recs {
		entries[i], fnvs[i] = rt.FindFunc(d.PC).Entry(), fv(fns[i])
	}
	var local uintptr
	lp := uintptr(unsafe.Pointer(&local))
	for i, d := range recs {
		if !d.Heap || d.Rangefunc || d.Head != nil || d.Fn != fnvs[i] ||
			d.SP > lp || lp-d.SP > 4096 || d.SP-gp.StackLo >= gp.StackHi-gp.StackLo ||
			entries[i] != self {
			return fmt.Errorf("defer record layout mismatch (record %d)", i)
		}
	}
	if d0.Link != prev || d0.SP != d1.SP {
		return errors.New("defer record layout mismatch (link/sp)")
	}
	return nil
}

// probeBodyRunSlot checks bodyRunSlot, where startBody finds the body's
// Run: Body's methods in the order a method table lists them (sorted by
// name), and in a known Body's table the code of its Run method.
func probeBodyRunSlot() error {
	bt := reflect.TypeFor[Body]()
	if bt.NumMethod() != 2 || bt.Method((bodyRunSlot-24)/8).Name != "Run" {
		return errors.New("the method order of Body is not the one beginBody expects")
	}
	b := Body(new(funcCoroutine))
	tab := (*iface)(unsafe.Pointer(&b)).tab
	if *(*uintptr)(unsafe.Add(tab, bodyRunSlot)) != reflect.ValueOf((*funcCoroutine).Run).Pointer() {
		return errors.New("method table layout mismatch (runtime.itab)")
	}
	return nil
}

// probeMaps checks the pc-value decoder on a known function: a leaf that
// allocates no frame has pcsp 0 everywhere, and its args size is that of
// its parameters' spill area (3 ints; results travel in registers).
func probeMaps() error {
	pc := reflect.ValueOf(probeLeaf).Pointer()
	f := rt.FindFunc(pc)
	if spd, ok := f.SPDelta(pc); !ok || spd != 0 {
		return errors.New("pc-value table mismatch (pcsp at entry)")
	}
	if f.Args() != 24 {
		return fmt.Errorf("args size mismatch for a known function: %d", f.Args())
	}
	return nil
}

type probeNode struct {
	next *probeNode
	data *[4]int
	s    string
}

func probeRun() error {
	var got []int
	o := new(funcCoroutine)
	c := &o.c
	o.f = func() {
		var a, b probeNode
		a.next, b.next = &b, &a
		a.data, b.data = &[4]int{1, 2, 3, 4}, &[4]int{5, 6, 7, 8}
		a.s = strings.Repeat("x", 3)
		for i := 0; i < 3; i++ {
			probeDeep(c, 2, &a)
			got = append(got, a.next.next.data[i]+b.next.data[3]+len(a.s))
		}
	}
	c.setup(Native, o, unsafe.Sizeof(*o))
	c.Resume()
	// The chain of that yield: the known frames, in order, with the body's
	// two address-taken nodes as stack objects.
	ch, why := c.n.imageChain()
	if why != "" {
		return errors.New("native self-check: " + why)
	}
	defer putChain(ch)
	deep := 0
	for _, f := range ch.frames {
		if strings.HasSuffix(funcName(f.info.pc), "engine.probeDeep") {
			deep++
		}
	}
	if deep != 3 || ch.nobjs < 2 || ch.ptrs == 0 || !ch.frames[len(ch.frames)-1].info.entry {
		return errors.New("native self-check: unexpected frame shape at a known yield site")
	}
	for d := 1; !c.Finished(); d++ {
		probeResumeAt(c, d*7)
	}
	if fmt.Sprint(got) != "[8 9 10]" {
		return fmt.Errorf("native self-check: wrong values %v", got)
	}
	return nil
}

//go:noinline
func probeDeep(c *Coroutine, d int, p *probeNode) {
	var x [3]*probeNode
	x[0] = p
	if d > 0 {
		probeDeep(c, d-1, x[0])
		return
	}
	c.Yield()
	runtime.KeepAlive(x[0])
}

//go:noinline
func probeResumeAt(c *Coroutine, depth int) {
	var pad [64]byte
	if depth > 0 {
		probeResumeAt(c, depth-1)
		pad[depth%64] = 1
		return
	}
	c.Resume()
}

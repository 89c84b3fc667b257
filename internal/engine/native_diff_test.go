package engine

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Differential testing: random coroutine programs (nested calls, yields at
// random depths, panics, recovers, deferred calls, nested coroutines,
// Close at random points, resumes from random depths) must produce the same
// trace on the native engine as on the portable one, the oracle.

type diffOp struct {
	kind int // diffYield ... diffInner
	n    int
	sub  []diffOp
}

const (
	diffYield = iota
	diffCall
	diffPanic
	diffRecover
	diffDefer
	diffInner
)

func genDiff(r *rand.Rand, depth int) []diffOp {
	ops := make([]diffOp, r.IntN(6))
	for i := range ops {
		o := diffOp{kind: diffYield, n: r.IntN(4)}
		switch k := r.IntN(10); {
		case k == 4 && depth < 4:
			o = diffOp{kind: diffCall, sub: genDiff(r, depth+1)}
		case k == 5 && depth < 4:
			o = diffOp{kind: diffRecover, sub: genDiff(r, depth+1)}
		case k == 6 && depth < 4:
			o = diffOp{kind: diffDefer, sub: genDiff(r, depth+1)}
		case k == 7 && depth < 2:
			o = diffOp{kind: diffInner, sub: genDiff(r, depth+1)}
		case k == 8 && r.IntN(2) == 0:
			o = diffOp{kind: diffPanic, n: r.IntN(100)}
		}
		ops[i] = o
	}
	return ops
}

type diffRun struct {
	k  Kind
	tr []string
}

func (d *diffRun) log(format string, args ...any) { d.tr = append(d.tr, fmt.Sprintf(format, args...)) }

//go:noinline
func (d *diffRun) interp(c *Coroutine, ops []diffOp, id string) {
	for i, o := range ops {
		id := fmt.Sprintf("%s%d", id, i)
		switch o.kind {
		case diffYield:
			d.log("%s:yield", id)
			yieldAt(c, o.n)
		case diffCall:
			d.interp(c, o.sub, id+".")
		case diffPanic:
			panic(fmt.Sprintf("%s:panic%d", id, o.n))
		case diffRecover:
			d.recoverBlock(c, o.sub, id)
		case diffDefer:
			d.deferBlock(c, o.sub, id)
		case diffInner:
			d.innerBlock(c, o.sub, id)
		}
	}
}

//go:noinline
func (d *diffRun) recoverBlock(c *Coroutine, ops []diffOp, id string) {
	defer func() {
		if r := recover(); r != nil {
			if IsUnwind(r) {
				panic(r)
			}
			d.log("%s:recovered %v", id, r)
		}
	}()
	d.interp(c, ops, id+"r")
}

//go:noinline
func (d *diffRun) deferBlock(c *Coroutine, ops []diffOp, id string) {
	defer d.log("%s:deferred", id)
	d.interp(c, ops, id+"d")
}

//go:noinline
func (d *diffRun) innerBlock(c *Coroutine, ops []diffOp, id string) {
	var inner *Coroutine
	inner, _ = NewOn(d.k, func() { d.interp(inner, ops, id+"i") })
	defer func() {
		if p := closeP(inner); p != nil {
			d.log("%s:inner close panicked %v", id, p.Value)
		}
	}()
	for !inner.Finished() {
		o, p := inner.Resume()
		d.log("%s:inner %v %v", id, o, panicValue(p))
		yieldAt(c, 1)
	}
}

func panicValue(p *Panic) any {
	if p == nil {
		return nil
	}
	return p.Value
}

func runDiff(k Kind, prog []diffOp, seed uint64) []string {
	d := &diffRun{k: k}
	var c *Coroutine
	c, err := NewOn(k, func() { d.interp(c, prog, "") })
	if err != nil {
		panic(err)
	}
	r := rand.New(rand.NewPCG(seed, 99))
	closeAt := r.IntN(20)
	for i := 0; !c.Finished(); i++ {
		if i == closeAt && c.Started() {
			d.log("close %v", panicValue(closeP(c)))
			break
		}
		o, p := resumeAt(c, r.IntN(6))
		d.log("resume %v %v", o, panicValue(p))
	}
	return d.tr
}

func checkDiff(t *testing.T, seed uint64) {
	prog := genDiff(rand.New(rand.NewPCG(seed, 1)), 0)
	want := runDiff(Portable, prog, seed)
	got := runDiff(Native, prog, seed)
	require.Equal(t, want, got, "seed %d", seed)
}

func TestEnginesAgree(t *testing.T) {
	if Available(Native) != nil {
		t.Skip("native engine unavailable:", Available(Native))
	}
	n := uint64(3000)
	if testing.Short() {
		n = 300
	}
	for seed := uint64(0); seed < n; seed++ {
		checkDiff(t, seed)
	}
	// Long mode: COSTACK_SOAK=10m keeps generating programs.
	if d, _ := time.ParseDuration(os.Getenv("COSTACK_SOAK")); d > 0 {
		for seed, end := n, time.Now().Add(d); time.Now().Before(end); seed++ {
			checkDiff(t, seed)
		}
	}
}

func FuzzEnginesAgree(f *testing.F) {
	if Available(Native) != nil {
		f.Skip("native engine unavailable:", Available(Native))
	}
	for s := uint64(0); s < 8; s++ {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) { checkDiff(t, seed) })
}

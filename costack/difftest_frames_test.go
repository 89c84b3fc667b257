package costack

// The frame shapes of the differential tests' calls (opCall, see
// difftest_test.go): each checks its own locals when it returns.

import (
	"fmt"
	"strconv"
	"strings"
)

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

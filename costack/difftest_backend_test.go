package costack

// The backends the differential tests run a program on (see
// difftest_test.go): each engine, and the reference model built on
// goroutines and channels.

import (
	"errors"
	"runtime"

	"github.com/costack-dev/costack/internal/engine"
	"github.com/costack-dev/costack/internal/gls"
)

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

func engineBackend(k engine.Kind) backend {
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

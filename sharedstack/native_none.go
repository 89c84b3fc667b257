//go:build !(linux && (amd64 || arm64) && go1.26 && !go1.28 && !race)

package sharedstack

import "unsafe"

// Where there is no native engine, Coroutine still has its native field
// (with what Init records), and every coroutine is portable.

type native struct {
	size     uint32 // always 0: no image
	ownerLen uint32 // recorded, unused
	phase    phase
	closing  bool
	unwinds  bool
	outcome  Outcome
	portable bool           // always: every coroutine is portable
	aux      unsafe.Pointer // the *Panic the body ended with
	port     *portable
}

func (n *native) portState() *portable { return n.port }

func (n *native) setPortState(p *portable) { n.portable, n.port = true, p }

func (*native) release()                  {}
func (*native) footprint() int            { return 0 }
func (*native) closesWithoutUnwind() bool { return false }
func (*native) prepareResume() bool       { return true }

// startBody starts the body for run; continueBody is never needed.
var startBody, continueBody = func(c *Coroutine) { c.bodyOutOfLine().Run() }, (func(*Coroutine))(nil)

func enter(n *native) {
	if n.phase >= active {
		badResume(n)
	}
	n.phase = active
	portableResume(n)
}
func yieldSwitch(n *native) { portableSuspend(n) }

// YieldOrUnwind is c.YieldOrUnwind() as a function (see native.go: on the
// native engine it is the switch, in assembly).
func YieldOrUnwind(c *Coroutine) {
	c.n.unwinds = true
	portableSuspend(&c.n)
}

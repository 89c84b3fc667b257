//go:build !(linux && (amd64 || arm64) && go1.26 && !go1.28 && !race)

package engine

// Where there is no native engine, Coroutine still has its native field
// (with what InitOwned records), and every coroutine is portable.

type native struct {
	size     uint32 // always 0: no image
	ownerLen uint32 // recorded, unused
	phase    uint32 // Phase, changed atomically
	noYield  uint16
	closing  bool
	unwinds  bool
	outcome  Outcome
	portable bool   // always: every coroutine is portable
	ended    *Panic // the panic the body ended with
	port     *portable
	parent   *native
}

func (n *native) portState() *portable { return n.port }

func (n *native) setPortState(p *portable) { n.portable, n.port = true, p }

func (*native) release()                              {}
func (*native) footprint() int                        { return 0 }
func (*native) closesWithoutUnwind() bool             { return false }
func (*native) prepareResume() bool                   { return true }
func (*native) appendCallers(pcs []uintptr) []uintptr { return pcs }

// startBody starts the body for run; continueBody is never needed.
var startBody, continueBody = func(c *Coroutine) { c.bodyOutOfLine().Run() }, (func(*Coroutine))(nil)

func enter(n *native)       { portableResume(n) }
func yieldSwitch(n *native) { portableSuspend(n) }

// YieldOrUnwind is Yield, except that if c is being closed, or is closed
// while suspended, the body unwinds from here (see native.go: on the native
// engine it is the switch, in assembly).
func YieldOrUnwind(c *Coroutine) {
	c.n.unwinds = true
	portableSuspend(&c.n)
}

// pushInRun: no native engine, nothing for run to push.
const pushInRun = false

// HostAdvised is always false: there is no native image to move.
func (c *Coroutine) HostAdvised() bool { return false }

// Host reports false: every coroutine runs on a goroutine of its own
// already.
func (c *Coroutine) Host() bool { return false }

// hostMove never exists without the native engine.
type hostMove struct{}

func hostRun(*Coroutine, *portable) { panic("costack: hostRun without a native engine") }

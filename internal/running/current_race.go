//go:build race

package running

import "sync/atomic"

// currentCo holds a goroutine's current coroutine. Under the race detector
// it is atomic: a gls cell is inherited by the next goroutine that reuses
// the runtime g, and the detector does not see the runtime's ordering
// between a goroutine that exited (say, a pool worker that called
// Waker.Wake during a tick, reading its cell) and the new goroutine that
// writes the cell; atomic accesses are never reported.
type currentCo struct{ p atomic.Pointer[Co] }

func (c *currentCo) load() *Co   { return c.p.Load() }
func (c *currentCo) store(p *Co) { c.p.Store(p) }

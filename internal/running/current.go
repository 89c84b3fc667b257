//go:build !race

package running

// currentCo holds a goroutine's current coroutine. Only the goroutine that
// owns the cell touches it, so a plain pointer does.
type currentCo struct{ p *Co }

func (c *currentCo) load() *Co   { return c.p }
func (c *currentCo) store(p *Co) { c.p = p }

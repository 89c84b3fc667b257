package interop

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// PoolOption configures a [Pool] made by [NewPool].
type PoolOption interface {
	apply(*poolConfig)
}

// poolConfig is what the options set; NewPool fills in the defaults.
type poolConfig struct {
	size int
}

type poolSize int

func (n poolSize) apply(c *poolConfig) { c.size = int(n) }

// PoolSize sets the most calls the pool runs at once, its number of
// workers (later, [Pool.SetSize] changes it). It panics if n < 1.
func PoolSize(n int) PoolOption {
	if n < 1 {
		panic(fmt.Sprintf("interop: PoolSize(%d): a pool needs at least one worker", n))
	}
	return poolSize(n)
}

// ErrDefaultPoolInUse is the error of [SetDefaultPool] once the default
// pool is fixed: set already, or used by [DefaultPool], [Block], [Start] or
// [BlockYield].
var ErrDefaultPoolInUse = errors.New("interop: SetDefaultPool after the default pool was set or first used")

// defaultPool is the pool DefaultPool returns, nil until it is set or
// first used; it never changes after that.
var defaultPool atomic.Pointer[Pool]

// DefaultPool returns the pool that [Block], [Start] and [BlockYield] use:
// the one given to [SetDefaultPool], or else one made with [NewPool]'s
// defaults at the first use. Its workers exit when it is idle, so it needs
// no Close; closing it is permanent, and later calls on it fail with
// [ErrClosed].
func DefaultPool() *Pool {
	if p := defaultPool.Load(); p != nil {
		return p
	}
	// A pool holds no goroutines until it is used, so the one that loses
	// a race with another first use, or with SetDefaultPool, is garbage.
	defaultPool.CompareAndSwap(nil, NewPool())
	return defaultPool.Load()
}

// SetDefaultPool makes p the pool that [Block], [Start] and [BlockYield]
// use, for example a larger one:
//
//	if err := interop.SetDefaultPool(interop.NewPool(interop.PoolSize(1024))); err != nil { ... }
//
// It must come before the default pool's first use: call it from main, or
// from an init function, before anything can call Block, Start, BlockYield
// or [DefaultPool]. Once the default pool is fixed — set by an earlier
// SetDefaultPool, or made at its first use — SetDefaultPool changes nothing
// and returns [ErrDefaultPoolInUse]: calls submitted to the default pool
// are never split across two pools, and no one else's pool is replaced
// beneath them. To change the size of the pool in use, call
// DefaultPool().SetSize. SetDefaultPool is safe for concurrent use, and
// panics if p is nil.
func SetDefaultPool(p *Pool) error {
	if p == nil {
		panic("interop: SetDefaultPool(nil)")
	}
	if !defaultPool.CompareAndSwap(nil, p) {
		return ErrDefaultPoolInUse
	}
	return nil
}

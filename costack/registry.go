package costack

import (
	"maps"
	"slices"
	"sync"
	"weak"
)

// The registry is how WriteProfile finds every suspended coroutine of the
// process without costing the hot paths anything. A coroutine that never
// suspends is never in it. One that suspends is on the young list
// (drop.go, held strongly) until the next collection; adopt then gives it
// its finalizer and registers it here, and its finalizer (dropped) unregisters
// it. The registry holds the coroutine's state (core), never its handle,
// and the state does not reach the handle: so it never keeps a handle
// alive, and a dropped handle is still noticed. A coroutine that finishes
// stays registered until its handle is collected (WriteProfile skips it).
//
// Only the runtime's cleanup and finalizer goroutines and WriteProfile take
// the lock: no coroutine, Resume or tick ever waits for it.
var registry struct {
	sync.Mutex
	cores map[*core]struct{}
	// peak is the most entries cores has held since it was made: a Go map
	// never shrinks, so once it holds a quarter of that, it is copied to
	// one that fits (a million coroutines dropped give their entries'
	// memory back).
	peak int
	// schedulers: every Scheduler made, weakly (there are few).
	schedulers []weak.Pointer[Scheduler]
}

// register records adopted handles' coroutines (see adopt).
func register(hs []handleOf) {
	if len(hs) == 0 {
		return
	}
	registry.Lock()
	if registry.cores == nil {
		registry.cores = map[*core]struct{}{}
	}
	for _, h := range hs {
		registry.cores[h.core()] = struct{}{}
	}
	registry.peak = max(registry.peak, len(registry.cores))
	registry.Unlock()
}

// unregister removes c, from its handle's finalizer.
func unregister(c *core) {
	registry.Lock()
	delete(registry.cores, c)
	if n := len(registry.cores); registry.peak > 1024 && n < registry.peak/4 {
		fit := make(map[*core]struct{}, n) // not maps.Clone, which copies the tables at their size
		for c := range registry.cores {
			fit[c] = struct{}{}
		}
		registry.cores, registry.peak = fit, n
	}
	registry.Unlock()
}

// registered returns every registered coroutine and every young one: all
// that have suspended and whose handles have not been collected. A handle
// that adopt is moving from the young list to the registry at that moment
// may be in neither (never in both): a profile can miss it, once.
func registered() []*core {
	registry.Lock()
	cores := slices.Collect(maps.Keys(registry.cores))
	registry.Unlock()
	young.Lock()
	for _, h := range young.handles {
		cores = append(cores, h.core())
	}
	young.Unlock()
	return cores
}

// registerScheduler records s for WriteProfile.
func registerScheduler(s *Scheduler) {
	registry.Lock()
	live := registry.schedulers[:0]
	for _, p := range registry.schedulers {
		if p.Value() != nil {
			live = append(live, p)
		}
	}
	registry.schedulers = append(live, weak.Make(s))
	registry.Unlock()
}

// schedulers returns the Schedulers not collected.
func schedulers() []*Scheduler {
	registry.Lock()
	defer registry.Unlock()
	var out []*Scheduler
	for _, p := range registry.schedulers {
		if s := p.Value(); s != nil {
			out = append(out, s)
		}
	}
	return out
}

package costack

import (
	"sync"
	"unsafe"
	"weak"
)

// The registry is how WriteProfile finds every suspended coroutine of the
// process without costing the hot paths anything. A coroutine that never
// suspends is never in it. One that suspends is on the young list
// (drop.go, held strongly) until the next collection; adopt then gives it
// its finalizer and registers it here by address, and its finalizer
// (dropped) unregisters it. So the registry never keeps a coroutine alive,
// and every address in it is of a live handle: the collector frees an
// object with a finalizer only after the finalizer has run, and the
// finalizer removes the address first, under the registry's lock, which
// readers hold while they turn addresses into pointers.
//
// Only the runtime's cleanup and finalizer goroutines and WriteProfile take
// the lock: no coroutine, Resume or tick ever waits for it.
var registry struct {
	sync.Mutex
	cores map[uintptr]struct{}
	// peak is the most entries cores has held since it was made: a Go map
	// never shrinks, so once it holds a quarter of that, it is copied to
	// one that fits (a million coroutines dropped give their entries'
	// memory back).
	peak int
	// schedulers: every Scheduler made, weakly (there are few).
	schedulers []weak.Pointer[Scheduler]
}

// register records an adopted handle's coroutine (see adopt).
func register(c *core) {
	registry.Lock()
	if registry.cores == nil {
		registry.cores = map[uintptr]struct{}{}
	}
	registry.cores[uintptr(unsafe.Pointer(c))] = struct{}{}
	registry.peak = max(registry.peak, len(registry.cores))
	registry.Unlock()
}

// unregister removes c, from its handle's finalizer.
func unregister(c *core) {
	registry.Lock()
	delete(registry.cores, uintptr(unsafe.Pointer(c)))
	if n := len(registry.cores); registry.peak > 1024 && n < registry.peak/4 {
		fit := make(map[uintptr]struct{}, n)
		for addr := range registry.cores {
			fit[addr] = struct{}{}
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
	cores := make([]*core, 0, len(registry.cores))
	for addr := range registry.cores {
		// The address is of a live object (see above): reinterpreted as a
		// pointer under the lock, it keeps that object alive from here.
		cores = append(cores, *(**core)(unsafe.Pointer(&addr)))
	}
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

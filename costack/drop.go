package costack

import (
	"runtime"
	"sync"
	"time"

	"github.com/costack-dev/costack/internal/engine"
)

// Dropped coroutines. A coroutine whose handle becomes unreachable while it
// is suspended is closed, its deferred calls run: unlike an iter.Pull
// iterator, whose goroutine leaks. The collector tells when the handle is
// unreachable through a finalizer, which costs a runtime record (a special,
// inserted in address order into its span's list): on the creation path it
// was most of the cost of making a coroutine. So a handle gets its
// finalizer only once its coroutine has stayed suspended across a
// collection: its first suspension puts the handle on a list of young
// handles (suspendedFirst), and after each collection the list is taken
// over (adopt) and every handle whose coroutine has not finished gets its
// finalizer then. A coroutine that runs to its end, or is closed, before
// the next collection — a spawn-and-finish workload, create+resume+Close —
// never pays for one. The list holds its handles strongly: a handle dropped
// at once is collected one cycle later, not earlier.
//
// A finalizer rather than runtime.AddCleanup: both keep their records in
// memory the runtime never returns to the OS (mheap.go's fixalloc and
// persistentalloc: 88 bytes per finalizer, 56 per cleanup), but a cleanup
// also allocates a closure per call, and measured over a million dropped
// coroutines (the population of the bench report's "left after drop") the two leave about the same
// share of the peak behind while the cleanup raises the peak by ~35 bytes
// per coroutine.
var young struct {
	sync.Mutex
	handles []handleOf
	// spare is the array of a list adopt has gone through, cleared, for
	// the next list (no allocation per collection cycle in a steady
	// spawn-and-finish workload); one of at most youngSpareMax entries.
	spare []handleOf
	armed bool
}

// youngSpareMax bounds the spare young array kept between collections
// (16 B an entry, 1 MB at most): a steady spawn-and-finish workload fills
// tens of thousands between two collections, but a burst of a million first
// suspensions does not hold 16 MB for ever.
const youngSpareMax = 1 << 16

// handleOf is what every Coroutine handle is to the drop machinery.
type handleOf interface {
	core() *core
	// watch attaches the finalizer that closes the coroutine once the
	// handle is unreachable.
	watch()
}

func (c *Coroutine[In, Out]) core() *core { return &c.s.core }

func (c *Coroutine[In, Out]) watch() { runtime.SetFinalizer(handleOf(c), droppedHandle) }

// droppedHandle is the finalizer of a handle: a plain function of an
// interface, so that its function value is static (a generic one would be
// allocated per coroutine).
func droppedHandle(h handleOf) { dropped(h.core()) }

// suspendedFirst is called when c's coroutine suspends for the first time.
func suspendedFirst(h handleOf) {
	young.Lock()
	if young.handles == nil {
		young.handles, young.spare = young.spare, nil
	}
	young.handles = append(young.handles, h)
	if !young.armed {
		young.armed = true
		armAdopt()
	}
	young.Unlock()
}

type gcSentinel struct{ _ *int } // a pointer field: not a tiny allocation

// armAdopt runs adopt after the next collection (a cleanup of an object
// dropped at once), and again after each one while handles are young.
func armAdopt() {
	runtime.AddCleanup(&gcSentinel{}, func(struct{}) { adopt() }, struct{}{})
}

// adopt gives the young handles whose coroutines have not finished their
// finalizer, and registers them (registry.go). It runs on a runtime cleanup
// goroutine.
func adopt() {
	young.Lock()
	hs := young.handles
	young.handles = nil
	if young.armed = len(hs) > 0; young.armed {
		armAdopt()
	}
	young.Unlock()
	live := hs[:0]
	for _, h := range hs {
		if !h.core().co.Finished() {
			h.watch()
			live = append(live, h)
		}
	}
	register(live)
	clear(hs)
	if cap(hs) <= youngSpareMax {
		young.Lock()
		young.spare = hs[:0]
		young.Unlock()
	}
}

// dropped is run by the finalizer of a handle that became unreachable: it closes the
// coroutine if it is suspended. A coroutine that is running (a copy of the
// handle in use would panic first, see state) or finished is left alone;
// Close takes the coroutine atomically anyway.
func dropped(c *core) {
	unregister(c)
	if c.co.Phase() == engine.Suspended {
		closers.add(c)
	}
}

// closers close dropped coroutines. The body's deferred calls are user code
// that may block, panic or even call runtime.Goexit, so they run on
// goroutines of this package's, not on the runtime's finalizer goroutine,
// whose other finalizers would wait; but not on a goroutine per coroutine
// either (a million dropped at once would be a million goroutines). A
// closer drains the queue and exits when it is empty. Each closer arms a
// watchdog before each close: a close that takes longer than stuckAfter
// (a deferred call that blocks) starts another closer, so one blocked
// close holds up only itself.
var closers closerPool

type closerPool struct {
	sync.Mutex
	queue []*core
	// running is the number of closer goroutines; idle those of them not
	// inside a close (between two, or about to exit).
	running, idle int
}

// stuckAfter is how long a close may take before the queue gets another
// closer.
const stuckAfter = 20 * time.Millisecond

// add queues c to be closed, and starts a closer if none is free to take it.
func (p *closerPool) add(c *core) {
	p.Lock()
	p.queue = append(p.queue, c)
	p.startIfNeededLocked()
}

// startIfNeededLocked, with p locked, unlocks p and starts a closer if
// coroutines wait and no closer is free to take them.
func (p *closerPool) startIfNeededLocked() {
	start := p.idle == 0 && len(p.queue) > 0
	if start {
		p.running++
		p.idle++
	}
	p.Unlock()
	if start {
		go p.run()
	}
}

// run is a closer goroutine: it closes queued coroutines until the queue is
// empty.
func (p *closerPool) run() {
	watchdog := time.AfterFunc(time.Hour, p.stuck)
	watchdog.Stop()
	defer watchdog.Stop()
	for {
		p.Lock()
		if len(p.queue) == 0 {
			p.running--
			p.idle--
			p.queue = nil // a drained queue gives its array back
			p.Unlock()
			return
		}
		c := p.queue[len(p.queue)-1]
		p.queue[len(p.queue)-1] = nil
		p.queue = p.queue[:len(p.queue)-1]
		p.idle--
		p.Unlock()
		watchdog.Reset(stuckAfter)
		closeDropped(c)
		watchdog.Stop()
		p.Lock()
		p.idle++
		p.Unlock()
	}
}

// stuck runs when a closer has spent stuckAfter in one close: if no other
// closer is free and coroutines wait, it starts one.
func (p *closerPool) stuck() {
	p.Lock()
	p.startIfNeededLocked()
}

// closeDropped closes one dropped coroutine. A deferred call that calls
// runtime.Goexit ends the closer goroutine: its deferred call keeps the
// pool's counts right and hands the rest of the queue to a new closer.
func closeDropped(c *core) {
	done := false
	defer func() {
		if !done {
			closers.goexited()
		}
	}()
	c.close() // a panic of a deferred call is returned, not raised (engine.Close)
	done = true
}

// goexited accounts for a closer that runtime.Goexit ended inside a close.
func (p *closerPool) goexited() {
	p.Lock()
	p.running--
	p.startIfNeededLocked()
}

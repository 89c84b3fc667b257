package costack

import (
	"runtime"
	"sync"

	"github.com/costack-dev/costack/internal/engine"
)

// Dropped coroutines. A coroutine whose handle becomes unreachable while it
// is suspended is closed, its deferred calls run: unlike an iter.Pull
// iterator, whose goroutine leaks. The collector tells when the handle is
// unreachable through a finalizer, which costs a runtime record, inserted
// in address order into its span's list of specials: on the creation path
// it was most of the cost of making a coroutine. So a handle gets its
// finalizer only once its coroutine has stayed suspended across a
// collection: its first suspension puts the handle on a list of young
// handles (suspendedFirst), and after each collection the list is taken
// over (adopt) and every handle whose coroutine has not finished gets its
// finalizer then. A coroutine that runs to its end, or is closed, before
// the next collection — a spawn-and-finish workload, create+resume+Close —
// never pays for one. The list holds its handles strongly: a handle
// dropped at once is collected one cycle later, not earlier.
var young struct {
	sync.Mutex
	handles []handleOf
	armed   bool
}

// handleOf is what every Coroutine handle is to the drop machinery: a
// plain function of an interface, so that the finalizer's function value
// is static (a generic one would be allocated per coroutine).
type handleOf interface{ core() *core }

func (c *Coroutine[In, Out]) core() *core { return &c.s.core }

// suspendedFirst is called when c's coroutine suspends for the first time.
func suspendedFirst(h handleOf) {
	young.Lock()
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
// finalizer. It runs on the runtime's cleanup goroutine.
func adopt() {
	young.Lock()
	hs := young.handles
	young.handles = nil
	if young.armed = len(hs) > 0; young.armed {
		armAdopt()
	}
	young.Unlock()
	for i, h := range hs {
		if !h.core().co.Finished() {
			runtime.SetFinalizer(h, dropped)
			register(h.core()) // see registry.go
		}
		hs[i] = nil
	}
}

// dropped closes a coroutine whose handle became unreachable while it was
// suspended. The body's deferred calls are user code that may block, panic
// or even call runtime.Goexit, so they run on a goroutine of their own
// rather than on the runtime's finalizer goroutine. A coroutine that is
// running (a copy of the handle in use would panic first, see state) or
// finished is left alone; Close takes the coroutine atomically anyway.
func dropped(h handleOf) {
	unregister(h.core()) // first: see registry.go
	if c := h.core(); c.co.Phase() == engine.Suspended {
		go c.close()
	}
}

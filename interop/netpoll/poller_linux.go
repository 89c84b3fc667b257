package netpoll

import (
	"errors"
	"math"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/costack-dev/costack/costack"
)

// A Poller is one epoll instance and the descriptors registered with it:
// the listeners and connections made through a [ListenConfig] naming it
// (or, for [Listen], the [DefaultPoller]).
//
// # Who sleeps in epoll_wait
//
// A call that cannot proceed registers its waiter (a scheduler task's
// costack.Waker, or a channel for a plain goroutine) in its descriptor, and
// whoever is polling the epoll instance when the descriptor becomes ready
// wakes it. Exactly one goroutine polls at a time:
//
//   - The poller's own goroutine, started when the first call starts
//     waiting and ended once no call has been waiting for a short while
//     (so an idle program, or a test that closed everything, has no
//     goroutine left). It wakes tasks through Waker.Wake, so a game loop
//     that calls Scheduler.Tick once per frame picks them up at its next
//     tick.
//   - The goroutine of Scheduler.Run, when the Poller is the scheduler's
//     event source (costack.WithEventSource): Run sleeps in [Poller.Wait],
//     which is epoll_wait itself, and the tasks it wakes run in the tick
//     that follows, with no goroutine hop in between. While Run keeps
//     coming back to Wait the poller's goroutine stands aside; if Run stays
//     away longer than [StarveAfter] (busy ticking, or returned), the
//     poller's goroutine polls again so that no wait is starved, and hands
//     the epoll instance back at Run's next Wait. While Run is likely
//     still ticking (away less than ten times StarveAfter) it only looks
//     once every StarveAfter, without sleeping in epoll_wait, so that a
//     long tick is not interrupted event by event.
//
// A Poller is safe for concurrent use.
type Poller struct {
	epfd int
	evfd int // eventfd: Interrupt, and the hand-over from the poller's goroutine

	// pollMu is held by the goroutine that polls (calls epoll_wait and
	// dispatches its events); events and wakes belong to it.
	pollMu sync.Mutex
	events []unix.EpollEvent
	hits   []hit
	wakes  []costack.Waker

	// waiters counts the calls waiting in a descriptor's slot for
	// readiness. The poller's goroutine runs while it is non-zero.
	// arms counts the waits begun: while it moves, tasks are running.
	waiters atomic.Int64
	arms    atomic.Int64

	// mu guards running, closed and the descriptor table.
	mu      sync.Mutex
	running bool // the poller's goroutine exists
	closed  bool
	// shut is closed for Wait, which must not touch the fds once Close
	// began (their numbers may belong to other files after).
	shut    atomic.Bool
	kicking atomic.Int32 // kicks in progress (see kick)
	descs   []*fdesc     // by fd number
	ndescs  int
	seq     uint32

	// The hand-over between Wait (Run's goroutine) and the poller's
	// goroutine; see Wait and loop.
	interrupted atomic.Bool  // Interrupt was called since Wait last returned
	runSleeping atomic.Bool  // Wait is (about to be) blocked in epoll_wait
	ownSleeping atomic.Bool  // the poller's goroutine is (about to be) blocked in epoll_wait
	wantPoll    atomic.Int32 // Wait callers waiting for pollMu
	inWait      atomic.Bool
	attached    atomic.Bool  // Wait has been called
	lastWait    atomic.Int64 // monotonic time Wait last returned
	ownParked   atomic.Bool  // the poller's goroutine waits for Wait to return
	waitDone    chan struct{}

	// Tasks woken by Wait and by the poller's goroutine (see Stats).
	wokenByWait atomic.Int64
	wokenByOwn  atomic.Int64
}

// hit is a harvested event: its descriptor (nil for the eventfd) and
// events.
type hit struct {
	d  *fdesc
	ev uint32
}

// StarveAfter is how long Scheduler.Run may stay out of [Poller.Wait]
// before the poller's own goroutine polls in its place: the longest that a
// ready descriptor can go unnoticed while Run is busy.
const StarveAfter = 10 * time.Millisecond

// linger is how long the poller's goroutine stays after the last waiter
// left, so that a connection going back and forth between busy and idle
// does not start a goroutine per message.
const linger = 20 * time.Millisecond

// evData marks the eventfd's events; descriptors' events carry fd | seq<<32.
const evData = math.MaxUint64

var (
	defaultMu     sync.Mutex
	defaultPoller atomic.Pointer[Poller]
)

// DefaultPoller returns the poller that [Listen] uses, creating it on first
// use (a failure, such as running out of descriptors, is not remembered:
// the next call tries again). It is never closed.
func DefaultPoller() (*Poller, error) {
	if p := defaultPoller.Load(); p != nil {
		return p, nil
	}
	defaultMu.Lock()
	defer defaultMu.Unlock()
	if p := defaultPoller.Load(); p != nil {
		return p, nil
	}
	p, err := NewPoller()
	if err != nil {
		return nil, err
	}
	defaultPoller.Store(p)
	return p, nil
}

// NewPoller returns a new poller: an epoll instance and an eventfd. Close
// it when its descriptors are all closed.
func NewPoller() (*Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET}
	setEventData(&ev, evData)
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		unix.Close(evfd)
		unix.Close(epfd)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	return &Poller{
		epfd:     epfd,
		evfd:     evfd,
		events:   make([]unix.EpollEvent, 256),
		waitDone: make(chan struct{}, 1),
	}, nil
}

// ErrPollerBusy is returned by [Poller.Close] while descriptors are still
// registered with the poller.
var ErrPollerBusy = errors.New("netpoll: poller has open listeners or connections")

// Close releases the poller's epoll instance and eventfd. It fails with
// [ErrPollerBusy] while listeners or connections of the poller are open,
// and with net.ErrClosed if the poller is closed already or is the
// [DefaultPoller]. It waits for the poller's goroutine to end.
func (p *Poller) Close() error {
	if p == defaultPoller.Load() {
		return errors.New("netpoll: the default poller cannot be closed")
	}
	p.mu.Lock()
	switch {
	case p.closed:
		p.mu.Unlock()
		return errClosed
	case p.ndescs > 0:
		p.mu.Unlock()
		return ErrPollerBusy
	}
	p.closed = true
	p.shut.Store(true)
	p.mu.Unlock()
	// With no descriptor there is no waiter: the poller's goroutine, if
	// any, ends after its linger; kick it (and a Wait) out of epoll_wait
	// now.
	p.writeEventfd()
	for {
		p.mu.Lock()
		r := p.running
		p.mu.Unlock()
		if !r {
			break
		}
		select {
		case p.waitDone <- struct{}{}:
		default:
		}
		time.Sleep(time.Millisecond)
	}
	p.pollMu.Lock() // no Wait is polling (and none will: shut)
	defer p.pollMu.Unlock()
	for p.kicking.Load() != 0 {
		runtime.Gosched()
	}
	unix.Close(p.evfd)
	return unix.Close(p.epfd)
}

// PollerStats is what [Poller.Stats] reports.
type PollerStats struct {
	// Descriptors is the number of open listeners and connections.
	Descriptors int
	// Waiting is the number of calls waiting for a descriptor to be
	// ready (a call waiting its turn behind another of the same
	// direction is not counted).
	Waiting int
	// WokenByWait and WokenByOwn count the task wakes made so far by
	// Wait (Scheduler.Run's goroutine) and by the poller's own goroutine.
	WokenByWait, WokenByOwn int64
}

// Stats reports the poller's current counts.
func (p *Poller) Stats() PollerStats {
	p.mu.Lock()
	n := p.ndescs
	p.mu.Unlock()
	return PollerStats{
		Descriptors: n,
		Waiting:     int(p.waiters.Load()),
		WokenByWait: p.wokenByWait.Load(),
		WokenByOwn:  p.wokenByOwn.Load(),
	}
}

// register adds d (whose sysfd is set) to the table and the epoll set,
// edge-triggered for both directions.
func (p *Poller) register(d *fdesc, events uint32) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return errClosed
	}
	fd := int(d.sysfd)
	if fd >= len(p.descs) {
		// Grown by a quarter, not doubled: the table is 8 bytes per
		// descriptor for every connection, and doubling leaves up to
		// half of it unused (at 10,000 connections, 13 bytes each
		// instead of 8.6).
		n := max(len(p.descs)+len(p.descs)/4, fd+1, 64)
		descs := make([]*fdesc, n)
		copy(descs, p.descs)
		p.descs = descs
	}
	p.seq++
	d.seq = p.seq
	d.p = p
	p.descs[fd] = d
	p.ndescs++
	p.mu.Unlock()
	ev := unix.EpollEvent{Events: events | unix.EPOLLET}
	setEventData(&ev, uint64(uint32(fd))|uint64(d.seq)<<32)
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.unregister(d)
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// unregister removes d from the table. The caller then closes the fd,
// which takes it out of the epoll set; an event already harvested for it
// finds no descriptor, or one with another seq, and is dropped.
func (p *Poller) unregister(d *fdesc) {
	p.mu.Lock()
	if fd := int(d.sysfd); fd < len(p.descs) && p.descs[fd] == d {
		p.descs[fd] = nil
		p.ndescs--
	}
	p.mu.Unlock()
}

// addWaiter counts a waiter put into a descriptor's slot, and makes sure
// someone polls.
func (p *Poller) addWaiter() {
	p.arms.Add(1)
	if p.waiters.Add(1) != 1 {
		return
	}
	p.mu.Lock()
	if !p.running {
		p.running = true
		go p.loop()
	}
	p.mu.Unlock()
}

// removeWaiter uncounts a waiter taken out of its slot. When the last one
// goes some other way than through an event (Close, a deadline, a
// cancelled task), the poller's goroutine may be asleep with no timeout:
// kick it, so that it starts its linger and ends. (It stores ownSleeping
// before it reads waiters; we do the opposite.)
func (p *Poller) removeWaiter() {
	if p.waiters.Add(-1) == 0 && p.ownSleeping.Load() {
		p.kick()
	}
}

// Interrupt makes the current [Poller.Wait], or the next one, return
// promptly. It is safe for concurrent use. It implements
// costack.EventSource for Scheduler.Run.
func (p *Poller) Interrupt() {
	if p.interrupted.Swap(true) {
		return // already pending
	}
	// Wait stores runSleeping before it reads interrupted, and we store
	// interrupted before we read runSleeping: one of us sees the other.
	if p.runSleeping.Load() {
		p.kick()
	}
}

// kick makes the goroutine blocked in epoll_wait, if any, return. It may
// run at any time on any goroutine (Interrupt), so it must not write to
// the eventfd's number once Close has closed it (the number may be another
// file's by then): Close waits for the kicks in progress.
func (p *Poller) kick() {
	p.kicking.Add(1)
	if !p.shut.Load() { // Close stores shut, then waits for kicking
		p.writeEventfd()
	}
	p.kicking.Add(-1)
}

func (p *Poller) writeEventfd() {
	one := [8]byte{1}
	for {
		_, err := unix.Write(p.evfd, one[:])
		if err != unix.EINTR {
			return // EAGAIN: the counter is saturated, so it is readable anyway
		}
	}
}

// Wait polls the poller's descriptors and wakes the calls waiting for them,
// blocking until Interrupt is called, until it has woken at least one
// scheduler task, or until timeout has passed (timeout < 0: no limit). It
// also returns at once if the poller woke tasks some other way since the
// last Wait (on its own goroutine, or at a deadline), so no wake of the
// poller's is ever slept through. It implements costack.EventSource:
// Scheduler.Run calls it when no task is ready, so that the run loop
// sleeps in epoll_wait itself (see [Poller]).
func (p *Poller) Wait(timeout time.Duration) {
	var deadline int64
	if timeout >= 0 {
		deadline = monoNow() + int64(timeout)
	}
	p.attached.Store(true)
	p.inWait.Store(true)
	if !p.pollMu.TryLock() {
		// The poller's goroutine is polling: ask for the instance.
		p.wantPoll.Add(1)
		if p.ownSleeping.Load() {
			p.kick()
		}
		p.pollMu.Lock()
		p.wantPoll.Add(-1)
	}
	for !p.shut.Load() {
		p.runSleeping.Store(true)
		ms := -1
		if p.interrupted.Load() {
			ms = 0
		} else if timeout >= 0 {
			ms = msec(time.Duration(deadline - monoNow()))
		}
		n, err := unix.EpollWait(p.epfd, p.events, ms)
		p.runSleeping.Store(false)
		woke := p.dispatch(n)
		if woke > 0 {
			p.wokenByWait.Add(int64(woke))
		}
		if woke > 0 || ms == 0 || p.interrupted.Load() {
			break
		}
		if err == nil && n == 0 {
			break // timed out
		}

		if timeout >= 0 && monoNow() >= deadline {
			break
		}
		// EINTR, an eventfd kick meant for the poller's goroutine, or
		// events that woke no task: keep waiting.
	}
	// Whatever Interrupt was called before this point is answered by this
	// return; a later one makes the next Wait return.
	p.interrupted.Store(false)
	p.pollMu.Unlock()
	p.lastWait.Store(monoNow())
	p.inWait.Store(false)
	if p.ownParked.Swap(false) {
		select {
		case p.waitDone <- struct{}{}:
		default:
		}
	}
}

// loop is the poller's goroutine. It polls while calls wait and no Run is
// polling, and ends after linger without waiters.
func (p *Poller) loop() {
	idleSince := int64(0)
	arms := int64(-1) // p.arms at the last poll
	for {
		now := monoNow()
		if p.waiters.Load() == 0 {
			if idleSince == 0 {
				idleSince = now
			}
			p.mu.Lock()
			if p.closed || now-idleSince >= int64(linger) {
				if p.waiters.Load() == 0 {
					p.running = false
					p.mu.Unlock()
					return
				}
			}
			p.mu.Unlock()
		} else {
			idleSince = 0
		}
		if p.attached.Load() && p.standAside(now) {
			continue
		}
		// Run is attached but has been away for StarveAfter: most
		// likely in a long tick (a thousand busy connections make
		// ticks of 10 ms and more), and coming back. The tasks we
		// would wake run in the tick after it anyway, so harvest what
		// is ready now, without sleeping in epoll_wait (where every
		// new event would wake this thread, an event or two at a
		// time, while Run's Wait could take them all at once), and
		// look again after StarveAfter. Only once Run has been out of
		// Wait for runGone with no wait begun since our last look
		// (tasks that run begin waits; and the tasks we wake keep Run
		// ticking, out of Wait) do we sleep in epoll_wait as without a
		// Run.
		a := p.arms.Load()
		ticking := p.attached.Load() && (now-p.lastWait.Load() < int64(runGone) || a != arms)
		arms = a
		p.pollMu.Lock()
		p.ownSleeping.Store(true)
		ms := -1
		if p.waiters.Load() == 0 {
			ms = msec(linger)
		}
		if p.wantPoll.Load() > 0 || ticking {
			ms = 0 // a Wait asked for the instance, or see ticking
		}
		n, _ := unix.EpollWait(p.epfd, p.events, ms)
		p.ownSleeping.Store(false)
		if woke := p.dispatch(n); woke > 0 {
			p.wokenByOwn.Add(int64(woke))
			// We are part of the event source: the next Wait (or
			// the current one, if Run is between its tick and its
			// sleep) must see these wakes too.
			p.Interrupt()
		}
		p.pollMu.Unlock()
		if ticking {
			p.nap()
		}
	}
}

// runGone is how long Run may stay out of Wait before the poller's
// goroutine takes it for gone (returned, or stuck) and sleeps in
// epoll_wait itself, as it does when no Run is attached.
const runGone = 10 * StarveAfter

// nap waits StarveAfter, or less if Close is waiting for the goroutine
// to end (it sends on waitDone, as Wait does for standAside: a token left
// there only makes a nap or a stand-aside end early).
func (p *Poller) nap() {
	if p.shut.Load() {
		return
	}
	t := time.NewTimer(StarveAfter)
	select {
	case <-p.waitDone:
	case <-t.C:
	}
	t.Stop()
}

// standAside lets Scheduler.Run poll: while Run is in Wait, or was there
// less than StarveAfter ago, the poller's goroutine sleeps and reports
// true. It reports false when Run has stayed away too long.
func (p *Poller) standAside(now int64) bool {
	if p.inWait.Load() {
		p.ownParked.Store(true)
		if p.inWait.Load() { // Wait checks ownParked after clearing inWait
			<-p.waitDone
			p.ownParked.Store(false)
			return true
		}
		p.ownParked.Store(false)
	}
	if away := time.Duration(now - p.lastWait.Load()); away < StarveAfter {
		time.Sleep(StarveAfter - away)
		return true
	}
	return false
}

// dispatch handles n harvested events: it marks descriptors ready and
// wakes their waiters, and reports how many scheduler tasks it woke. The
// caller holds pollMu.
func (p *Poller) dispatch(n int) int {
	if n <= 0 {
		return 0
	}
	// Look the descriptors up under mu (the table changes under it), and
	// handle them after: a descriptor's lock is never taken under mu.
	hits := p.hits[:0]
	p.mu.Lock()
	for i := range n {
		ev := &p.events[i]
		data := eventData(ev)
		if data == evData {
			hits = append(hits, hit{ev: ev.Events})
			continue
		}
		fd := int(uint32(data))
		if fd >= len(p.descs) {
			continue
		}
		if d := p.descs[fd]; d != nil && d.seq == uint32(data>>32) {
			hits = append(hits, hit{d: d, ev: ev.Events})
		} // else: closed since
	}
	p.mu.Unlock()
	wakes := p.wakes[:0]
	for _, h := range hits {
		if h.d == nil {
			var buf [8]byte
			unix.Read(p.evfd, buf[:]) // reset the counter; EAGAIN is fine
			continue
		}
		wakes = h.d.ready(h.ev, wakes)
	}
	clear(hits)
	p.hits = hits[:0]
	clear(p.events[:n])
	woke := len(wakes)
	if woke > 0 {
		costack.WakeAll(wakes)
		clear(wakes)
	}
	p.wakes = wakes[:0]
	return woke
}

// msec converts a timeout to epoll_wait's milliseconds, rounding up so that
// a wait never ends before its timeout.
func msec(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	return int(min(ms, math.MaxInt32))
}

var monoStart = time.Now()

// monoNow is the monotonic clock in nanoseconds (since the package's
// start).
func monoNow() int64 { return int64(time.Since(monoStart)) }

// setEventData and eventData store and read the 64-bit data of an epoll
// event in its Fd and Pad fields, which together are the kernel's data
// word on every linux port (arm64 pads before them). The kernel hands the
// word back unchanged, so the split needs no byte order.
func setEventData(ev *unix.EpollEvent, data uint64) {
	ev.Fd = int32(uint32(data))
	ev.Pad = int32(uint32(data >> 32))
}

func eventData(ev *unix.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

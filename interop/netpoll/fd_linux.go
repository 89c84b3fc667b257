package netpoll

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/costack-dev/costack/costack"
)

// mode is a direction of a descriptor: reads (and accepts) or writes.
type mode uint8

const (
	modeRead mode = iota
	modeWrite
)

// The bits of fdesc.flags, one of each per mode (shifted by the mode).
const (
	flagReady   uint16 = 1 << 0 // an edge came with no waiter: the next wait does not sleep
	flagHeld    uint16 = 1 << 2 // a call of this direction is in progress (the op lock)
	flagExpired uint16 = 1 << 4 // the deadline has passed
	flagTask    uint16 = 1 << 6 // a task waits in slot m (see slotLocked)
	flagGo      uint16 = 1 << 8 // a goroutine waits on ext.ch[m]
)

// flagDrained (reads only) says that the last read came back short with no
// edge since it began: the socket's receive queue was empty then (for a
// stream socket a short read means so, see epoll(7)), so the next read
// waits for an edge instead of making a read that would fail with EAGAIN.
// An edge (flagReady, or a wake) cancels it.
//
// flagEnding is set for good by the first event that announces the end of
// the stream (a peer's FIN, a reset, an error): a short read may then be
// followed by EOF or an error that no further edge announces, so reads are
// never marked drained again.
const (
	flagDrained uint16 = 1 << 10
	flagEnding  uint16 = 1 << 11
)

func bit(f uint16, m mode) uint16 { return f << m }

// closedBit is set in fdesc.state by Close; the low bits count the
// syscalls in progress on the fd.
const closedBit = 1 << 31

// maxRW caps a single read or write syscall, as package net does.
const maxRW = 1 << 30

// An fdesc is a non-blocking socket registered with a poller: the fd, who
// waits for it in each direction, and its deadlines. It holds no buffer.
//
// A call in progress in one direction holds that direction's op lock
// (flagHeld), so calls of one direction run one after the other, as with
// package net; only the holder ever waits for readiness, so each direction
// has one slot. The fd is closed only once no syscall is in progress on it
// (state), so that a call can never reach an fd number reused by another
// file.
type fdesc struct {
	p     *Poller
	sysfd int32
	seq   uint32 // the poller's registration number, in event data
	state atomic.Uint32

	// mu guards flags, rslot and ext. rslot is the read slot; the
	// write slot is in ext: a write waits only when the socket's send
	// buffer is full, and a Conn without it is 80 bytes, not 96.
	mu    sync.Mutex
	flags uint16
	rslot costack.Waker
	ext   *fdExtra
}

// fdExtra is what only some descriptors need: goroutine waits, contended
// op locks, deadlines.
type fdExtra struct {
	wslot costack.Waker
	ch    [2]chan struct{}
	queue [2][]queued
	dl    [2]int64 // monotonic deadline (monoNow), 0 for none
	timer [2]*time.Timer
}

// queued is a call waiting for an op lock: a task's or a goroutine's.
type queued struct {
	w  costack.Waker
	ch chan struct{}
}

func (q queued) wake() {
	if q.ch != nil {
		q.ch <- struct{}{}
		return
	}
	q.w.Wake()
}

func (d *fdesc) extLocked() *fdExtra {
	if d.ext == nil {
		d.ext = new(fdExtra)
	}
	return d.ext
}

// slotLocked is direction m's slot; d.mu is held.
func (d *fdesc) slotLocked(m mode) *costack.Waker {
	if m == modeRead {
		return &d.rslot
	}
	return &d.extLocked().wslot
}

func (d *fdesc) closed() bool { return d.state.Load()&closedBit != 0 }

// incref counts a syscall about to use the fd; it fails once Close began.
func (d *fdesc) incref() bool {
	if d.state.Add(1)&closedBit != 0 {
		d.state.Add(^uint32(0))
		return false
	}
	return true
}

func (d *fdesc) decref() { d.state.Add(^uint32(0)) }

// lock takes the op lock of direction m, waiting (suspending the task, or
// blocking the goroutine) while another call of that direction is in
// progress. It fails if the descriptor is closed or m's deadline has
// passed. For reads (and accepts), which make their syscall right after
// it, it clears flagReady, so that the flag says whether an edge came
// since (an earlier edge's news is what that syscall sees), and reports
// whether the receive queue is known to be empty (flagDrained). Writes
// keep the flag: connect waits for its edge without a syscall first.
func (d *fdesc) lock(m mode) (drained bool, err error) {
	for {
		d.mu.Lock()
		if err := d.errLocked(m); err != nil {
			d.mu.Unlock()
			return false, err
		}
		if d.flags&bit(flagHeld, m) == 0 {
			if m == modeRead {
				drained = d.flags&(flagDrained|bit(flagReady, m)) == flagDrained
				d.flags &^= flagDrained | bit(flagReady, m)
			}
			d.flags |= bit(flagHeld, m)
			d.mu.Unlock()
			return drained, nil
		}
		if t := costack.CurrentTask(); t != nil {
			d.mu.Unlock()
			t.Wait(lockWaiter{d, m})
			continue
		}
		ch := make(chan struct{}, 1)
		x := d.extLocked()
		x.queue[m] = append(x.queue[m], queued{ch: ch})
		d.mu.Unlock()
		<-ch
	}
}

// markDrained records that a read came back short, unless an edge came
// while it ran (lock cleared flagReady before it).
func (d *fdesc) markDrained() {
	d.mu.Lock()
	if d.flags&(bit(flagReady, modeRead)|flagEnding) == 0 {
		d.flags |= flagDrained
	}
	d.mu.Unlock()
}

// clearSlotLocked empties slot m of a task's waker.
func (d *fdesc) clearSlotLocked(m mode) {
	d.flags &^= bit(flagTask, m)
	*d.slotLocked(m) = costack.Waker{}
	d.p.removeWaiter()
}

// unlock releases the op lock of direction m and wakes every call queued
// for it: they try again, one gets it and the others queue again. (Handing
// it to the first alone would lose it whenever that one is a task
// cancelled between its wake and its next run.) Contention is rare: it
// takes several tasks or goroutines using one direction of a connection
// at once. The calls that hold the lock across a wait defer unlock, so it
// also runs when a task unwinds out of the wait (cancelled or closed): its
// stale waker is then still in the slot, and is cleared here.
func (d *fdesc) unlock(m mode) {
	d.mu.Lock()
	d.flags &^= bit(flagHeld, m)
	if d.flags&bit(flagTask, m) != 0 && !d.slotLocked(m).Pending() {
		d.clearSlotLocked(m)
	}
	var queue []queued
	if x := d.ext; x != nil {
		queue, x.queue[m] = x.queue[m], nil
	}
	d.mu.Unlock()
	for _, q := range queue {
		q.wake()
	}
}

// lockWaiter is a task's wait for an op lock.
type lockWaiter struct {
	d *fdesc
	m mode
}

func (l lockWaiter) Arm(w costack.Waker) {
	d := l.d
	d.mu.Lock()
	if d.flags&bit(flagHeld, l.m) == 0 || d.errLocked(l.m) != nil {
		d.mu.Unlock()
		w.Wake()
		return
	}
	x := d.extLocked()
	x.queue[l.m] = append(x.queue[l.m], queued{w: w})
	d.mu.Unlock()
}

// errLocked is the error a call of direction m gets now: the descriptor is
// closed or the deadline has passed. d.mu is held.
func (d *fdesc) errLocked(m mode) error {
	if d.closed() {
		return errClosed
	}
	if d.flags&bit(flagExpired, m) != 0 {
		return errTimeout
	}
	return nil
}

// wait waits until direction m may be ready (an edge came), the deadline
// passes or the descriptor is closed; the last two are its errors. The
// caller holds m's op lock. A scheduler task is suspended; any other
// caller (a goroutine, or a costack coroutine that is not a task) blocks.
func (d *fdesc) wait(m mode) error {
	if t := costack.CurrentTask(); t != nil {
		if m == modeRead {
			t.Wait((*readWaiter)(d))
		} else {
			t.Wait((*writeWaiter)(d))
		}
	} else {
		d.waitGoroutine(m)
	}
	return d.waitErr(m)
}

// waitErr is the error a wait of direction m ended with, if any.
func (d *fdesc) waitErr(m mode) error {
	d.mu.Lock()
	err := d.errLocked(m)
	d.mu.Unlock()
	return err
}

// readWaiter and writeWaiter are a task's wait for readiness.
type (
	readWaiter  fdesc
	writeWaiter fdesc
)

func (r *readWaiter) Arm(w costack.Waker)  { (*fdesc)(r).arm(modeRead, w) }
func (r *writeWaiter) Arm(w costack.Waker) { (*fdesc)(r).arm(modeWrite, w) }

func (d *fdesc) arm(m mode, w costack.Waker) {
	d.p.addWaiter() // before the slot is filled, so the count is never short
	d.mu.Lock()
	if d.flags&bit(flagReady|flagExpired, m) != 0 || d.closed() {
		d.flags &^= bit(flagReady, m)
		d.mu.Unlock()
		d.p.removeWaiter()
		w.Wake()
		return
	}
	*d.slotLocked(m) = w
	d.flags |= bit(flagTask, m)
	d.mu.Unlock()
}

func (d *fdesc) waitGoroutine(m mode) {
	d.p.addWaiter()
	d.mu.Lock()
	if d.flags&bit(flagReady|flagExpired, m) != 0 || d.closed() {
		d.flags &^= bit(flagReady, m)
		d.mu.Unlock()
		d.p.removeWaiter()
		return
	}
	x := d.extLocked()
	ch := x.ch[m]
	if ch == nil {
		ch = make(chan struct{}, 1)
		x.ch[m] = ch
	}
	d.flags |= bit(flagGo, m)
	d.mu.Unlock()
	<-ch
}

// takeLocked empties slot m and returns what waited there; d.mu is held.
// Only one of the results is set, or neither.
func (d *fdesc) takeLocked(m mode) (costack.Waker, chan struct{}) {
	switch {
	case d.flags&bit(flagTask, m) != 0:
		w := *d.slotLocked(m)
		d.clearSlotLocked(m)
		return w, nil
	case d.flags&bit(flagGo, m) != 0:
		d.flags &^= bit(flagGo, m)
		d.p.removeWaiter()
		return costack.Waker{}, d.ext.ch[m]
	}
	return costack.Waker{}, nil
}

// wakeSlot wakes what takeLocked returned.
func wakeSlot(w costack.Waker, ch chan struct{}) {
	if ch != nil {
		ch <- struct{}{} // buffered, and one wake per wait: never blocks
	}
	w.Wake()
}

// ready handles an epoll event for d: the waiter of each direction it
// concerns is woken (tasks are appended to wakes, for one WakeAll), or the
// direction is marked ready for its next wait.
func (d *fdesc) ready(ev uint32, wakes []costack.Waker) []costack.Waker {
	const (
		rd = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLHUP | unix.EPOLLERR
		wr = unix.EPOLLOUT | unix.EPOLLHUP | unix.EPOLLERR
	)
	d.mu.Lock()
	if ev&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		d.flags |= flagEnding
	}
	for m := modeRead; m <= modeWrite; m++ {
		if (m == modeRead && ev&rd == 0) || (m == modeWrite && ev&wr == 0) {
			continue
		}
		w, ch := d.takeLocked(m)
		switch {
		case ch != nil:
			ch <- struct{}{}
		case w != (costack.Waker{}):
			wakes = append(wakes, w)
		default:
			d.flags |= bit(flagReady, m)
		}
	}
	d.mu.Unlock()
	return wakes
}

// setDeadline sets direction m's deadline (zero: none). A deadline in the
// past wakes a call waiting in m with the timeout error; a future one arms
// a timer that will.
func (d *fdesc) setDeadline(m mode, t time.Time) error {
	if d.closed() {
		return errClosed
	}
	var w costack.Waker
	var ch chan struct{}
	d.mu.Lock()
	x := d.extLocked()
	if t.IsZero() {
		x.dl[m] = 0
		d.flags &^= bit(flagExpired, m)
		if x.timer[m] != nil {
			x.timer[m].Stop()
		}
	} else {
		dl := int64(t.Sub(monoStart))
		x.dl[m] = max(dl, 1)
		if left := time.Duration(dl - monoNow()); left <= 0 {
			d.flags |= bit(flagExpired, m)
			if x.timer[m] != nil {
				x.timer[m].Stop()
			}
			w, ch = d.takeLocked(m)
		} else {
			d.flags &^= bit(flagExpired, m)
			if x.timer[m] == nil {
				if m == modeRead {
					x.timer[m] = time.AfterFunc(left, d.readDeadlinePassed)
				} else {
					x.timer[m] = time.AfterFunc(left, d.writeDeadlinePassed)
				}
			} else {
				x.timer[m].Reset(left)
			}
		}
	}
	d.mu.Unlock()
	wakeSlot(w, ch)
	return nil
}

func (d *fdesc) readDeadlinePassed()  { d.deadlinePassed(modeRead) }
func (d *fdesc) writeDeadlinePassed() { d.deadlinePassed(modeWrite) }

// deadlinePassed runs on a timer's goroutine. The deadline may have been
// moved since the timer was set, so it looks again.
func (d *fdesc) deadlinePassed(m mode) {
	d.mu.Lock()
	dl := d.ext.dl[m]
	if dl == 0 || monoNow() < dl {
		d.mu.Unlock()
		return
	}
	d.flags |= bit(flagExpired, m)
	w, ch := d.takeLocked(m)
	d.mu.Unlock()
	wakeSlot(w, ch)
	if w != (costack.Waker{}) {
		d.p.Interrupt() // a wake by the event source, as in loop
	}
}

// close wakes every call waiting on d (they fail with net.ErrClosed),
// waits for the syscalls in progress (they are non-blocking: microseconds)
// and closes the fd. Only the first close does this; later ones get
// net.ErrClosed.
func (d *fdesc) close() error {
	if d.state.Or(closedBit)&closedBit != 0 {
		return errClosed
	}
	var ws [2]costack.Waker
	var chs [2]chan struct{}
	var queue []queued
	d.mu.Lock()
	for m := modeRead; m <= modeWrite; m++ {
		ws[m], chs[m] = d.takeLocked(m)
	}
	if x := d.ext; x != nil {
		for m := modeRead; m <= modeWrite; m++ {
			queue = append(queue, x.queue[m]...)
			x.queue[m] = nil
			if x.timer[m] != nil {
				x.timer[m].Stop()
			}
		}
	}
	d.mu.Unlock()
	for m := range ws {
		wakeSlot(ws[m], chs[m])
	}
	for _, q := range queue {
		q.wake()
	}
	for d.state.Load() != closedBit {
		runtime.Gosched()
	}
	d.p.unregister(d)
	if err := unix.Close(int(d.sysfd)); err != nil {
		return os.NewSyscallError("close", err)
	}
	return nil
}

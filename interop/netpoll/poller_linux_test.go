package netpoll

import (
	"bytes"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/costack-dev/costack/costack"
)

// newPoller returns a poller of the test's own, closed at its end.
func newPoller(t *testing.T) *Poller {
	t.Helper()
	p, err := NewPoller()
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	return p
}

func listenOn(t *testing.T, p *Poller) *Listener {
	t.Helper()
	lc := ListenConfig{Poller: p}
	ln, err := lc.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return ln
}

// runLoop is what Scheduler.Run does with an event source: tick, then
// sleep in the source. Run knows whether tasks are ready (a handler task
// started in the last tick is); this loop does not, so each sleep is
// bounded.
func runLoop(t *testing.T, s *costack.Scheduler, p *Poller, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !done() {
		require.True(t, time.Now().Before(deadline), "run loop: condition not reached")
		s.Tick()
		if !done() {
			p.Wait(20 * time.Millisecond)
		}
	}
}

func TestWaitWakesTasksItself(t *testing.T) {
	checkFDs(t)
	p := newPoller(t)
	ln := listenOn(t, p)
	defer ln.Close()
	s := costack.NewScheduler()
	defer s.Close()
	const rounds = 5
	var got atomic.Int32
	Serve(s, ln, func(t *costack.Task, c *Conn) {
		buf := make([]byte, 16)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			got.Add(1)
			c.Write(buf[:n])
		}
	})
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if !assert.NoError(t, err) {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(testTimeout))
		buf := make([]byte, 4)
		for range rounds {
			time.Sleep(5 * time.Millisecond) // the run loop is asleep in Wait
			c.Write([]byte("ping"))
			io.ReadFull(c, buf)
		}
	}()
	runLoop(t, s, p, func() bool { return got.Load() == rounds })
	st := p.Stats()
	assert.Positive(t, st.WokenByWait, "Wait woke the tasks")
	require.NoError(t, ln.Close())
	tickUntil(t, s, func() bool { return s.Len() <= 1 })
}

func TestInterrupt(t *testing.T) {
	p := newPoller(t)
	// Before Wait: the next Wait returns at once.
	p.Interrupt()
	p.Interrupt()
	returned := make(chan struct{})
	go func() { p.Wait(-1); close(returned) }()
	select {
	case <-returned:
	case <-time.After(testTimeout):
		t.Fatal("Wait did not return after Interrupt")
	}
	// During Wait, from another goroutine.
	returned = make(chan struct{})
	go func() { p.Wait(-1); close(returned) }()
	time.Sleep(10 * time.Millisecond)
	p.Interrupt()
	select {
	case <-returned:
	case <-time.After(testTimeout):
		t.Fatal("Wait did not return after Interrupt")
	}
	// The interrupt was used up: a timed Wait runs to its timeout.
	start := time.Now()
	p.Wait(20 * time.Millisecond)
	assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
}

// A run loop that stops coming back to Wait (busy, or returned) must not
// starve the waits: the poller's goroutine takes over.
func TestPollerGoroutineTakesOverFromAnAbsentRun(t *testing.T) {
	checkFDs(t)
	p := newPoller(t)
	ln := listenOn(t, p)
	defer ln.Close()
	s := costack.NewScheduler()
	defer s.Close()
	p.Wait(0) // attach, as Run would, then never wait again
	c, client := pair(t, ln)
	got := make(chan string, 1)
	s.Go(func(*costack.Task) {
		buf := make([]byte, 8)
		n, _ := c.Read(buf)
		got <- string(buf[:n])
	})
	s.Tick()
	_, err := client.Write([]byte("hi"))
	require.NoError(t, err)
	tickUntil(t, s, func() bool { return len(got) == 1 })
	assert.Equal(t, "hi", <-got)
	assert.Positive(t, p.Stats().WokenByOwn)

	// Run comes back: Wait takes the epoll instance back from the
	// poller's goroutine, which is polling now.
	s.Go(func(*costack.Task) {
		buf := make([]byte, 8)
		n, _ := c.Read(buf)
		got <- string(buf[:n])
	})
	s.Tick()
	go func() {
		time.Sleep(20 * time.Millisecond)
		client.Write([]byte("again"))
	}()
	before := p.Stats().WokenByWait
	runLoop(t, s, p, func() bool { return len(got) == 1 })
	assert.Equal(t, "again", <-got)
	assert.Greater(t, p.Stats().WokenByWait, before)
}

func TestPollerClose(t *testing.T) {
	checkFDs(t)
	p, err := NewPoller()
	require.NoError(t, err)
	ln := listenOn(t, p)
	assert.ErrorIs(t, p.Close(), ErrPollerBusy)
	require.NoError(t, ln.Close())
	require.NoError(t, p.Close())
	assert.ErrorIs(t, p.Close(), net.ErrClosed)
	lc := ListenConfig{Poller: p}
	_, err = lc.Listen("tcp", "127.0.0.1:0")
	assert.ErrorIs(t, err, net.ErrClosed)
	def, err := DefaultPoller()
	require.NoError(t, err)
	assert.Error(t, def.Close())
}

// waitOwnGoroutineGone fails unless the poller's goroutine ends.
func waitOwnGoroutineGone(t *testing.T, p *Poller) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		p.mu.Lock()
		running := p.running
		p.mu.Unlock()
		if !running {
			return
		}
		require.True(t, time.Now().Before(deadline), "the poller's goroutine did not end")
		time.Sleep(time.Millisecond)
	}
}

// The poller's goroutine exists only while calls wait, however the last
// wait ended: through an event, Close, or a deadline.
func TestPollerGoroutineEndsWhenIdle(t *testing.T) {
	checkFDs(t)
	p := newPoller(t)
	ln := listenOn(t, p)
	defer ln.Close()
	c, client := pair(t, ln)
	go func() {
		time.Sleep(10 * time.Millisecond)
		client.Write([]byte("x"))
	}()
	_, err := c.Read(make([]byte, 1)) // a goroutine's wait starts it
	require.NoError(t, err)
	waitOwnGoroutineGone(t, p)

	ch := blockedRead(nil, c)
	time.Sleep(10 * time.Millisecond)
	c.SetReadDeadline(time.Now())
	assert.ErrorIs(t, receive(t, ch), os.ErrDeadlineExceeded)
	waitOwnGoroutineGone(t, p)

	c.SetReadDeadline(time.Time{})
	ch = blockedRead(nil, c)
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, c.Close())
	assert.ErrorIs(t, receive(t, ch), net.ErrClosed)
	waitOwnGoroutineGone(t, p)
}

// lowerFDLimit sets the soft RLIMIT_NOFILE so that no new descriptor can
// be made (a new fd takes the lowest free number: the limit is that
// number), and restores it at the end of the test.
func lowerFDLimit(t *testing.T) (restore func()) {
	t.Helper()
	var old unix.Rlimit
	require.NoError(t, unix.Getrlimit(unix.RLIMIT_NOFILE, &old))
	free, err := unix.Dup(0)
	require.NoError(t, err)
	require.NoError(t, unix.Close(free))
	lim := old
	lim.Cur = uint64(free)
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &lim))
	var once sync.Once
	restore = func() { once.Do(func() { unix.Setrlimit(unix.RLIMIT_NOFILE, &old) }) }
	t.Cleanup(restore)
	return restore
}

func TestAcceptEMFILEIsTemporary(t *testing.T) {
	checkFDs(t)
	ln := listen(t)
	client := dial(t, ln) // pending in the backlog
	_ = client
	restore := lowerFDLimit(t)
	_, err := ln.Accept()
	restore()
	require.ErrorIs(t, err, syscall.EMFILE)
	var te interface{ Temporary() bool }
	require.ErrorAs(t, err, &te)
	assert.True(t, te.Temporary())
	// With descriptors to spare, the same connection is accepted.
	c, err := ln.AcceptConn()
	require.NoError(t, err)
	c.Close()
}

func TestServeBacksOffOnEMFILE(t *testing.T) {
	checkFDs(t)
	ln := listen(t)
	s := costack.NewScheduler()
	defer s.Close()
	var logged bytes.Buffer
	var mu sync.Mutex
	srv := &Server{
		Handler:  func(t *costack.Task, c *Conn) { io.WriteString(c, "served\n") },
		ErrorLog: newLogger(&logged, &mu),
	}
	srv.Serve(s, ln)
	s.Tick() // the accept task waits
	clients := []net.Conn{dial(t, ln), dial(t, ln)}
	logs := func() string {
		mu.Lock()
		defer mu.Unlock()
		return logged.String()
	}
	restore := lowerFDLimit(t)
	tickUntil(t, s, func() bool { return strings.Count(logs(), "retrying in") >= 4 })
	restore()
	// The delays double: no spinning on a full descriptor table.
	for i, d := range []string{"5ms", "10ms", "20ms", "40ms"} {
		assert.Contains(t, strings.Split(logs(), "\n")[i], "too many open files; retrying in "+d)
	}
	// Then the connections waiting in the backlog are served.
	for _, c := range clients {
		got := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(c)
			got <- string(b)
		}()
		tickUntil(t, s, func() bool { return len(got) == 1 })
		assert.Equal(t, "served\n", <-got)
	}
	require.NoError(t, ln.Close())
	tickUntil(t, s, func() bool { return s.Len() == 0 })
}

func TestWaitWithTimeoutReturns(t *testing.T) {
	p := newPoller(t)
	start := time.Now()
	p.Wait(5 * time.Millisecond)
	assert.GreaterOrEqual(t, time.Since(start), 5*time.Millisecond)
	p.Wait(0) // never blocks
}

// A Wait on a closed poller returns (a Run left with a closed source ends
// its sleeps at once instead of hanging or spinning inside Wait).
func TestWaitOnClosedPollerReturns(t *testing.T) {
	p, err := NewPoller()
	require.NoError(t, err)
	require.NoError(t, p.Close())
	done := make(chan struct{})
	go func() { p.Wait(-1); close(done) }()
	select {
	case <-done:
	case <-time.After(testTimeout):
		t.Fatal("Wait on a closed poller did not return")
	}
}

// Interrupt on a closed poller does nothing (its eventfd number may be
// another file's by now).
func TestInterruptAfterCloseTouchesNothing(t *testing.T) {
	p, err := NewPoller()
	require.NoError(t, err)
	evfd := p.evfd
	require.NoError(t, p.Close())
	// Reuse the number for a pipe: an Interrupt must not write into it.
	var fds [2]int
	require.NoError(t, unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC))
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	p.runSleeping.Store(true) // as if a Wait were still asleep: Interrupt kicks
	p.Interrupt()
	p.Wait(-1)
	for _, fd := range fds {
		if fd == evfd {
			var buf [8]byte
			n, _ := unix.Read(fds[0], buf[:])
			assert.LessOrEqual(t, n, 0, "nothing was written to the pipe")
		}
	}
}

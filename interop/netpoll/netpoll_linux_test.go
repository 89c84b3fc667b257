package netpoll

import (
	"bufio"
	"errors"
	"fmt"
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

	"github.com/costack-dev/costack/costack"
)

// echoLines is a handler that echoes lines read with bufio.
func echoLines(t *costack.Task, c *Conn) {
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if _, err := c.Write([]byte(line)); err != nil {
			return
		}
	}
}

func TestServeEchoesInTasks(t *testing.T) {
	checkFDs(t)
	ln := listen(t)
	s := costack.NewScheduler()
	defer s.Close()
	Serve(s, ln, echoLines)

	const clients, lines = 20, 10
	var done atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer done.Add(1)
			errs <- func() error {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					return err
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(testTimeout))
				r := bufio.NewReader(c)
				for j := range lines {
					want := fmt.Sprintf("client %d line %d\n", i, j)
					if _, err := io.WriteString(c, want); err != nil {
						return err
					}
					got, err := r.ReadString('\n')
					if err != nil {
						return err
					}
					if got != want {
						return fmt.Errorf("got %q, want %q", got, want)
					}
				}
				return nil
			}()
		}()
	}
	tickUntil(t, s, func() bool { return done.Load() == clients })
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	// The clients closed: every handler sees EOF and ends, its connection
	// closed by Serve.
	tickUntil(t, s, func() bool { return s.Len() == 1 }) // the accept task
	require.NoError(t, ln.Close())
	tickUntil(t, s, func() bool { return s.Len() == 0 })
}

func TestPlainGoroutinesBlockLikeNet(t *testing.T) {
	checkFDs(t)
	ln := listen(t)
	accepted := make(chan *Conn)
	go func() {
		c, err := ln.AcceptConn() // blocks: nothing to accept yet
		assert.NoError(t, err)
		accepted <- c
	}()
	time.Sleep(10 * time.Millisecond)
	client := dial(t, ln)
	c := <-accepted
	defer c.Close()

	got := make(chan string)
	go func() {
		buf := make([]byte, 16)
		n, err := c.Read(buf) // blocks until the client writes
		assert.NoError(t, err)
		got <- string(buf[:n])
	}()
	time.Sleep(10 * time.Millisecond)
	_, err := client.Write([]byte("hello"))
	require.NoError(t, err)
	assert.Equal(t, "hello", <-got)

	_, err = c.Write([]byte("back"))
	require.NoError(t, err)
	buf := make([]byte, 4)
	_, err = io.ReadFull(client, buf)
	require.NoError(t, err)
	assert.Equal(t, "back", string(buf))
	assert.Equal(t, client.LocalAddr().String(), c.RemoteAddr().String())
	assert.Equal(t, client.RemoteAddr().String(), c.LocalAddr().String())
}

// blockedRead starts a read of c in a task of s or in a goroutine, and
// returns the channel its error arrives on.
func blockedRead(s *costack.Scheduler, c *Conn) <-chan error {
	ch := make(chan error, 1)
	read := func() {
		_, err := c.Read(make([]byte, 8))
		ch <- err
	}
	if s != nil {
		s.Go(func(*costack.Task) { read() })
	} else {
		go read()
	}
	return ch
}

// onBoth runs f for a call made in a scheduler task (ticked by a
// goroutine) and for one made in a plain goroutine.
func onBoth(t *testing.T, f func(t *testing.T, s *costack.Scheduler)) {
	t.Run("task", func(t *testing.T) {
		s := costack.NewScheduler()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // the game loop
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				s.Tick()
				time.Sleep(100 * time.Microsecond)
			}
		}()
		defer func() {
			close(stop)
			wg.Wait()
			s.Close()
		}()
		f(t, s)
	})
	t.Run("goroutine", func(t *testing.T) { f(t, nil) })
}

func receive(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(testTimeout):
		t.Fatal("the call did not end")
		return nil
	}
}

func TestCloseWakesBlockedRead(t *testing.T) {
	onBoth(t, func(t *testing.T, s *costack.Scheduler) {
		checkFDs(t)
		c, _ := pair(t, listen(t))
		ch := blockedRead(s, c)
		time.Sleep(20 * time.Millisecond)
		require.NoError(t, c.Close())
		err := receive(t, ch)
		assert.ErrorIs(t, err, net.ErrClosed)
		var op *net.OpError
		require.ErrorAs(t, err, &op)
		assert.Equal(t, "read", op.Op)
		assert.ErrorIs(t, c.Close(), net.ErrClosed)
		_, err = c.Write([]byte("x"))
		assert.ErrorIs(t, err, net.ErrClosed)
	})
}

func TestListenerCloseWakesAccept(t *testing.T) {
	onBoth(t, func(t *testing.T, s *costack.Scheduler) {
		checkFDs(t)
		ln, err := Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ch := make(chan error, 1)
		accept := func() {
			_, err := ln.Accept()
			ch <- err
		}
		if s != nil {
			s.Go(func(*costack.Task) { accept() })
		} else {
			go accept()
		}
		time.Sleep(20 * time.Millisecond)
		require.NoError(t, ln.Close())
		err = receive(t, ch)
		assert.ErrorIs(t, err, net.ErrClosed)
		var op *net.OpError
		require.ErrorAs(t, err, &op)
		assert.Equal(t, "accept", op.Op)
	})
}

func TestReadDeadline(t *testing.T) {
	onBoth(t, func(t *testing.T, s *costack.Scheduler) {
		checkFDs(t)
		c, client := pair(t, listen(t))

		// A deadline set before the call ends it once passed.
		require.NoError(t, c.SetReadDeadline(time.Now().Add(30*time.Millisecond)))
		err := receive(t, blockedRead(s, c))
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		var ne net.Error
		require.ErrorAs(t, err, &ne)
		assert.True(t, ne.Timeout())

		// A passed deadline fails the call even with data waiting, as in
		// package net.
		_, err = client.Write([]byte("data"))
		require.NoError(t, err)
		time.Sleep(10 * time.Millisecond)
		assert.ErrorIs(t, receive(t, blockedRead(s, c)), os.ErrDeadlineExceeded)

		// Clearing it lets reads go on.
		require.NoError(t, c.SetReadDeadline(time.Time{}))
		buf := make([]byte, 4)
		n, err := c.Read(buf)
		require.NoError(t, err)
		assert.Equal(t, "data", string(buf[:n]))

		// A deadline moved into the past from elsewhere wakes a waiting call.
		ch := blockedRead(s, c)
		time.Sleep(20 * time.Millisecond)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(-time.Second)))
		assert.ErrorIs(t, receive(t, ch), os.ErrDeadlineExceeded)

		// A deadline moved later before it fires does not end the call.
		require.NoError(t, c.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
		ch = blockedRead(s, c)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(testTimeout)))
		time.Sleep(50 * time.Millisecond)
		_, err = client.Write([]byte("late"))
		require.NoError(t, err)
		assert.NoError(t, receive(t, ch))
	})
}

func TestWriteDeadline(t *testing.T) {
	onBoth(t, func(t *testing.T, s *costack.Scheduler) {
		checkFDs(t)
		c, _ := pair(t, listen(t)) // the client never reads
		require.NoError(t, c.SetWriteDeadline(time.Now().Add(50*time.Millisecond)))
		ch := make(chan error, 1)
		var wrote atomic.Int64
		write := func() {
			buf := make([]byte, 64<<10)
			for {
				n, err := c.Write(buf)
				wrote.Add(int64(n))
				if err != nil {
					ch <- err
					return
				}
			}
		}
		if s != nil {
			s.Go(func(*costack.Task) { write() })
		} else {
			go write()
		}
		err := receive(t, ch)
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		assert.Positive(t, wrote.Load(), "the socket buffers took something first")
	})
}

func TestCloseWakesBlockedWrite(t *testing.T) {
	onBoth(t, func(t *testing.T, s *costack.Scheduler) {
		checkFDs(t)
		c, _ := pair(t, listen(t))
		ch := make(chan error, 1)
		write := func() {
			buf := make([]byte, 64<<10)
			for {
				if _, err := c.Write(buf); err != nil {
					ch <- err
					return
				}
			}
		}
		if s != nil {
			s.Go(func(*costack.Task) { write() })
		} else {
			go write()
		}
		time.Sleep(50 * time.Millisecond) // buffers full: the writer waits
		require.NoError(t, c.Close())
		assert.ErrorIs(t, receive(t, ch), net.ErrClosed)
	})
}

// A costack coroutine resumed by a task is not a task: a read in it blocks
// the goroutine running it until data comes, and returns it.
func TestListenErrors(t *testing.T) {
	_, err := Listen("udp", "127.0.0.1:0")
	var unknown net.UnknownNetworkError
	assert.ErrorAs(t, err, &unknown)
	_, err = Listen("tcp", "no-such-host.invalid:80")
	assert.Error(t, err)
	ln := listen(t)
	_, err = Listen("tcp", ln.Addr().String())
	assert.ErrorIs(t, err, syscall.EADDRINUSE)
	var op *net.OpError
	require.ErrorAs(t, err, &op)
	assert.Equal(t, "listen", op.Op)
}

func TestListenNetworks(t *testing.T) {
	checkFDs(t)
	for _, tc := range []struct{ network, addr, dial string }{
		{"tcp", "127.0.0.1:0", "127.0.0.1"},
		{"tcp4", ":0", "127.0.0.1"},
		{"tcp", ":0", "127.0.0.1"}, // dual stack where IPv6 exists
		{"tcp6", "[::1]:0", "::1"},
	} {
		t.Run(tc.network+" "+tc.addr, func(t *testing.T) {
			if strings.Contains(tc.dial, ":") && !hasIPv6() {
				t.Skip("no IPv6 on this host")
			}
			ln, err := Listen(tc.network, tc.addr)
			require.NoError(t, err)
			defer ln.Close()
			port := ln.Addr().(*net.TCPAddr).Port
			require.NotZero(t, port)
			client, err := net.Dial("tcp", net.JoinHostPort(tc.dial, fmt.Sprint(port)))
			require.NoError(t, err)
			defer client.Close()
			c, err := ln.AcceptConn()
			require.NoError(t, err)
			defer c.Close()
			assert.Equal(t, client.LocalAddr().String(), c.RemoteAddr().String())
			assert.Equal(t, client.RemoteAddr().(*net.TCPAddr).Port, c.LocalAddr().(*net.TCPAddr).Port)
		})
	}
}

// A reader queued behind a reader that is cancelled while it waits gets
// the connection: the cancelled one never unlocks, the queued one notices.
// Close and a deadline set from another task (not a goroutine) wake a
// waiting reader the same way.
func TestCloseAndDeadlineFromAnotherTask(t *testing.T) {
	checkFDs(t)
	ln := listen(t)
	a, _ := pair(t, ln)
	b, _ := pair(t, ln)
	s := costack.NewScheduler()
	defer s.Close()
	errs := make(chan error, 2)
	for _, c := range []*Conn{a, b} {
		s.Go(func(*costack.Task) {
			_, err := c.Read(make([]byte, 8))
			errs <- err
		})
	}
	s.Tick() // both wait
	s.Go(func(*costack.Task) {
		a.Close()
		b.SetReadDeadline(time.Now())
	})
	tickUntil(t, s, func() bool { return len(errs) == 2 })
	got := []error{<-errs, <-errs}
	assert.True(t, errors.Is(got[0], net.ErrClosed) || errors.Is(got[1], net.ErrClosed), "%v", got)
	assert.True(t, errors.Is(got[0], os.ErrDeadlineExceeded) || errors.Is(got[1], os.ErrDeadlineExceeded), "%v", got)
}

// Inside interop.Call a call that would wait panics naming interop.Call,
// as every wait does (the package docs say so); one that need not wait
// runs.
// Two readers queued behind a third: when it is done, the first of them is
// woken but cancelled before it runs; the other still gets the connection.

// A read that came back short lets the next one wait for an edge without
// trying the socket first (flagDrained). Whatever the edge, harvested
// before that read or still in the epoll instance, the data or the EOF it
// announces must be read.
func TestReadAfterShortRead(t *testing.T) {
	checkFDs(t)
	p, err := NewPoller()
	require.NoError(t, err)
	defer func() { require.NoError(t, p.Close()) }()
	ln := listenOn(t, p)
	defer ln.Close()
	flags := func(c *Conn) uint16 {
		c.fd.mu.Lock()
		defer c.fd.mu.Unlock()
		return c.fd.flags
	}
	// harvest polls until the edge of what the client just did has been
	// seen with no reader waiting.
	harvest := func(c *Conn, f uint16) {
		deadline := time.Now().Add(testTimeout)
		for flags(c)&f == 0 {
			require.True(t, time.Now().Before(deadline), "no edge")
			p.Wait(time.Millisecond)
		}
	}
	read := func(c *Conn) string {
		buf := make([]byte, 16)
		n, err := c.Read(buf)
		if err != nil {
			return err.Error()
		}
		return string(buf[:n])
	}
	for _, harvested := range []bool{false, true} {
		c, client := pair(t, ln)
		c.SetReadDeadline(time.Now().Add(testTimeout)) // a hang fails
		_, err := client.Write([]byte("a"))
		require.NoError(t, err)
		// The data is in first: a read that found nothing yet and waited
		// would see this edge come while it runs, and rightly not mark
		// the socket drained (markDrained).
		harvest(c, bit(flagReady, modeRead))
		assert.Equal(t, "a", read(c))
		assert.NotZero(t, flags(c)&flagDrained, "a short read marks the socket drained")
		_, err = client.Write([]byte("b"))
		require.NoError(t, err)
		if harvested {
			harvest(c, bit(flagReady, modeRead))
		}
		assert.Equal(t, "b", read(c))
		_, err = client.Write([]byte("c"))
		require.NoError(t, err)
		require.NoError(t, client.(*net.TCPConn).CloseWrite())
		if harvested {
			// The FIN's edge is taken before the read that
			// gets "c": no edge is left to announce the EOF.
			harvest(c, flagEnding)
		}
		assert.Equal(t, "c", read(c))
		assert.Equal(t, io.EOF.Error(), read(c))
		assert.Equal(t, io.EOF.Error(), read(c))
		client.Close()
		c.Close()
	}
}

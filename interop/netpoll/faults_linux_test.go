package netpoll

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/textproto"
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

func TestPeerReset(t *testing.T) {
	onBoth(t, func(t *testing.T, s *costack.Scheduler) {
		checkFDs(t)
		c, client := pair(t, listen(t))
		ch := blockedRead(s, c)
		time.Sleep(10 * time.Millisecond)
		// Linger 0: close sends RST.
		require.NoError(t, client.(*net.TCPConn).SetLinger(0))
		require.NoError(t, client.Close())
		err := receive(t, ch)
		assert.ErrorIs(t, err, syscall.ECONNRESET)
		var op *net.OpError
		require.ErrorAs(t, err, &op)
		assert.Equal(t, "read", op.Op)
	})
}

func TestHalfClose(t *testing.T) {
	onBoth(t, func(t *testing.T, s *costack.Scheduler) {
		checkFDs(t)
		c, client := pair(t, listen(t))
		ch := blockedRead(s, c)
		time.Sleep(10 * time.Millisecond)
		require.NoError(t, client.(*net.TCPConn).CloseWrite())
		assert.ErrorIs(t, receive(t, ch), io.EOF)
		// Our side can still write, and the peer still reads.
		_, err := c.Write([]byte("still here"))
		require.NoError(t, err)
		require.NoError(t, c.CloseWrite())
		got, err := io.ReadAll(client)
		require.NoError(t, err)
		assert.Equal(t, "still here", string(got))
	})
}

func TestCloseReadGivesEOF(t *testing.T) {
	checkFDs(t)
	c, _ := pair(t, listen(t))
	ch := blockedRead(nil, c)
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, c.CloseRead())
	assert.ErrorIs(t, receive(t, ch), io.EOF)
}

func TestSilentAndVanishingPeers(t *testing.T) {
	checkFDs(t)
	ln := listen(t)
	s := costack.NewScheduler()
	defer s.Close()
	var silent, vanished atomic.Int32
	Serve(s, ln, func(t *costack.Task, c *Conn) {
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		_, err := c.Read(make([]byte, 1))
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			silent.Add(1)
		case errors.Is(err, io.EOF):
			vanished.Add(1)
		}
	})
	const n = 5
	for range n {
		dial(t, ln) // connects and says nothing
		c := dial(t, ln)
		c.Close() // connects and goes away
	}
	tickUntil(t, s, func() bool { return silent.Load() == n && vanished.Load() == n })
	require.NoError(t, ln.Close())
	tickUntil(t, s, func() bool { return s.Len() == 0 })
}

func TestGarbageInput(t *testing.T) {
	checkFDs(t)
	ln := listen(t)
	s := costack.NewScheduler()
	defer s.Close()
	var jsonErrs, protoErrs atomic.Int32
	Serve(s, ln, func(t *costack.Task, c *Conn) {
		r := bufio.NewReader(c)
		kind, err := r.ReadString('\n')
		if err != nil {
			return
		}
		switch kind {
		case "json\n":
			var v map[string]int
			if err := json.NewDecoder(r).Decode(&v); err != nil {
				jsonErrs.Add(1)
				return
			}
			json.NewEncoder(c).Encode(v)
		case "proto\n":
			if _, err := textproto.NewReader(r).ReadMIMEHeader(); err != nil {
				protoErrs.Add(1)
				return
			}
			io.WriteString(c, "ok\n")
		}
	})
	// Each message on its own connection, from a client goroutine, while
	// the test's goroutine ticks.
	send := func(msg string) string {
		ch := make(chan string, 1)
		go func() {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				ch <- err.Error()
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(testTimeout))
			io.WriteString(c, msg)
			c.(*net.TCPConn).CloseWrite()
			got, _ := io.ReadAll(c)
			ch <- string(got)
		}()
		var got string
		tickUntil(t, s, func() bool {
			select {
			case got = <-ch:
				return true
			default:
				return false
			}
		})
		return got
	}
	assert.Equal(t, "{\"a\":1}\n", send("json\n{\"a\": 1}\n"))
	assert.Equal(t, "ok\n", send("proto\nKey: value\r\n\r\n"))
	assert.Empty(t, send("json\n\x00\xff{{garbage"))
	assert.Empty(t, send("proto\n\x00\xff no colon here\r\n\r\n"))
	assert.Empty(t, send(strings.Repeat("\xfe", 100000)))
	tickUntil(t, s, func() bool { return jsonErrs.Load() == 1 && protoErrs.Load() == 1 })
	require.NoError(t, ln.Close())
	tickUntil(t, s, func() bool { return s.Len() == 0 })
}

func TestHandlerPanicEndsItsConnectionOnly(t *testing.T) {
	checkFDs(t)
	ln := listen(t)
	s := costack.NewScheduler()
	defer s.Close()
	var logged bytes.Buffer
	var mu sync.Mutex
	srv := &Server{
		Handler: func(t *costack.Task, c *Conn) {
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil {
				return
			}
			if line == "panic\n" {
				panic("handler bug")
			}
			io.WriteString(c, "fine\n")
		},
		ErrorLog: newLogger(&logged, &mu),
	}
	srv.Serve(s, ln)

	good := dial(t, ln)
	bad := dial(t, ln)
	done := make(chan string, 2)
	go func() {
		io.WriteString(bad, "panic\n")
		got, _ := io.ReadAll(bad) // the panic closed it: EOF
		done <- "bad:" + string(got)
	}()
	go func() {
		time.Sleep(20 * time.Millisecond)
		io.WriteString(good, "hello\n")
		got, _ := bufio.NewReader(good).ReadString('\n')
		done <- "good:" + got
	}()
	var got []string
	tickUntil(t, s, func() bool {
		select {
		case g := <-done:
			got = append(got, g)
		default:
		}
		return len(got) == 2
	})
	assert.ElementsMatch(t, []string{"bad:", "good:fine\n"}, got)
	mu.Lock()
	assert.Contains(t, logged.String(), "panic serving")
	assert.Contains(t, logged.String(), "handler bug")
	mu.Unlock()
	require.NoError(t, ln.Close())
	good.Close()
	tickUntil(t, s, func() bool { return s.Len() == 0 })
}

package netpoll

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/costack-dev/costack/costack"
)

func TestDialFromTasksAndGoroutines(t *testing.T) {
	onBoth(t, func(t *testing.T, s *costack.Scheduler) {
		checkFDs(t)
		ln, err := net.Listen("tcp", "127.0.0.1:0") // a package-net server
		require.NoError(t, err)
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				// Hide the ReaderFrom: splice would keep pooled pipes open.
				go func() { io.Copy(struct{ io.Writer }{c}, struct{ io.Reader }{c}); c.Close() }()
			}
		}()
		ch := make(chan error, 1)
		dial := func() {
			ch <- func() error {
				c, err := Dial("tcp", ln.Addr().String())
				if err != nil {
					return err
				}
				defer c.Close()
				if c.RemoteAddr().String() != ln.Addr().String() {
					return errors.New("remote address " + c.RemoteAddr().String())
				}
				if c.LocalAddr() == nil {
					return errors.New("no local address")
				}
				if _, err := c.Write([]byte("ping")); err != nil {
					return err
				}
				buf := make([]byte, 4)
				if _, err := io.ReadFull(c, buf); err != nil {
					return err
				}
				if string(buf) != "ping" {
					return errors.New("got " + string(buf))
				}
				return nil
			}()
		}
		if s != nil {
			s.Go(func(*costack.Task) { dial() })
		} else {
			go dial()
		}
		assert.NoError(t, receive(t, ch))
	})
}

func TestDialErrors(t *testing.T) {
	checkFDs(t)
	// A port nobody listens on: refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	_, err = Dial("tcp", addr)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	var op *net.OpError
	require.ErrorAs(t, err, &op)
	assert.Equal(t, "dial", op.Op)
	_, err = Dial("udp", addr)
	var unknown net.UnknownNetworkError
	assert.ErrorAs(t, err, &unknown)
}

func TestDialTimeout(t *testing.T) {
	checkFDs(t)
	// A listener whose backlog is full does not answer new SYNs.
	ln := listen(t)
	var clients []net.Conn
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	d := Dialer{Timeout: 50 * time.Millisecond}
	for range 10000 {
		c, err := d.Dial("tcp", ln.Addr().String())
		if err != nil {
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			var ne net.Error
			require.ErrorAs(t, err, &ne)
			assert.True(t, ne.Timeout())
			return
		}
		clients = append(clients, c)
	}
	t.Skip("the backlog never filled")
}

package netpoll

import (
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// A Conn is a TCP connection accepted by a [Listener]. It is a net.Conn:
// Read and Write suspend only the calling scheduler task while they cannot
// proceed, and block a plain goroutine like package net's. Its errors are
// package net's: a *net.OpError wrapping io.EOF's absence, net.ErrClosed,
// os.ErrDeadlineExceeded or an *os.SyscallError.
//
// A Conn holds no buffer: an idle connection costs the Conn (80 bytes)
// and whatever the handler keeps in its frames.
type Conn struct {
	fd    fdesc
	ln    *lninfo
	raddr sockaddr
}

// lninfo is what a listener's connections share.
type lninfo struct {
	net   string
	laddr *net.TCPAddr
	// anyAddr: laddr is a wildcard, so a connection's local address is
	// its own (getsockname).
	anyAddr bool
	// srv is the Server whose task serves the connection, if any.
	srv *Server
}

var _ net.Conn = (*Conn)(nil)

// Read reads up to len(b) bytes. It returns io.EOF when the peer has
// closed its side (or CloseRead was called) and no data is left.
func (c *Conn) Read(b []byte) (int, error) { return c.read(b) }

// Write writes all of b, waiting for room as needed; it returns the
// number of bytes written and, if that is less than len(b), the error.
func (c *Conn) Write(b []byte) (int, error) { return c.write(b) }

// Close closes the connection. Calls waiting in Read or Write, in any task
// or goroutine, end with net.ErrClosed. A second Close returns an error
// wrapping net.ErrClosed.
func (c *Conn) Close() error {
	if err := c.fd.close(); err != nil {
		return c.opError("close", err)
	}
	return nil
}

// CloseRead shuts down the reading side: Reads return io.EOF.
func (c *Conn) CloseRead() error { return c.shutdown(unix.SHUT_RD) }

// CloseWrite shuts down the writing side (the peer reads io.EOF); Reads
// go on.
func (c *Conn) CloseWrite() error { return c.shutdown(unix.SHUT_WR) }

func (c *Conn) shutdown(how int) error {
	err := c.fd.control(func(fd int) error {
		if err := unix.Shutdown(fd, how); err != nil {
			return os.NewSyscallError("shutdown", err)
		}
		return nil
	})
	if err != nil {
		return c.opError("close", err)
	}
	if how == unix.SHUT_RD {
		// Reads now return io.EOF at once: a read that came back short
		// before must not make the next one wait for an edge.
		c.fd.mu.Lock()
		c.fd.flags &^= flagDrained
		c.fd.mu.Unlock()
	}
	return nil
}

// LocalAddr returns the local address, a *net.TCPAddr.
func (c *Conn) LocalAddr() net.Addr {
	if !c.ln.anyAddr {
		return c.ln.laddr
	}
	var a net.Addr
	if c.ln.laddr != nil {
		a = c.ln.laddr
	}
	c.fd.control(func(fd int) error {
		if sa, err := unix.Getsockname(fd); err == nil {
			if s, ok := toSockaddr(sa); ok {
				a = s.tcpAddr()
			}
		}
		return nil
	})
	return a
}

// RemoteAddr returns the peer's address, a *net.TCPAddr.
func (c *Conn) RemoteAddr() net.Addr { return c.raddr.tcpAddr() }

// SetDeadline sets the read and write deadlines, as net.Conn's.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.fd.setDeadline(modeRead, t); err != nil {
		return c.opError("set", err)
	}
	if err := c.fd.setDeadline(modeWrite, t); err != nil {
		return c.opError("set", err)
	}
	return nil
}

// SetReadDeadline sets the time after which Read fails with an error
// wrapping os.ErrDeadlineExceeded (zero: never), waking a Read that waits.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if err := c.fd.setDeadline(modeRead, t); err != nil {
		return c.opError("set", err)
	}
	return nil
}

// SetWriteDeadline is SetReadDeadline for Write.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if err := c.fd.setDeadline(modeWrite, t); err != nil {
		return c.opError("set", err)
	}
	return nil
}

// SetNoDelay sets TCP_NODELAY (on by default, as in package net).
func (c *Conn) SetNoDelay(noDelay bool) error {
	err := c.fd.control(func(fd int) error {
		return os.NewSyscallError("setsockopt", unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, boolint(noDelay)))
	})
	if err != nil {
		return c.opError("set", err)
	}
	return nil
}

func (c *Conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: c.ln.net, Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// forServer returns what Serve does to each connection it accepts on ln:
// the connections share a copy of ln's lninfo that names srv (one per
// Serve), so that a connection's task needs no pointer to srv.
func (ln *Listener) forServer(srv *Server) func(*Conn) {
	info := ln.info
	info.srv = srv
	return func(c *Conn) { c.ln = &info }
}

// server is the Server serving c (see forServer), or nil.
func (c *Conn) server() *Server { return c.ln.srv }

func boolint(b bool) int {
	if b {
		return 1
	}
	return 0
}

package netpoll

import (
	"context"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Dial connects to the address on the named network ("tcp", "tcp4" or
// "tcp6") with the [DefaultPoller], as net.Dial does; see [Dialer].
func Dial(network, address string) (*Conn, error) {
	var d Dialer
	return d.Dial(network, address)
}

// A Dialer holds options for connecting. Called from a scheduler task,
// Dial suspends only that task while the connection is being made.
type Dialer struct {
	// Poller is the poller the connection is registered with; nil means
	// the DefaultPoller.
	Poller *Poller
	// Timeout bounds the connect (0: no limit but the system's).
	Timeout time.Duration
	// KeepAlive is as in ListenConfig.
	KeepAlive time.Duration
}

// Dial connects to the address. The host must be an IP address or a name
// that resolves to one (resolving a name blocks the caller).
func (d *Dialer) Dial(network, address string) (*Conn, error) {
	c, raddr, err := d.dial(network, address)
	if err != nil {
		op := &net.OpError{Op: "dial", Net: network, Err: err}
		if raddr != nil {
			op.Addr = raddr
		}
		return nil, op
	}
	return c, nil
}

func (d *Dialer) dial(network, address string) (*Conn, *net.TCPAddr, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, nil, net.UnknownNetworkError(network)
	}
	raddr, err := net.ResolveTCPAddr(network, address)
	if err != nil {
		return nil, nil, err
	}
	if raddr.IP == nil {
		raddr.IP = net.IPv4(127, 0, 0, 1) // as net.Dial does for ":port"
	}
	p := d.Poller
	if p == nil {
		if p, err = DefaultPoller(); err != nil {
			return nil, raddr, err
		}
	}
	family, sa := unix.AF_INET6, unix.Sockaddr(nil)
	if ip4 := raddr.IP.To4(); ip4 != nil && network != "tcp6" {
		family = unix.AF_INET
		s := &unix.SockaddrInet4{Port: raddr.Port}
		copy(s.Addr[:], ip4)
		sa = s
	} else if network == "tcp4" {
		return nil, raddr, &net.AddrError{Err: "not an IPv4 address", Addr: raddr.IP.String()}
	} else {
		s := &unix.SockaddrInet6{Port: raddr.Port}
		copy(s.Addr[:], raddr.IP.To16())
		sa = s
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return nil, raddr, os.NewSyscallError("socket", err)
	}
	c := &Conn{ln: &lninfo{net: network}}
	c.fd.sysfd = int32(fd)
	c.raddr, _ = toSockaddr(sa)
	if err := p.register(&c.fd, unix.EPOLLIN|unix.EPOLLOUT|unix.EPOLLRDHUP); err != nil {
		unix.Close(fd)
		return nil, raddr, err
	}
	if err := c.connect(sa, d.Timeout); err != nil {
		c.fd.close()
		return nil, raddr, err
	}
	if err := c.fd.control(func(fd int) error { return setupConn(fd, d.KeepAlive) }); err != nil {
		c.fd.close()
		return nil, raddr, err
	}
	c.ln.laddr, c.ln.anyAddr = nil, true // LocalAddr asks the socket
	return c, raddr, nil
}

// connect starts a non-blocking connect and waits for it to complete,
// within timeout (0: none), through the write slot.
func (c *Conn) connect(sa unix.Sockaddr, timeout time.Duration) error {
	d := &c.fd
	err := d.control(func(fd int) error { return unix.Connect(fd, sa) })
	switch err {
	case nil:
		return nil
	case unix.EINPROGRESS, unix.EINTR, unix.EALREADY:
	default:
		return os.NewSyscallError("connect", err)
	}
	if timeout > 0 {
		d.setDeadline(modeWrite, time.Now().Add(timeout))
		defer d.setDeadline(modeWrite, time.Time{})
	}
	if _, err := d.lock(modeWrite); err != nil {
		return err
	}
	defer d.unlock(modeWrite)
	// Writable means connected or failed; SO_ERROR tells which, and a
	// socket that is neither yet (an early edge) has no peer name.
	for {
		if err := d.wait(modeWrite); err != nil {
			if err == errTimeout {
				return context.DeadlineExceeded // what net.Dial's timeout reports
			}
			return err
		}
		var soerr int
		err := d.control(func(fd int) error {
			var err error
			if soerr, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil {
				return os.NewSyscallError("getsockopt", err)
			}
			if soerr == 0 {
				if _, err := unix.Getpeername(fd); err != nil {
					soerr = int(unix.EINPROGRESS)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		switch e := unix.Errno(soerr); e {
		case 0, unix.EISCONN:
			return nil
		case unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
		default:
			return os.NewSyscallError("connect", e)
		}
	}
}

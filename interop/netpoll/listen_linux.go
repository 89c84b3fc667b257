package netpoll

import (
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Listen announces on the local network address, as net.Listen does, for
// the networks "tcp", "tcp4" and "tcp6", with the [DefaultPoller]. See
// [ListenConfig] for the options.
func Listen(network, address string) (*Listener, error) {
	var lc ListenConfig
	return lc.Listen(network, address)
}

// Listen announces on the local network address with lc's options.
func (lc *ListenConfig) Listen(network, address string) (*Listener, error) {
	ln, err := lc.listen(network, address)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	return ln, nil
}

func (lc *ListenConfig) listen(network, address string) (*Listener, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, net.UnknownNetworkError(network)
	}
	addr, err := net.ResolveTCPAddr(network, address)
	if err != nil {
		return nil, err
	}
	p := lc.Poller
	if p == nil {
		if p, err = DefaultPoller(); err != nil {
			return nil, err
		}
	}
	fd, err := listenSocket(network, addr)
	if err != nil {
		return nil, err
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("getsockname", err)
	}
	s, _ := toSockaddr(sa)
	ln := &Listener{
		info:      lninfo{net: network, laddr: s.tcpAddr(), anyAddr: addr.IP == nil || addr.IP.IsUnspecified()},
		keepAlive: lc.KeepAlive,
	}
	ln.fd.sysfd = int32(fd)
	if err := p.register(&ln.fd, unix.EPOLLIN); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return ln, nil
}

// listenSocket makes a bound, listening, non-blocking socket. Like package
// net, "tcp" with a wildcard address listens on both IPv6 and IPv4 where
// the host has IPv6.
func listenSocket(network string, addr *net.TCPAddr) (int, error) {
	family := unix.AF_INET6
	switch {
	case network == "tcp4" || (network == "tcp" && addr.IP.To4() != nil && !addr.IP.IsUnspecified()):
		family = unix.AF_INET
	case network == "tcp" && (addr.IP == nil || addr.IP.IsUnspecified()) && !hasIPv6():
		family = unix.AF_INET
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	fail := func(call string, err error) (int, error) {
		unix.Close(fd)
		return -1, os.NewSyscallError(call, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fail("setsockopt", err)
	}
	var sa unix.Sockaddr
	if family == unix.AF_INET {
		s := &unix.SockaddrInet4{Port: addr.Port}
		if ip4 := addr.IP.To4(); ip4 != nil {
			copy(s.Addr[:], ip4)
		}
		sa = s
	} else {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, boolint(network == "tcp6")); err != nil {
			return fail("setsockopt", err)
		}
		s := &unix.SockaddrInet6{Port: addr.Port}
		if addr.IP != nil && !(network == "tcp" && addr.IP.IsUnspecified()) {
			copy(s.Addr[:], addr.IP.To16())
		}
		if addr.Zone != "" {
			if ifi, err := net.InterfaceByName(addr.Zone); err == nil {
				s.ZoneId = uint32(ifi.Index)
			} else if n, err := strconv.Atoi(addr.Zone); err == nil {
				s.ZoneId = uint32(n)
			}
		}
		sa = s
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	if err := unix.Listen(fd, backlog()); err != nil {
		return fail("listen", err)
	}
	return fd, nil
}

var (
	ipv6Once sync.Once
	ipv6     bool
)

// hasIPv6 reports whether an IPv6 socket can be bound on this host.
func hasIPv6() bool {
	ipv6Once.Do(func() {
		fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
		if err != nil {
			return
		}
		defer unix.Close(fd)
		ipv6 = unix.Bind(fd, &unix.SockaddrInet6{Addr: [16]byte{15: 1}}) == nil
	})
	return ipv6
}

var (
	backlogOnce sync.Once
	backlogN    = unix.SOMAXCONN
)

// backlog is the listen backlog: the system's somaxconn, as package net
// uses.
func backlog() int {
	backlogOnce.Do(func() {
		b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
		if err != nil {
			return
		}
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n > 0 {
			backlogN = min(n, 1<<16-1)
		}
	})
	return backlogN
}

// A Listener is a TCP listener whose Accept suspends only the calling
// scheduler task while no connection is pending (and blocks a plain
// goroutine like package net's). It is a net.Listener.
type Listener struct {
	fd        fdesc
	info      lninfo
	keepAlive time.Duration
}

var _ net.Listener = (*Listener)(nil)

// Accept waits for and returns the next connection, a [*Conn].
func (ln *Listener) Accept() (net.Conn, error) {
	c, err := ln.AcceptConn()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AcceptConn is Accept returning the concrete type. Like package net's,
// its errors are *net.OpErrors; running out of file descriptors (EMFILE,
// ENFILE) is one whose Temporary method reports true: back off and retry
// (as [Serve] does) rather than spin.
func (ln *Listener) AcceptConn() (*Conn, error) {
	nfd, sa, err := ln.fd.accept()
	if err != nil {
		return nil, ln.opError("accept", err)
	}
	c := &Conn{ln: &ln.info}
	c.raddr, _ = toSockaddr(sa)
	c.fd.sysfd = int32(nfd)
	if err := setupConn(nfd, ln.keepAlive); err != nil {
		unix.Close(nfd)
		return nil, ln.opError("accept", err)
	}
	if err := ln.fd.p.register(&c.fd, unix.EPOLLIN|unix.EPOLLOUT|unix.EPOLLRDHUP); err != nil {
		unix.Close(nfd)
		return nil, ln.opError("accept", err)
	}
	return c, nil
}

// setupConn sets the socket options package net sets on an accepted
// connection: TCP_NODELAY, and keep-alive probes (after 15 s idle, every
// 15 s, 9 of them) unless keepAlive < 0.
func setupConn(fd int, keepAlive time.Duration) error {
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	if keepAlive < 0 {
		return nil
	}
	if keepAlive == 0 {
		keepAlive = 15 * time.Second
	}
	secs := int(max((keepAlive+time.Second-1)/time.Second, 1))
	for _, o := range [...][3]int{
		{unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1},
		{unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, secs},
		{unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, secs},
		{unix.IPPROTO_TCP, unix.TCP_KEEPCNT, 9},
	} {
		if err := unix.SetsockoptInt(fd, o[0], o[1], o[2]); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	}
	return nil
}

// Close stops listening. An Accept waiting in any task or goroutine ends
// with an error wrapping net.ErrClosed. Connections already accepted stay
// open.
func (ln *Listener) Close() error {
	if err := ln.fd.close(); err != nil {
		return ln.opError("close", err)
	}
	return nil
}

// Addr returns the listener's address, a *net.TCPAddr (with the port the
// system chose, if the address asked for port 0).
func (ln *Listener) Addr() net.Addr { return ln.info.laddr }

func (ln *Listener) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: ln.info.net, Addr: ln.info.laddr, Err: err}
}

// sockaddr is a compact IP socket address: what a Conn keeps of its peer's.
// An IPv4 address (or an IPv4-mapped IPv6 one, which package net shows the
// same way) is kept in it, an IPv6 one apart: 16 bytes in all, which keeps
// a Conn in the 96-byte size class.
type sockaddr struct {
	ip4  [4]byte
	port uint16
	v6   *addr6
}

type addr6 struct {
	ip   [16]byte
	zone uint32
}

func toSockaddr(sa unix.Sockaddr) (sockaddr, bool) {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return sockaddr{ip4: sa.Addr, port: uint16(sa.Port)}, true
	case *unix.SockaddrInet6:
		s := sockaddr{port: uint16(sa.Port)}
		if ip := net.IP(sa.Addr[:]); ip.To4() != nil && sa.ZoneId == 0 {
			copy(s.ip4[:], ip.To4())
		} else {
			s.v6 = &addr6{ip: sa.Addr, zone: sa.ZoneId}
		}
		return s, true
	}
	return sockaddr{}, false
}

func (s sockaddr) tcpAddr() *net.TCPAddr {
	a := &net.TCPAddr{Port: int(s.port)}
	if s.v6 == nil {
		a.IP = net.IPv4(s.ip4[0], s.ip4[1], s.ip4[2], s.ip4[3])
	} else {
		a.IP = append(net.IP(nil), s.v6.ip[:]...)
		if s.v6.zone != 0 {
			if ifi, err := net.InterfaceByIndex(int(s.v6.zone)); err == nil {
				a.Zone = ifi.Name
			} else {
				a.Zone = strconv.Itoa(int(s.v6.zone))
			}
		}
	}
	return a
}

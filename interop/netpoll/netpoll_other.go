//go:build !linux

package netpoll

import (
	"errors"
	"net"
	"runtime"
	"time"
)

// errPlatform is what Listen and NewPoller return where netpoll has no
// poller.
var errPlatform = errors.New("netpoll: not supported on " + runtime.GOOS + "/" + runtime.GOARCH + " (netpoll needs epoll: linux only)")

// Poller is netpoll's epoll instance; on this platform there is none.
type Poller struct{}

// StarveAfter: see the linux documentation.
const StarveAfter = 10 * time.Millisecond

// ErrPollerBusy is returned by Poller.Close while descriptors are open.
var ErrPollerBusy = errors.New("netpoll: poller has open listeners or connections")

// NewPoller fails on this platform.
func NewPoller() (*Poller, error) { return nil, errPlatform }

// DefaultPoller fails on this platform.
func DefaultPoller() (*Poller, error) { return nil, errPlatform }

// Wait returns at once on this platform.
func (p *Poller) Wait(timeout time.Duration) {}

// Interrupt does nothing on this platform.
func (p *Poller) Interrupt() {}

// Close fails on this platform.
func (p *Poller) Close() error { return errPlatform }

// Listen fails on this platform with an error that names it.
func Listen(network, address string) (*Listener, error) {
	var lc ListenConfig
	return lc.Listen(network, address)
}

// Listen fails on this platform with an error that names it.
func (lc *ListenConfig) Listen(network, address string) (*Listener, error) {
	return nil, &net.OpError{Op: "listen", Net: network, Err: errPlatform}
}

// Listener is a netpoll listener; on this platform none can be made.
type Listener struct{}

// Accept fails on this platform.
func (ln *Listener) Accept() (net.Conn, error) { return nil, errPlatform }

// AcceptConn fails on this platform.
func (ln *Listener) AcceptConn() (*Conn, error) { return nil, errPlatform }

// Close fails on this platform.
func (ln *Listener) Close() error { return errPlatform }

// Addr returns nil on this platform.
func (ln *Listener) Addr() net.Addr { return nil }

// Conn is a netpoll connection; on this platform none can be made.
type Conn struct{}

var _ net.Conn = (*Conn)(nil)

// Read fails on this platform.
func (c *Conn) Read([]byte) (int, error) { return 0, errPlatform }

// Write fails on this platform.
func (c *Conn) Write([]byte) (int, error) { return 0, errPlatform }

// Close fails on this platform.
func (c *Conn) Close() error { return errPlatform }

// CloseRead fails on this platform.
func (c *Conn) CloseRead() error { return errPlatform }

// CloseWrite fails on this platform.
func (c *Conn) CloseWrite() error { return errPlatform }

// LocalAddr returns nil on this platform.
func (c *Conn) LocalAddr() net.Addr { return nil }

// RemoteAddr returns nil on this platform.
func (c *Conn) RemoteAddr() net.Addr { return nil }

// SetDeadline fails on this platform.
func (c *Conn) SetDeadline(time.Time) error { return errPlatform }

// SetReadDeadline fails on this platform.
func (c *Conn) SetReadDeadline(time.Time) error { return errPlatform }

// SetWriteDeadline fails on this platform.
func (c *Conn) SetWriteDeadline(time.Time) error { return errPlatform }

// SetNoDelay fails on this platform.
func (c *Conn) SetNoDelay(bool) error { return errPlatform }

// PollerStats is what Poller.Stats reports.
type PollerStats struct {
	Descriptors, Waiting    int
	WokenByWait, WokenByOwn int64
}

// Stats reports zeros on this platform.
func (p *Poller) Stats() PollerStats { return PollerStats{} }

// Dial fails on this platform with an error that names it.
func Dial(network, address string) (*Conn, error) {
	var d Dialer
	return d.Dial(network, address)
}

// Dialer holds options for connecting.
type Dialer struct {
	Poller    *Poller
	Timeout   time.Duration
	KeepAlive time.Duration
}

// Dial fails on this platform with an error that names it.
func (d *Dialer) Dial(network, address string) (*Conn, error) {
	return nil, &net.OpError{Op: "dial", Net: network, Err: errPlatform}
}

func (ln *Listener) forServer(*Server) func(*Conn) { return func(*Conn) {} }

func (c *Conn) server() *Server { return nil }

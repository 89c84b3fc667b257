package netpoll

import (
	"net"
	"os"
	"time"
)

// The errors of package net that calls end with, wrapped in *net.OpError:
// a closed descriptor and a passed deadline.
var (
	errClosed  = net.ErrClosed
	errTimeout = os.ErrDeadlineExceeded
)

// ListenConfig holds options for listening.
type ListenConfig struct {
	// Poller is the poller the listener and its connections are
	// registered with; nil means the DefaultPoller.
	Poller *Poller
	// KeepAlive is the keep-alive period of accepted connections: 0
	// means package net's default (15 s), a negative value turns
	// keep-alive probes off. Probes are what eventually ends a read from
	// a peer that vanished without closing; deadlines end it sooner.
	KeepAlive time.Duration
}

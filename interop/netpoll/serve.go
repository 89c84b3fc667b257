package netpoll

import (
	"errors"
	"log"
	"net"
	"runtime/debug"
	"time"

	"github.com/costack-dev/costack/costack"
)

// A Handler serves one connection, in a task of its own. The connection is
// closed when the handler returns, panics, or its task is cancelled.
type Handler func(t *costack.Task, c *Conn)

// A Server runs a task per accepted connection on a scheduler.
type Server struct {
	// Handler serves each connection; it must not be nil.
	Handler Handler
	// ErrorLog receives handler panics and accept errors; nil means the
	// log package's standard logger.
	ErrorLog *log.Logger
}

// Serve starts a task on s that accepts connections on ln and starts a
// task running h for each: [Server.Serve] with the default options.
func Serve(s *costack.Scheduler, ln *Listener, h Handler) *costack.Task {
	return (&Server{Handler: h}).Serve(s, ln)
}

// Serve starts a task on s that accepts connections on ln until ln is
// closed (or the task is cancelled) and starts a task running the handler
// for each. A handler that panics ends its own connection only: the panic
// is logged and the connection closed. When accepting fails for want of
// file descriptors (EMFILE, ENFILE) or another temporary reason, the task
// waits before it tries again, 5 ms at first, doubling up to 1 s, as
// net/http's server does, so that a full descriptor table does not spin
// the loop; other errors are logged and end the task. Serve does not
// close ln.
func (srv *Server) Serve(s *costack.Scheduler, ln *Listener) *costack.Task {
	if srv.Handler == nil {
		panic("netpoll: Server with a nil Handler")
	}
	return s.Go(func(t *costack.Task) { srv.acceptLoop(t, ln) })
}

func (srv *Server) acceptLoop(t *costack.Task, ln *Listener) {
	// The connections served name srv (see forServer), so that a
	// connection's task holds only the connection.
	adopt := ln.forServer(srv)
	var delay time.Duration
	for {
		c, err := ln.AcceptConn()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var te interface{ Temporary() bool }
			if errors.As(err, &te) && te.Temporary() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				srv.logf("netpoll: accept error: %v; retrying in %v", err, delay)
				sleep(t, delay)
				continue
			}
			srv.logf("netpoll: accept error: %v; no longer serving %v", err, ln.Addr())
			return
		}
		delay = 0
		adopt(c)
		t.Scheduler().Go(func(t *costack.Task) {
			// One frame with one open-coded defer between the task's
			// bottom and the handler: every suspended handler's image
			// holds it, so it keeps c alone (each pointer in an
			// image is also an entry of its retention list).
			defer c.finish()
			c.server().Handler(t, c)
		})
	}
}

// finish ends a connection's task: it closes the connection and logs a
// handler panic (the panic ends the task normally, the other connections
// go on). A task being closed (Scheduler.Close, Task.Cancel) unwinds with
// a value for which costack.IsClosing holds: that is no handler bug.
func (c *Conn) finish() {
	if r := recover(); r != nil && !costack.IsClosing(r) {
		c.server().logf("netpoll: panic serving %v: %v\n%s", c.RemoteAddr(), r, debug.Stack())
	}
	c.Close()
}

func (srv *Server) logf(format string, args ...any) {
	if srv.ErrorLog != nil {
		srv.ErrorLog.Printf(format, args...)
	} else {
		log.Printf(format, args...)
	}
}

// sleep suspends task t for d of wall-clock time (scheduler time may run
// at another pace, or stand still between frames).
func sleep(t *costack.Task, d time.Duration) {
	t.Wait(costack.WaiterFunc(func(w costack.Waker) {
		tm := time.AfterFunc(d, func() { w.Wake() })
		w.OnDone(func() { tm.Stop() })
	}))
}

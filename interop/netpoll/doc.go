// Package netpoll is network I/O for costack scheduler tasks: blocking-style
// code, a task per connection, at event-loop memory.
//
// [Listen] returns a [*Listener], a net.Listener whose connections are
// [*Conn]s, net.Conns. Called from a scheduler task, Accept, Read and Write
// that cannot proceed suspend only that task: the descriptor keeps the
// task's costack.Waker and the poller (epoll, edge-triggered) wakes it when
// the socket is ready, so a server holds one small suspended task per
// connection, no goroutine, and no read buffer while a connection is idle.
// Called from a plain goroutine, the same calls block like package net's.
// Because they are net.Conns, bufio, encoding/json, net/textproto and the
// like work unchanged inside tasks:
//
//	ln, err := netpoll.Listen("tcp", "127.0.0.1:7000")
//	...
//	s := costack.NewScheduler()
//	netpoll.Serve(s, ln, func(t *costack.Task, c *netpoll.Conn) {
//		r := bufio.NewReader(c)
//		for {
//			line, err := r.ReadString('\n') // suspends t until a line is in
//			if err != nil {
//				return // the connection is closed for us
//			}
//			c.Write([]byte(line))
//		}
//	})
//	for { s.Tick() } // or s.Run(ctx), sleeping in the poller (see Poller)
//
// Deadlines (SetDeadline, SetReadDeadline, SetWriteDeadline) and Close, from
// any task or goroutine, wake a waiting call with package net's errors,
// wrapped in *net.OpError as net does: errors.Is(err, os.ErrDeadlineExceeded)
// and errors.Is(err, net.ErrClosed) hold. Peers that reset give an error
// wrapping syscall.ECONNRESET; a peer's half-close gives io.EOF to Read
// while Write goes on; a peer that vanishes without a word is found by
// keep-alive probes (on by default, as in package net) or by a deadline.
//
// [Dial] (and [Dialer]) connect the same way: a task waits for the
// connection to be made without holding up the others.
//
// [Serve] (and [Server]) start a task per accepted connection, isolate
// handler panics (the panic ends that connection only, and is logged), and
// back off, as net/http does, when accepting fails for want of file
// descriptors.
//
// # Who waits, and where
//
// A call suspends the task returned by costack.CurrentTask. A costack
// Coroutine resumed from inside a task body is not a task (CurrentTask is
// nil there): a call in it that cannot proceed blocks the goroutine running
// it, like a plain goroutine's call, which stalls the worker that runs the
// task until the socket is ready. Wait in the task itself, or hand the
// coroutine only data that is already read. Like every wait, a call that
// would suspend inside interop.Call panics naming interop.Call.
//
// The wakes come from a [Poller]: by default the poller's own goroutine
// (started while calls wait, gone when none do), which suits a game loop
// calling Scheduler.Tick once per frame; or, for a server, the goroutine of
// Scheduler.Run, which sleeps in epoll_wait itself when the Poller is the
// scheduler's event source (see Poller).
//
// # Platforms
//
// netpoll needs epoll: it works on linux only. Elsewhere the package
// builds, and [Listen] and [NewPoller] return an error that names the
// platform.
package netpoll

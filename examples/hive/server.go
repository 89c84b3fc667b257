package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/costack-dev/costack/costack"
	"github.com/costack-dev/costack/interop/netpoll"
)

// The chat server, skynet-style: a task per connection reads lines with
// bufio as it would in a goroutine; each room is an actor (a task with a
// mailbox) that owns its members and fans messages out; each member has a
// writer task draining its outbox, so that a slow reader never stalls its
// room.
//
// Protocol (lines): the first line a client sends is "room name"; every
// later line is said to the room, which sends "name: text" to the other
// members; "/stats" answers with the server's counts; "/quit" leaves.

// server is the chat server's state. With one worker (the default) every
// task body runs on Run's goroutine, so rooms needs no lock; the counters
// are read by the stats printer too.
type server struct {
	s     *costack.Scheduler
	rooms map[string]*room

	conns     atomic.Int64
	said      atomic.Int64 // lines said to rooms
	delivered atomic.Int64 // lines written to members
	dropped   atomic.Int64 // lines dropped for members too slow to read them
	baseRSS   int64
}

// lineBuf is the size of the connections' bufio buffers.
const lineBuf = 512

// maxOutbox bounds a member's outbox: past it, lines to that member are
// dropped (counted), as a real chat server would rather than buffer
// without end.
const maxOutbox = 256

type member struct {
	name   string
	c      *netpoll.Conn
	outbox mailbox[string]
}

// roomMsg is what a room's mailbox carries.
type roomMsg struct {
	kind byte // 'j'oin, 'l'eave, 's'ay
	from *member
	text string
}

type room struct {
	name    string
	inbox   mailbox[roomMsg]
	members []*member
}

func newServer(s *costack.Scheduler) *server {
	return &server{s: s, rooms: map[string]*room{}, baseRSS: rss()}
}

// roomFor returns the room called name, starting its actor on first use.
func (srv *server) roomFor(name string) *room {
	r := srv.rooms[name]
	if r == nil {
		r = &room{name: name}
		srv.rooms[name] = r
		srv.s.Go(func(t *costack.Task) { srv.runRoom(t, r) })
	}
	return r
}

// runRoom is a room's actor: it alone touches the member list.
func (srv *server) runRoom(t *costack.Task, r *room) {
	for {
		m, ok := r.inbox.Receive(t)
		if !ok {
			return
		}
		switch m.kind {
		case 'j':
			r.members = append(r.members, m.from)
		case 'l':
			for i, x := range r.members {
				if x == m.from {
					r.members = append(r.members[:i], r.members[i+1:]...)
					break
				}
			}
		case 's':
			line := m.from.name + ": " + m.text + "\n"
			for _, x := range r.members {
				if x == m.from {
					continue
				}
				if x.outbox.Len() >= maxOutbox || !x.outbox.Send(line) {
					srv.dropped.Add(1)
				}
			}
		}
	}
}

// handle serves one connection (the netpoll.Serve handler).
func (srv *server) handle(t *costack.Task, c *netpoll.Conn) {
	srv.conns.Add(1)
	defer srv.conns.Add(-1)
	// Small buffers: chat lines are short, and what a handler keeps is
	// what an idle connection costs (netpoll itself holds no buffer).
	in := bufio.NewReaderSize(c, lineBuf)
	first, err := in.ReadString('\n')
	if err != nil {
		return
	}
	roomName, name, _ := strings.Cut(strings.TrimSpace(first), " ")
	if roomName == "" || name == "" {
		fmt.Fprintln(c, "error: the first line is: room name")
		return
	}
	m := &member{name: name, c: c}
	r := srv.roomFor(roomName)
	writer := srv.s.Go(func(t *costack.Task) { srv.write(t, m) })
	r.inbox.Send(roomMsg{kind: 'j', from: m})
	srv.session(in, m, r)
	// Leave, let the writer flush what is queued, then return: Serve
	// closes the connection. (Not deferred: a task closed by its scheduler
	// unwinds instead, and must not wait on the way.)
	r.inbox.Send(roomMsg{kind: 'l', from: m})
	m.outbox.Close()
	t.Wait(writer)
}

// session reads the member's lines until the connection ends or it quits.
func (srv *server) session(in *bufio.Reader, m *member, r *room) {
	for {
		line, err := in.ReadString('\n')
		if err != nil {
			return
		}
		switch line = strings.TrimRight(line, "\r\n"); line {
		case "/quit":
			return
		case "/stats":
			m.outbox.Send(srv.statsLine())
		default:
			srv.said.Add(1)
			r.inbox.Send(roomMsg{kind: 's', from: m, text: line})
		}
	}
}

// write is a member's writer task: it drains the outbox into the
// connection, flushing whenever the outbox runs dry.
func (srv *server) write(t *costack.Task, m *member) {
	out := bufio.NewWriterSize(m.c, lineBuf)
	for {
		line, ok := m.outbox.Receive(t)
		if !ok {
			out.Flush()
			return
		}
		if _, err := out.WriteString(line); err != nil {
			return
		}
		srv.delivered.Add(1)
		if m.outbox.Len() == 0 {
			if err := out.Flush(); err != nil {
				return
			}
		}
	}
}

// statsLine is the answer to /stats.
func (srv *server) statsLine() string {
	n := srv.conns.Load()
	grown := rss() - srv.baseRSS
	per := int64(0)
	if n > 0 {
		per = grown / n
	}
	return fmt.Sprintf("stats conns=%d rooms=%d said=%d delivered=%d dropped=%d rss_per_conn=%d\n",
		n, len(srv.rooms), srv.said.Load(), srv.delivered.Load(), srv.dropped.Load(), per)
}

// rss reads the process's resident set size (after a collection, with
// freed memory returned, so that it counts what is live).
func rss() int64 {
	runtime.GC()
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// every calls fn every d until stop is closed.
func every(d time.Duration, stop <-chan struct{}, fn func()) {
	tk := time.NewTicker(d)
	defer tk.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tk.C:
			fn()
		}
	}
}

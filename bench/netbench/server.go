package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"
	"golang.org/x/sys/unix"

	"github.com/costack-dev/costack/costack"
	"github.com/costack-dev/costack/interop/netpoll"
	"github.com/costack-dev/costack/sharedstack"
)

// The child: one server implementation in a process of its own, talking to
// the parent over stdin (commands) and stdout (one JSON object a line).

// hello is the child's first line: where it listens and what it costs
// before any connection.
type hello struct {
	Addrs    []string `json:"addrs"`
	Baseline mem      `json:"baseline"`
	Limit    string   `json:"rlimit"`
	Engine   string   `json:"engine"`
	Error    string   `json:"error,omitempty"`
}

// mem is a memory reading after a full collection with memory returned to
// the system.
type mem struct {
	RSS   int64 `json:"rss"`
	Heap  int64 `json:"heap"`  // Go heap in use
	Stack int64 `json:"stack"` // goroutine stacks in use
	Conns int64 `json:"conns"`
	// Arena is what costack's native engine has mapped for saved images
	// (outside the Go heap), and Images the images in it.
	Arena  int64 `json:"arena"`
	Images int64 `json:"images"`
}

// conns counts the connections the server holds open (net and gnet);
// countConns reports them (costack asks its poller instead, so that the
// handler holds nothing but its echo loop).
var (
	conns      atomic.Int64
	countConns = conns.Load
)

func childMain(args []string) int {
	impl, nListeners, need := args[0], 1, uint64(1024)
	if len(args) > 2 {
		nListeners, _ = strconv.Atoi(args[1])
		need, _ = strconv.ParseUint(args[2], 10, 64)
	}
	// Our answers go to the parent on stdout; whatever a server library
	// prints (gnet's banner and logs) goes to stderr.
	// (gnet's logger holds fd 1 from its package init, so move the fds.)
	toParent, err := unix.Dup(1)
	if err != nil {
		return 1
	}
	if err := unix.Dup3(2, 1, 0); err != nil {
		return 1
	}
	out := json.NewEncoder(os.NewFile(uintptr(toParent), "parent"))
	limit, err := raiseFDLimit(need)
	if err != nil {
		out.Encode(hello{Error: err.Error()})
		return 1
	}
	addrs, err := reservePorts(nListeners)
	if err != nil {
		out.Encode(hello{Error: err.Error()})
		return 1
	}
	stop, err := startServer(impl, addrs)
	if err != nil {
		out.Encode(hello{Error: err.Error()})
		return 1
	}
	defer stop()
	// NETBENCH_CPUPROFILE=prefix writes the server's CPU profile to
	// prefix.<impl> (profiling a probe: where the server spends its time).
	if prefix := os.Getenv("NETBENCH_CPUPROFILE"); prefix != "" {
		f, err := os.Create(prefix + "." + impl)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	out.Encode(hello{Addrs: addrs, Baseline: measure(), Limit: limit, Engine: costack.Engine()})
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch in.Text() {
		case "count":
			out.Encode(mem{Conns: countConns()})
		case "measure":
			out.Encode(measure())
		}
	}
	return 0
}

func measure() mem {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st := sharedstack.ReadStats()
	return mem{RSS: rss(), Heap: int64(ms.HeapInuse), Stack: int64(ms.StackInuse), Conns: countConns(),
		Arena: st.ArenaMapped, Images: st.ImageBlocks}
}

// rss reads the process's resident set size from /proc/self/status.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return -1
}

// reservePorts picks n free loopback ports (the listeners of every
// implementation are then made on them; gnet wants addresses up front).
func reservePorts(n int) ([]string, error) {
	var addrs []string
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, nil
}

// handle is the handler of the costack and net servers: the same echo
// loop, parked in Read while its connection is idle.
func handle(c interface {
	Read([]byte) (int, error)
	Write([]byte) (int, error)
}) {
	var buf [128]byte
	for {
		n, err := c.Read(buf[:])
		if err != nil {
			return
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}

func startServer(impl string, addrs []string) (stop func(), err error) {
	switch impl {
	case "costack":
		return startCostack(addrs, 1)
	case "costack-2w":
		return startCostack(addrs, 2)
	case "net":
		return startNet(addrs)
	case "gnet":
		return startGnet(addrs)
	}
	return nil, fmt.Errorf("unknown implementation %q", impl)
}

// startCostack serves on a scheduler driven by Run, sleeping in a netpoll
// Poller: a task per connection, no goroutine.
func startCostack(addrs []string, workers int) (func(), error) {
	p, err := netpoll.NewPoller()
	if err != nil {
		return nil, err
	}
	s := costack.NewScheduler(costack.WithEventSource(p), costack.Workers(workers))
	lc := netpoll.ListenConfig{Poller: p, KeepAlive: -1}
	for _, a := range addrs {
		ln, err := lc.Listen("tcp4", a)
		if err != nil {
			return nil, err
		}
		netpoll.Serve(s, ln, func(t *costack.Task, c *netpoll.Conn) {
			// handle on the concrete type: Read inlines, and the
			// buffer stays in the task's frame instead of escaping.
			var buf [128]byte
			for {
				n, err := c.Read(buf[:])
				if err != nil {
					return
				}
				if _, err := c.Write(buf[:n]); err != nil {
					return
				}
			}
		})
	}
	countConns = func() int64 { return int64(p.Stats().Descriptors - len(addrs)) }
	ctx, cancel := context.WithCancel(context.Background())
	go s.Run(ctx)
	return func() {
		cancel()
		if os.Getenv("NETBENCH_STATS") != "" {
			st := p.Stats()
			fmt.Fprintf(os.Stderr, "poller: woken by Wait %d, by its goroutine %d\n", st.WokenByWait, st.WokenByOwn)
		}
	}, nil
}

// startNet serves with a goroutine per connection on package net.
func startNet(addrs []string) (func(), error) {
	lc := net.ListenConfig{KeepAlive: -1}
	var lns []net.Listener
	for _, a := range addrs {
		ln, err := lc.Listen(context.Background(), "tcp4", a)
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						continue
					}
					if strings.Contains(err.Error(), "too many open files") {
						time.Sleep(5 * time.Millisecond)
						continue
					}
					return
				}
				go func() {
					conns.Add(1)
					defer conns.Add(-1)
					defer c.Close()
					handle(c)
				}()
			}
		}()
	}
	return func() {
		for _, ln := range lns {
			ln.Close()
		}
	}, nil
}

// gnetEcho is the gnet v2 echo server: callbacks on its event loops.
type gnetEcho struct {
	gnet.BuiltinEventEngine
	ready chan error
}

func (e *gnetEcho) OnBoot(gnet.Engine) gnet.Action { e.ready <- nil; return gnet.None }

func (e *gnetEcho) OnOpen(gnet.Conn) ([]byte, gnet.Action) {
	conns.Add(1)
	return nil, gnet.None
}

func (e *gnetEcho) OnClose(gnet.Conn, error) gnet.Action {
	conns.Add(-1)
	return gnet.None
}

func (e *gnetEcho) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Next(-1)
	c.Write(buf)
	return gnet.None
}

func startGnet(addrs []string) (func(), error) {
	e := &gnetEcho{ready: make(chan error, 1)}
	var protoAddrs []string
	for _, a := range addrs {
		protoAddrs = append(protoAddrs, "tcp4://"+a)
	}
	go func() {
		err := gnet.Rotate(e, protoAddrs,
			gnet.WithMulticore(true),
			gnet.WithTCPKeepAlive(0),
			gnet.WithLogLevel(logging.ErrorLevel))
		if err != nil {
			e.ready <- err
		}
	}()
	select {
	case err := <-e.ready:
		if err != nil {
			return nil, err
		}
	case <-time.After(10 * time.Second):
		return nil, fmt.Errorf("gnet did not start")
	}
	return func() {}, nil
}

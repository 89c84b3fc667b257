// Command hive is a skynet-style chat server on costack: a task per
// connection reading lines with bufio (interop/netpoll: no goroutine per
// connection), an actor per room, and a load generator.
//
//	go run ./examples/hive                        # demo: server and load in one process
//	go run ./examples/hive -listen 127.0.0.1:7000 # server only (-duration 0: until killed)
//	go run ./examples/hive -load 127.0.0.1:7000 -conns 2000 -rooms 20 -duration 5s
//
// The load generator connects -conns clients (loopback only), each of
// which says -rate lines a second to its room for -duration and counts the
// lines its room sends it, then stops. It prints the connections made,
// the lines said and delivered per second, and the server's memory per
// connection (its RSS growth over its connections; in the demo the process
// holds the client ends too, so the figure counts both).
//
// The scheduler runs with Scheduler.Run, sleeping in the netpoll Poller:
// tasks are woken from epoll_wait on Run's own goroutine.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/costack-dev/costack/costack"
	"github.com/costack-dev/costack/interop/netpoll"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "hive:", err)
		os.Exit(2)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("hive", flag.ContinueOnError)
	fs.SetOutput(out)
	listen := fs.String("listen", "", "run the server only, on this address")
	load := fs.String("load", "", "run the load generator only, against this server (loopback)")
	conns := fs.Int("conns", 500, "load: client connections (1..20000)")
	rooms := fs.Int("rooms", 10, "load: rooms the clients spread over")
	duration := fs.Duration("duration", 3*time.Second, "load: how long the clients talk (server only: how long it serves, 0 until interrupted)")
	rate := fs.Float64("rate", 2, "load: lines a second per client")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg := loadConfig{addr: *load, conns: *conns, rooms: *rooms, duration: *duration, rate: *rate}
	switch {
	case *listen != "" && *load != "":
		return errors.New("-listen and -load: pick one (neither runs the demo)")
	case *listen != "":
		return serve(*listen, *duration, out)
	}
	if cfg.conns < 1 || cfg.conns > 20000 || cfg.rooms < 1 || cfg.rate <= 0 || cfg.duration <= 0 || cfg.duration > 10*time.Minute {
		return errors.New("need 1 <= -conns <= 20000, -rooms >= 1, -rate > 0, 0 < -duration <= 10m")
	}
	if *load != "" {
		return report(out, cfg)
	}
	// The demo: a server on a free loopback port, and the load against it.
	srv, addr, stop, err := startServer("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintf(out, "hive: server on %s (engine %s)\n", addr, costack.Engine())
	cfg.addr = addr
	if err := report(out, cfg); err != nil {
		return err
	}
	fmt.Fprintf(out, "server: %s\n", strings.TrimSpace(srv.statsLine()))
	return nil
}

// startServer starts the chat server on addr, driven by Scheduler.Run in a
// goroutine; stop ends it and waits.
func startServer(addr string) (*server, string, func(), error) {
	p, err := netpoll.NewPoller()
	if err != nil {
		return nil, "", nil, err
	}
	lc := netpoll.ListenConfig{Poller: p}
	ln, err := lc.Listen("tcp", addr)
	if err != nil {
		p.Close()
		return nil, "", nil, err
	}
	s := costack.NewScheduler(costack.WithEventSource(p))
	srv := newServer(s)
	netpoll.Serve(s, ln, srv.handle)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	stop := func() {
		cancel()
		<-ran
		ln.Close()
		s.Close() // ends every task: connections close, rooms end
		p.Close()
	}
	return srv, ln.Addr().String(), stop, nil
}

// serve runs the server only, printing its counts every second.
func serve(addr string, d time.Duration, out io.Writer) error {
	srv, addr, stop, err := startServer(addr)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintf(out, "hive: serving on %s (engine %s)\n", addr, costack.Engine())
	done := make(chan struct{})
	go every(time.Second, done, func() {
		fmt.Fprintf(out, "%d connections, %d lines said, %d delivered\n", srv.conns.Load(), srv.said.Load(), srv.delivered.Load())
	})
	defer close(done)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	defer signal.Stop(sig)
	var timeout <-chan time.Time
	if d > 0 {
		timeout = time.After(d)
	}
	select {
	case <-sig:
	case <-timeout:
	}
	return nil
}

// report runs the load and prints what it did.
func report(out io.Writer, cfg loadConfig) error {
	fmt.Fprintf(out, "load: %d clients in %d rooms, %.1f lines/s each, for %v, against %s\n", cfg.conns, cfg.rooms, cfg.rate, cfg.duration, cfg.addr)
	res, err := runLoad(cfg)
	if err != nil {
		return err
	}
	secs := res.elapsed.Seconds()
	fmt.Fprintf(out, "connections: %d (failed %d)\n", res.connected, res.failed)
	fmt.Fprintf(out, "lines said: %d (%.0f/s), delivered: %d (%.0f/s)\n", res.sent, float64(res.sent)/secs, res.received, float64(res.received)/secs)
	fmt.Fprintf(out, "server once connected: %s\n", res.serverStats)
	if res.failed > 0 {
		return fmt.Errorf("%d of %d clients failed to connect", res.failed, cfg.conns)
	}
	return nil
}

// Command netbench measures network servers side by side over loopback:
// costack tasks on interop/netpoll (a task per connection, Scheduler.Run
// sleeping in the poller), a goroutine per connection on package net, and
// gnet v2 (callbacks on event loops). It is a module of its own so that
// the costack library gains no dependency on gnet.
//
//	go run ./bench/netbench                      # from the repository root: cd bench/netbench first
//	go run . -idle 10000,100000 -echo-conns 1000 -echo-time 5s
//
// Rows:
//
//   - idle connections: N connections open, each server handler parked in
//     Read (the costack and net handlers are the same echo loop with a
//     128-byte buffer; gnet holds its connection state). The server's RSS
//     growth per connection, after a full GC with memory returned to the
//     system, and its Go heap+stacks per connection.
//   - echo: C connections, each a client goroutine making 64-byte
//     request/response round trips as fast as it can; round trips per
//     second over all connections, and the 99th percentile latency.
//
// Every server runs in a fresh child process (this binary, re-executed),
// the clients in this process, all on 127.0.0.1. Both processes raise
// RLIMIT_NOFILE with setrlimit to what the rows need (the report says by
// how much); a row whose descriptors cannot be had is skipped, with the
// reason. The results are one JSON object on stdout; a table goes to
// stderr.
//
// To see where a server spends its time, NETBENCH_CPUPROFILE=prefix makes
// each server child write its CPU profile to prefix.<impl>, and
// NETBENCH_STATS=1 makes the costack server print its poller's wake counts
// (by Run's Wait, by the poller's own goroutine) to stderr when it stops.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if args := os.Getenv(childEnv); args != "" {
		os.Exit(childMain(strings.Fields(args)))
	}
	if isReportChild(os.Args[1:]) {
		os.Exit(reportChild(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// childEnv carries a child's arguments (implementation, listeners).
const childEnv = "NETBENCH_CHILD"

// Result is the JSON the command prints.
type Result struct {
	Benchmark string   `json:"benchmark"`
	Time      string   `json:"time"`
	Go        string   `json:"go"`
	Engine    string   `json:"engine"`
	CPUs      int      `json:"cpus"`
	FDLimit   string   `json:"fd_limit"`
	Rows      []Row    `json:"rows"`
	Skipped   []string `json:"skipped,omitempty"`
	Notes     []string `json:"notes,omitempty"`
}

// Row is one measurement for every implementation.
type Row struct {
	Case   string             `json:"case"`
	Param  string             `json:"param"`
	Unit   string             `json:"unit"`
	Values map[string]float64 `json:"values"`
	// Ratios are costack's value over each baseline's.
	Ratios map[string]float64 `json:"ratios,omitempty"`
}

type config struct {
	idle      []int
	echoConns int
	echoTime  time.Duration
	warmup    time.Duration
	msg       int
	impls     []string
	perPort   int
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("netbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	idle := fs.String("idle", "10000,100000", "idle-connection counts, comma-separated (empty: no idle rows)")
	echoConns := fs.Int("echo-conns", 1000, "connections of the echo row (0: no echo row)")
	echoTime := fs.Duration("echo-time", 5*time.Second, "measured duration of the echo row")
	warmup := fs.Duration("warmup", time.Second, "echo warm-up before measuring")
	msg := fs.Int("msg", 64, "echo message size in bytes (at most 128)")
	impls := fs.String("impls", "costack,net,gnet", "implementations, comma-separated (also: costack-2w, costack on 2 workers)")
	perPort := fs.Int("per-port", 20000, "connections per listening port (loopback ephemeral ports are ~28k per destination)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg := config{echoConns: *echoConns, echoTime: *echoTime, warmup: *warmup, msg: *msg,
		impls: strings.Split(*impls, ","), perPort: *perPort}
	for _, f := range strings.Split(*idle, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			fmt.Fprintf(stderr, "netbench: bad -idle count %q\n", f)
			return 2
		}
		cfg.idle = append(cfg.idle, n)
	}
	if cfg.msg < 1 || cfg.msg > 128 || cfg.perPort < 1 {
		fmt.Fprintln(stderr, "netbench: -msg must be 1..128 and -per-port positive")
		return 2
	}
	res := measureAll(cfg, stderr)
	printTable(stderr, res)
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		return 1
	}
	return 0
}

func measureAll(cfg config, log io.Writer) *Result {
	res := &Result{
		Benchmark: "netbench",
		Time:      time.Now().UTC().Format(time.RFC3339),
		Go:        runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		CPUs:      runtime.NumCPU(),
	}
	need := uint64(cfg.echoConns)
	for _, n := range cfg.idle {
		need = max(need, uint64(n))
	}
	need += 1000
	limit, limitErr := raiseFDLimit(need)
	res.FDLimit = limit
	if limitErr != nil {
		res.FDLimit = limitErr.Error()
	}
	have := fdLimit()
	res.Notes = append(res.Notes,
		"servers run in fresh child processes, clients in the parent, over 127.0.0.1",
		"idle: RSS growth of the server process per connection after runtime.GC and debug.FreeOSMemory; the costack and net handlers are one echo loop with a 128-byte buffer",
		"echo: each connection is a client goroutine (package net) making round trips back to back; clients and server share the machine's cores",
		"costack: interop/netpoll, a task per connection, Scheduler.Run sleeping in the Poller (Workers(1) unless costack-2w)",
		"gnet: v2.9.7, WithMulticore(true), one event loop per CPU")

	for _, n := range cfg.idle {
		if uint64(n)+500 > have {
			res.Skipped = append(res.Skipped, fmt.Sprintf("idle N=%d: needs %d descriptors, have %d (%s)", n, n+500, have, res.FDLimit))
			continue
		}
		rss := Row{Case: "idle connections", Param: fmt.Sprintf("N=%d", n), Unit: "B RSS/conn", Values: map[string]float64{}}
		heap := Row{Case: "idle connections", Param: fmt.Sprintf("N=%d", n), Unit: "B heap+stack/conn", Values: map[string]float64{}}
		for _, impl := range cfg.impls {
			fmt.Fprintf(log, "idle N=%d %s ...\n", n, impl)
			m, base, eng, err := idleRun(impl, n, cfg.perPort)
			if err != nil {
				res.Skipped = append(res.Skipped, fmt.Sprintf("idle N=%d %s: %v", n, impl, err))
				continue
			}
			if impl == "costack" {
				res.Engine = eng
			}
			rss.Values[impl] = float64(m.RSS-base.RSS) / float64(n)
			if m.Images > 0 {
				fmt.Fprintf(log, "  %s: %d saved images, arena %d B (%.0f B/conn)\n", impl, m.Images, m.Arena, float64(m.Arena-base.Arena)/float64(n))
			}
			heap.Values[impl] = float64((m.Heap+m.Stack)-(base.Heap+base.Stack)) / float64(n)
		}
		res.Rows = append(res.Rows, withRatios(rss), withRatios(heap))
	}

	if c := cfg.echoConns; c > 0 {
		if uint64(c)+500 > have {
			res.Skipped = append(res.Skipped, fmt.Sprintf("echo %d conns: needs %d descriptors, have %d", c, c+500, have))
		} else {
			param := fmt.Sprintf("%d conns, %d B", c, cfg.msg)
			tput := Row{Case: "echo", Param: param, Unit: "round trips/s", Values: map[string]float64{}}
			p99 := Row{Case: "echo p99 latency", Param: param, Unit: "µs", Values: map[string]float64{}}
			for _, impl := range cfg.impls {
				fmt.Fprintf(log, "echo %d conns %s ...\n", c, impl)
				rate, lat, eng, err := echoRun(impl, cfg)
				if err != nil {
					res.Skipped = append(res.Skipped, fmt.Sprintf("echo %s: %v", impl, err))
					continue
				}
				if impl == "costack" && res.Engine == "" {
					res.Engine = eng
				}
				tput.Values[impl] = rate
				p99.Values[impl] = float64(lat) / float64(time.Microsecond)
			}
			res.Rows = append(res.Rows, withRatios(tput), withRatios(p99))
		}
	}
	return res
}

func withRatios(r Row) Row {
	c, ok := r.Values["costack"]
	if !ok {
		return r
	}
	r.Ratios = map[string]float64{}
	for impl, v := range r.Values {
		if impl != "costack" && v > 0 {
			r.Ratios["costack/"+impl] = c / v
		}
	}
	return r
}

// child is a server process.
type child struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Scanner
	hello hello
}

func startChild(impl string, listeners, conns int) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d %d", childEnv, impl, listeners, conns+500))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, in: in, out: bufio.NewScanner(outp)}
	if err := c.read(&c.hello); err != nil {
		c.stop()
		return nil, err
	}
	if c.hello.Error != "" {
		c.stop()
		return nil, errors.New(c.hello.Error)
	}
	return c, nil
}

func (c *child) read(v any) error {
	if !c.out.Scan() {
		return fmt.Errorf("child ended: %v", c.out.Err())
	}
	return json.Unmarshal(c.out.Bytes(), v)
}

func (c *child) ask(cmd string) (mem, error) {
	var m mem
	if _, err := io.WriteString(c.in, cmd+"\n"); err != nil {
		return m, err
	}
	return m, c.read(&m)
}

func (c *child) stop() {
	c.in.Close()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}

// waitConns waits until the server holds n connections.
func (c *child) waitConns(n int) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		m, err := c.ask("count")
		if err != nil {
			return err
		}
		if m.Conns >= int64(n) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server holds %d of %d connections", m.Conns, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dialAll opens n connections spread over addrs, 32 dials at a time.
func dialAll(addrs []string, n int) ([]net.Conn, error) {
	conns := make([]net.Conn, n)
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				c, err := net.DialTimeout("tcp4", addrs[i%len(addrs)], 30*time.Second)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		closeAll(conns)
		return nil, firstErr
	}
	return conns, nil
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

func idleRun(impl string, n, perPort int) (m, base mem, engine string, err error) {
	ch, err := startChild(impl, (n+perPort-1)/perPort, n)
	if err != nil {
		return m, base, "", err
	}
	// The server goes first, so that TIME_WAIT stays on its side and the
	// client's ephemeral ports are free for the next run.
	defer ch.stop()
	conns, err := dialAll(ch.hello.Addrs, n)
	if err != nil {
		return m, base, "", err
	}
	defer func() {
		ch.stop()
		closeAll(conns)
	}()
	if err := ch.waitConns(n); err != nil {
		return m, base, "", err
	}
	m, err = ch.ask("measure")
	return m, ch.hello.Baseline, ch.hello.Engine, err
}

func echoRun(impl string, cfg config) (rate float64, p99 time.Duration, engine string, err error) {
	ch, err := startChild(impl, 1, cfg.echoConns)
	if err != nil {
		return 0, 0, "", err
	}
	defer ch.stop()
	conns, err := dialAll(ch.hello.Addrs, cfg.echoConns)
	if err != nil {
		return 0, 0, "", err
	}
	defer func() {
		ch.stop()
		closeAll(conns)
	}()
	if err := ch.waitConns(cfg.echoConns); err != nil {
		return 0, 0, "", err
	}
	var measuring, stop atomic.Bool
	var trips atomic.Int64
	lats := make([][]time.Duration, len(conns))
	errs := make(chan error, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := make([]byte, cfg.msg)
			resp := make([]byte, cfg.msg)
			lat := make([]time.Duration, 0, 1024)
			var n int64
			c.SetDeadline(time.Now().Add(cfg.warmup + cfg.echoTime + time.Minute))
			for !stop.Load() {
				t0 := time.Now()
				if _, err := c.Write(req); err != nil {
					errs <- err
					return
				}
				if _, err := io.ReadFull(c, resp); err != nil {
					errs <- err
					return
				}
				if measuring.Load() {
					lat = append(lat, time.Since(t0))
					n++
				}
			}
			trips.Add(n)
			lats[i] = lat
		}()
	}
	time.Sleep(cfg.warmup)
	measuring.Store(true)
	start := time.Now()
	time.Sleep(cfg.echoTime)
	measuring.Store(false)
	elapsed := time.Since(start)
	stop.Store(true)
	wg.Wait()
	select {
	case err := <-errs:
		return 0, 0, "", err
	default:
	}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return 0, 0, "", errors.New("no round trip completed")
	}
	slices.Sort(all)
	return float64(trips.Load()) / elapsed.Seconds(), all[len(all)*99/100], ch.hello.Engine, nil
}

func printTable(w io.Writer, res *Result) {
	fmt.Fprintf(w, "\nnetbench  %s  %s, %d CPUs, costack engine %s\n%s\n\n", res.Time, res.Go, res.CPUs, res.Engine, res.FDLimit)
	impls := []string{"costack", "costack-2w", "net", "gnet"}
	fmt.Fprintf(w, "%-18s %-18s %-18s", "case", "param", "unit")
	for _, i := range impls {
		fmt.Fprintf(w, " %12s", i)
	}
	fmt.Fprintf(w, " %14s %14s\n", "costack/net", "costack/gnet")
	for _, r := range res.Rows {
		fmt.Fprintf(w, "%-18s %-18s %-18s", r.Case, r.Param, r.Unit)
		for _, i := range impls {
			if v, ok := r.Values[i]; ok {
				fmt.Fprintf(w, " %12.1f", v)
			} else {
				fmt.Fprintf(w, " %12s", "-")
			}
		}
		for _, k := range []string{"costack/net", "costack/gnet"} {
			if v, ok := r.Ratios[k]; ok {
				fmt.Fprintf(w, " %13.2fx", v)
			} else {
				fmt.Fprintf(w, " %14s", "-")
			}
		}
		fmt.Fprintln(w)
	}
	for _, s := range res.Skipped {
		fmt.Fprintln(w, "skipped:", s)
	}
}

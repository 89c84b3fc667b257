// Command interop runs a game loop whose tasks do blocking I/O — file
// writes and reads, and TCP round trips to an echo server on 127.0.0.1 —
// through interop.Block, and shows that the loop's tick time stays steady:
// a task that blocks is suspended until its call returns on a pool worker,
// and the scheduler never waits for it.
//
//	go run ./examples/interop -tasks 5000 -ops 4 -pool 64
//
// It stops by itself once every task has done its operations (or after
// -max-frames), and prints tick-time percentiles.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/costack-dev/costack/costack"
	"github.com/costack-dev/costack/interop"
	"github.com/costack-dev/costack/yield"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "interop:", err)
		}
		os.Exit(1)
	}
}

// stats are the counts the tasks keep; they run on the loop's goroutine
// (one scheduler worker) but are read at the end only.
type stats struct {
	fileOps, netOps, failures atomic.Int64
	firstErr                  atomic.Pointer[error]
}

func (st *stats) fail(err error) {
	st.failures.Add(1)
	st.firstErr.CompareAndSwap(nil, &err)
}

// config is what the flags set.
type config struct {
	tasks, ops, pool, maxFrames, payload int
	frame                                time.Duration
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("interop", flag.ContinueOnError)
	fs.SetOutput(stdout)
	var c config
	fs.IntVar(&c.tasks, "tasks", 2000, "tasks doing blocking I/O")
	fs.IntVar(&c.ops, "ops", 4, "blocking operations per task (alternately file and network)")
	fs.IntVar(&c.pool, "pool", 64, "blocking calls running at once (interop.Pool size)")
	fs.DurationVar(&c.frame, "frame", time.Millisecond, "frame period of the game loop")
	fs.IntVar(&c.maxFrames, "max-frames", 200_000, "stop after this many frames even if tasks remain")
	fs.IntVar(&c.payload, "bytes", 4096, "bytes per file write and network round trip")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.tasks < 1 || c.ops < 1 || c.pool < 1 || c.frame < 0 || c.maxFrames < 1 || c.payload < 1 {
		return errors.New("need -tasks, -ops, -pool, -max-frames, -bytes >= 1 and -frame >= 0")
	}
	return simulate(c, stdout)
}

// simulate runs the game loop. Its clean-ups share one deferred call, so
// that the defer stays open-coded (a defer record on the goroutine would
// keep the native engine from being chosen at first use).
func simulate(c config, stdout io.Writer) error {
	var cleanup []func()
	defer func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}()
	dir, err := os.MkdirTemp("", "costack-interop-")
	if err != nil {
		return err
	}
	cleanup = append(cleanup, func() { os.RemoveAll(dir) })
	echo, err := startEcho()
	if err != nil {
		return err
	}
	cleanup = append(cleanup, echo.close)
	p := interop.NewPool(interop.PoolSize(c.pool))
	cleanup = append(cleanup, p.Close)
	s := costack.NewScheduler(costack.FrameDuration(c.frame))
	cleanup = append(cleanup, s.Close)

	var st stats
	var payloads [26][]byte
	for i := range payloads {
		payloads[i] = bytes.Repeat([]byte{byte('a' + i)}, c.payload)
	}
	for i := range c.tasks {
		data := payloads[i%len(payloads)]
		s.Go(func(t *costack.Task) { worker(t, p, &st, i, c.ops, data, dir, echo.addr) })
	}
	// A heartbeat task: it runs every frame, blocked calls or not.
	var beats int
	heartbeat := s.Go(func(t *costack.Task) {
		for {
			beats++
			t.Yield()
		}
	})

	fmt.Fprintf(stdout, "engine: %s; %d tasks x %d blocking ops, pool %d, frame %v\n",
		costack.Engine(), c.tasks, c.ops, c.pool, c.frame)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gcs := ms.NumGC
	start := time.Now()
	var ticks []time.Duration
	next := start
	for s.Len() > 1 && len(ticks) < c.maxFrames {
		t0 := time.Now()
		s.Tick()
		ticks = append(ticks, time.Since(t0))
		next = next.Add(c.frame)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		} else {
			next = time.Now() // fell behind: do not try to catch up
		}
	}
	elapsed := time.Since(start)
	heartbeat.Cancel()
	left := s.Len() - 1

	runtime.ReadMemStats(&ms)
	fmt.Fprintf(stdout, "%d frames in %v; heartbeat ran in %d of them; %d GCs\n",
		len(ticks), elapsed.Round(time.Millisecond), beats, ms.NumGC-gcs)
	fmt.Fprintf(stdout, "file ops %d, network round trips %d, failures %d, tasks left %d\n",
		st.fileOps.Load(), st.netOps.Load(), st.failures.Load(), left)
	// The first tick starts every task (and its first blocking call): it
	// is reported on its own.
	fmt.Fprintf(stdout, "first tick (starts %d tasks): %v\n", c.tasks, ticks[0].Round(time.Microsecond))
	sorted := slices.Clone(ticks[1:])
	slices.Sort(sorted)
	fmt.Fprintf(stdout, "tick time after it: p50 %v  p90 %v  p99 %v  p99.9 %v  max %v\n",
		pct(sorted, 50), pct(sorted, 90), pct(sorted, 99), pct(sorted, 99.9), pct(sorted, 100))
	if e := st.firstErr.Load(); e != nil {
		return fmt.Errorf("%d operations failed, first: %w", st.failures.Load(), *e)
	}
	if left > 0 {
		return fmt.Errorf("%d tasks did not finish in %d frames", left, c.maxFrames)
	}
	return nil
}

// pct returns the q-th percentile of sorted durations.
func pct(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q / 100 * float64(len(sorted)-1))
	return sorted[i].Round(time.Microsecond)
}

// worker is one task's body: ops blocking operations, alternately a file
// write-and-read-back and a network round trip, with a few frames of
// "game logic" between them. Each operation suspends only this task.
func worker(t *costack.Task, p *interop.Pool, st *stats, id, ops int, data []byte, dir, addr string) {
	for op := range ops {
		var err error
		if (id+op)%2 == 0 {
			_, err = interop.BlockOn(p, t, func(ctx context.Context) (struct{}, error) {
				return struct{}{}, fileRoundTrip(filepath.Join(dir, fmt.Sprintf("task-%d", id)), data)
			})
			if err == nil {
				st.fileOps.Add(1)
			}
		} else {
			_, err = interop.BlockOn(p, t, func(ctx context.Context) (struct{}, error) {
				return struct{}{}, netRoundTrip(ctx, addr, data)
			})
			if err == nil {
				st.netOps.Add(1)
			}
		}
		if err != nil {
			st.fail(err)
		}
		yield.Frames(t, 1+(id+op)%3)
	}
}

func fileRoundTrip(name string, data []byte) error {
	if err := os.WriteFile(name, data, 0o600); err != nil {
		return err
	}
	got, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, data) {
		return fmt.Errorf("%s: read back %d bytes that differ from those written", name, len(got))
	}
	return os.Remove(name)
}

func netRoundTrip(ctx context.Context, addr string, data []byte) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	// Bound the call, and end it early if the task goes away.
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return err
	}
	defer context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })()
	if _, err := c.Write(data); err != nil {
		return err
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	got, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, data) {
		return fmt.Errorf("echo returned %d bytes that differ from the %d sent", len(got), len(data))
	}
	return nil
}

// echo is a TCP echo server on the loopback interface.
type echo struct {
	ln   net.Listener
	addr string
	wg   sync.WaitGroup
}

func startEcho() (*echo, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &echo{ln: ln, addr: ln.Addr().String()}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed
			}
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return e, nil
}

// close stops the server and waits for its connections to end.
func (e *echo) close() {
	e.ln.Close()
	e.wg.Wait()
}

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/costack-dev/costack/costack"
	"github.com/costack-dev/costack/interop/netpoll"
	"github.com/costack-dev/costack/yield"
)

// The load generator: -conns clients, each a task on a scheduler of its
// own (netpoll.Dial, like the server, no goroutine per connection), spread
// over -rooms rooms, each saying a line every 1/-rate seconds for
// -duration, while a reader task per client counts what the room sends.
// It connects only to loopback addresses, and stops by itself.

type loadConfig struct {
	addr     string
	conns    int
	rooms    int
	duration time.Duration
	rate     float64 // lines per second per client
}

type loadResult struct {
	connected, failed int64
	sent, received    int64
	elapsed           time.Duration
	serverStats       string // the server's /stats line once all are connected
}

// checkLoopback refuses any target but 127.0.0.0/8 and ::1.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	ips, err := net.LookupIP(host)
	if err != nil {
		return err
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("%s is not a loopback address: hive generates load on 127.0.0.0/8 only", addr)
		}
	}
	return nil
}

func runLoad(cfg loadConfig) (loadResult, error) {
	var res loadResult
	if err := checkLoopback(cfg.addr); err != nil {
		return res, err
	}
	p, err := netpoll.NewPoller()
	if err != nil {
		return res, err
	}
	defer p.Close()
	s := costack.NewScheduler(costack.WithEventSource(p))
	defer s.Close()
	dialer := &netpoll.Dialer{Poller: p, Timeout: 5 * time.Second}
	var connected, failed, sent, received, closed atomic.Int64
	var start atomic.Bool
	var end atomic.Int64 // unix nanos when the clients stop talking
	interval := time.Duration(float64(time.Second) / cfg.rate)
	for i := range cfg.conns {
		s.Go(func(t *costack.Task) {
			defer closed.Add(1)
			c, err := dialer.Dial("tcp", cfg.addr)
			if err != nil {
				failed.Add(1)
				return
			}
			defer c.Close()
			if _, err := fmt.Fprintf(c, "room%d user%d\n", i%cfg.rooms, i); err != nil {
				failed.Add(1)
				return
			}
			connected.Add(1)
			reader := t.Scheduler().Go(func(t *costack.Task) {
				in := bufio.NewReaderSize(c, lineBuf)
				for {
					if _, err := in.ReadString('\n'); err != nil {
						return
					}
					received.Add(1)
				}
			})
			yield.Until(t, start.Load)
			// Spread the clients' lines over the interval.
			yield.For(t, time.Duration(i)*interval/time.Duration(cfg.conns))
			for n := 0; time.Now().UnixNano() < end.Load(); n++ {
				if _, err := fmt.Fprintf(c, "hello %d from %d\n", n, i); err != nil {
					return
				}
				sent.Add(1)
				yield.For(t, interval)
			}
			// Half-close: the server sees EOF, lets the member leave,
			// flushes and closes; the reader then sees EOF.
			c.CloseWrite()
			t.Wait(reader)
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()

	deadline := time.Now().Add(30 * time.Second)
	for connected.Load()+failed.Load() < int64(cfg.conns) {
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	res.serverStats = askStats(cfg.addr)
	began := time.Now()
	end.Store(began.Add(cfg.duration).UnixNano())
	start.Store(true)
	select {
	case err = <-ran: // every client is done
	case <-time.After(cfg.duration + 30*time.Second):
		err = errors.New("clients did not finish in time")
		cancel()
		<-ran
	}
	res.elapsed = time.Since(began)
	res.connected, res.failed = connected.Load(), failed.Load()
	res.sent, res.received = sent.Load(), received.Load()
	return res, err
}

// askStats asks the server for its /stats line on a connection of its own.
func askStats(addr string) string {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "stats unavailable: " + err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "stats observer\n/stats\n")
	in := bufio.NewReader(c)
	for {
		line, err := in.ReadString('\n')
		if err != nil {
			return "stats unavailable: " + err.Error()
		}
		if strings.HasPrefix(line, "stats ") {
			return strings.TrimSpace(line)
		}
	}
}

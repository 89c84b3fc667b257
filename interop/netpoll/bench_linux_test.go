package netpoll

import (
	"io"
	"net"
	"testing"

	"github.com/costack-dev/costack/costack"
)

// BenchmarkEchoRoundTrip is one 64-byte request/response over loopback
// against an echo server: a netpoll task on a scheduler driven by Run
// sleeping in its Poller, or a goroutine on package net, from one package
// net client. Compare the sub-benchmarks (benchstat -col /server).
func BenchmarkEchoRoundTrip(b *testing.B) {
	b.Run("server=netpoll", func(b *testing.B) {
		p, err := NewPoller()
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		lc := ListenConfig{Poller: p}
		ln, err := lc.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		s := costack.NewScheduler(costack.WithEventSource(p))
		Serve(s, ln, func(t *costack.Task, c *Conn) {
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
		stop := runInBackground(s)
		defer func() {
			ln.Close()
			stop()
			s.Close()
		}()
		roundTrips(b, ln.Addr().String())
	})
	b.Run("server=net", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
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
				}()
			}
		}()
		roundTrips(b, ln.Addr().String())
	})
}

func roundTrips(b *testing.B, addr string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req, resp := make([]byte, 64), make([]byte, 64)
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, resp); err != nil {
			b.Fatal(err)
		}
	}
}

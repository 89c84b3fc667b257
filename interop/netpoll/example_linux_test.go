package netpoll_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"

	"github.com/costack-dev/costack/costack"
	"github.com/costack-dev/costack/interop/netpoll"
)

// A line-echo server: a task per connection, reading lines with bufio as
// it would from a net.Conn in a goroutine. The game loop here is a plain
// loop of Ticks; a server would call Scheduler.Run instead.
func ExampleServe() {
	ln, err := netpoll.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	s := costack.NewScheduler()
	defer s.Close()
	netpoll.Serve(s, ln, func(t *costack.Task, c *netpoll.Conn) {
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n') // suspends this task only
			if err != nil {
				return // Serve closes the connection
			}
			fmt.Fprintf(c, "echo: %s", strings.ToUpper(line))
		}
	})

	reply := make(chan string)
	go func() { // a client, on package net
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			reply <- err.Error()
			return
		}
		defer c.Close()
		fmt.Fprintln(c, "hello")
		line, _ := bufio.NewReader(c).ReadString('\n')
		reply <- line
	}()
	for {
		s.Tick()
		select {
		case line := <-reply:
			fmt.Print(line)
			return
		default:
		}
	}
	// Output: echo: HELLO
}

// The Poller as the event source of a run loop: Wait sleeps in
// epoll_wait and wakes the tasks whose sockets are ready, Interrupt ends
// the sleep early. Scheduler.Run does this; written out here.
func ExamplePoller() {
	p, err := netpoll.NewPoller()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	lc := netpoll.ListenConfig{Poller: p}
	ln, err := lc.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	s := costack.NewScheduler()
	defer s.Close()
	var got string
	s.Go(func(t *costack.Task) {
		c, err := ln.AcceptConn()
		if err != nil {
			return
		}
		defer c.Close()
		got, _ = bufio.NewReader(c).ReadString('\n')
	})
	go func() {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			fmt.Fprintln(c, "woken by epoll")
			c.Close()
		}
	}()
	for {
		s.Tick()
		if s.Len() == 0 {
			break
		}
		p.Wait(-1) // returns once it has woken a task
	}
	fmt.Print(got)
	// Output: woken by epoll
}

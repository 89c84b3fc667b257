// Command actors runs hive/skynet-style actors on one costack Scheduler:
// every actor is a task with a mailbox, and actors talk only by sending each
// other messages.
//
//	go run ./examples/actors -depth 5 -ring 1000 -laps 100
//
// Two workloads run on the same scheduler:
//
//   - skynet: a root actor spawns 10 children, each of which spawns 10, down
//     to -depth levels (10^depth leaves). Each leaf sends its number to its
//     parent; each parent sums its children's messages and sends the sum up.
//     The root checks the total.
//   - ring: -ring actors in a circle pass a token -laps times round.
//
// An actor blocked in Receive costs nothing per tick: it waits on its
// yield.Mailbox and is resumed on the tick after a message arrives.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/costack-dev/costack/costack"
	"github.com/costack-dev/costack/yield"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "actors:", err)
		os.Exit(2)
	}
}

// Message is what actors send each other.
type Message struct {
	From *Actor
	Val  int
}

// Actor is a task with a mailbox. Send may be called from any task (and
// from any goroutine); Receive only by the actor's own task.
type Actor struct {
	task  *costack.Task
	inbox yield.Mailbox[Message] // level-triggered: no wake-up is lost
}

// Spawn starts an actor running body on s, configured by opts.
func Spawn(s *costack.Scheduler, body func(self *Actor, t *costack.Task), opts ...costack.TaskOption) *Actor {
	a := new(Actor)
	a.task = s.Go(func(t *costack.Task) { body(a, t) }, opts...)
	return a
}

// Send puts m in a's mailbox and wakes a if it waits for mail.
func (a *Actor) Send(m Message) {
	if err := a.inbox.Send(m); err != nil {
		panic(err) // unbounded and never closed: cannot fail
	}
}

// Receive returns the next message, waiting for one if the mailbox is
// empty. t must be the actor's own task.
func (a *Actor) Receive(t *costack.Task) Message {
	m, _ := a.inbox.Receive(t)
	return m
}

// skynet spawns the tree below parent and returns the root actor. Every
// actor below the root starts eagerly (costack.Eager): it runs at once,
// inside its parent's Spawn, until it waits for mail, as Go's runtime runs
// a new goroutine next. So the tree runs depth first and only the actors on
// the current path, with their unfinished siblings, are alive at once; a
// leaf's message is in its parent's mailbox before the parent asks for it.
func skynet(s *costack.Scheduler, parent *Actor, num, size, div int) *Actor {
	return Spawn(s, func(self *Actor, t *costack.Task) {
		if size == 1 {
			parent.Send(Message{From: self, Val: num})
			return
		}
		size /= div
		for i := range div {
			skynet(s, self, num+i*size, size, div)
		}
		sum := 0
		for range div {
			sum += self.Receive(t).Val
		}
		parent.Send(Message{From: self, Val: sum})
	}, costack.Eager())
}

// ring starts n actors to pass a token laps times round, and returns the
// first, to which the caller sends the token (Val 0). The actor that makes
// the last hop sends the number of hops to done and a stop message round
// the ring, which ends every actor.
func ring(s *costack.Scheduler, n, laps int, done *Actor) *Actor {
	actors := make([]*Actor, n)
	for i := range actors {
		actors[i] = Spawn(s, func(self *Actor, t *costack.Task) {
			next := actors[(i+1)%n]
			for {
				m := self.Receive(t)
				if m.Val == n*laps {
					done.Send(Message{From: self, Val: m.Val})
					next.Send(Message{From: self, Val: -1})
					return
				}
				if m.Val < 0 { // stop, and pass it on
					next.Send(m)
					return
				}
				next.Send(Message{From: self, Val: m.Val + 1})
			}
		})
	}
	return actors[0]
}

func memInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// collect spawns an actor that receives one message and stores its value
// in *got, and the tick it arrived in *at.
func collect(s *costack.Scheduler, got *int, at *uint64) *Actor {
	return Spawn(s, func(self *Actor, t *costack.Task) {
		*got = self.Receive(t).Val
		*at = t.Scheduler().Frame()
	})
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("actors", flag.ContinueOnError)
	fs.SetOutput(stdout)
	depth := fs.Int("depth", 5, "skynet depth: 10^depth leaf actors")
	ringN := fs.Int("ring", 1000, "actors in the ring")
	laps := fs.Int("laps", 10, "laps of the token round the ring")
	workers := fs.Int("workers", 1, "scheduler workers")
	maxTicks := fs.Int("max-ticks", 1_000_000, "give up after this many ticks")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *depth < 1 || *depth > 7 || *ringN < 1 || *laps < 1 || *workers < 1 {
		return errors.New("need 1 <= -depth <= 7, -ring >= 1, -laps >= 1, -workers >= 1")
	}
	s := costack.NewScheduler(costack.Workers(*workers))
	defer s.Close()
	fmt.Fprintf(stdout, "engine: %s, workers: %d\n", costack.Engine(), *workers)

	leaves, skynetActors := 1, 1
	for range *depth {
		leaves *= 10
		skynetActors += leaves
	}
	// The ring first: once its actors all wait in Receive, measure what
	// an idle actor costs. Then start the token and the skynet tree.
	skySum, hops := -1, -1
	var skyAt, ringAt uint64
	before := memInUse()
	first := ring(s, *ringN, *laps, collect(s, &hops, &ringAt))
	s.Tick()
	idle := memInUse()
	fmt.Fprintf(stdout, "%d idle actors waiting in Receive: %d bytes each\n", s.Len(), (max(idle, before)-before)/uint64(s.Len()))

	start := time.Now()
	first.Send(Message{Val: 0})
	skynet(s, collect(s, &skySum, &skyAt), 0, leaves, 10)
	peak := 0
	for s.Len() > 0 {
		if int(s.Frame()) >= *maxTicks {
			return fmt.Errorf("not done after %d ticks", *maxTicks)
		}
		s.Tick()
		peak = max(peak, s.Len())
	}
	elapsed := time.Since(start)
	if want := leaves * (leaves - 1) / 2; skySum != want {
		return fmt.Errorf("skynet sum %d, want %d", skySum, want)
	}
	if want := *ringN * *laps; hops != want {
		return fmt.Errorf("ring hops %d, want %d", hops, want)
	}
	fmt.Fprintf(stdout, "skynet: %d actors (%d leaves), sum %d, done at tick %d\n", skynetActors, leaves, skySum, skyAt)
	fmt.Fprintf(stdout, "ring:   %d actors, %d hops, done at tick %d\n", *ringN, hops, ringAt)
	fmt.Fprintf(stdout, "%d ticks in %v, at most %d live actors\n", s.Frame(), elapsed.Round(time.Millisecond), peak)
	return nil
}

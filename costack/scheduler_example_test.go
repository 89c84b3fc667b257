package costack_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/costack-dev/costack/costack"
	"github.com/costack-dev/costack/yield"
)

// A game loop: each entity is a task whose behaviour is straight-line code;
// the loop ticks the scheduler once per frame.
func ExampleScheduler() {
	s := costack.NewScheduler()
	defer s.Close()

	s.Go(func(t *costack.Task) {
		for i := range 3 {
			fmt.Printf("frame %d: blink %d\n", t.Scheduler().Frame(), i)
			yield.Frames(t, 2)
		}
	})
	s.Go(func(t *costack.Task) {
		// Scheduler time: armed at frame 1, due 50ms later. A frame of
		// 1/60 s is 16.666666ms, so that is reached at frame 5.
		yield.For(t, 50*time.Millisecond)
		fmt.Printf("frame %d: timer\n", t.Scheduler().Frame())
	})

	for s.Len() > 0 {
		s.Tick()
	}
	// Output:
	// frame 1: blink 0
	// frame 3: blink 1
	// frame 5: blink 2
	// frame 5: timer
}

// Tasks started in the same tick run in the order they were started; a task
// started during a tick first runs on the next one.
func ExampleScheduler_Go() {
	s := costack.NewScheduler()
	defer s.Close()
	for _, name := range []string{"a", "b"} {
		s.Go(func(t *costack.Task) {
			fmt.Println(name, "at frame", t.Scheduler().Frame())
			t.Scheduler().Go(func(t *costack.Task) {
				fmt.Println(name+"'s child at frame", t.Scheduler().Frame())
			})
		})
	}
	s.Tick()
	s.Tick()
	// Output:
	// a at frame 1
	// b at frame 1
	// a's child at frame 2
	// b's child at frame 2
}

// Cancel closes a task at the next opportunity; its deferred calls run.
func ExampleTask_Cancel() {
	s := costack.NewScheduler()
	defer s.Close()
	guard := s.Go(func(t *costack.Task) {
		defer fmt.Println("guard: off duty")
		for {
			yield.Frames(t, 10)
		}
	})
	s.Tick()
	guard.Cancel()
	s.Tick()
	fmt.Println("done:", guard.Done(), "err:", guard.Err())
	// Output:
	// guard: off duty
	// done: true err: <nil>
}

// A panicking task ends with Err set; the other tasks go on.
func ExampleTask_Err() {
	s := costack.NewScheduler()
	defer s.Close()
	bad := s.Go(func(t *costack.Task) { panic("out of ammo") })
	s.Go(func(t *costack.Task) { fmt.Println("still running") })
	s.Tick()
	fmt.Println(bad.Err())
	// Output:
	// still running
	// costack: coroutine panicked: out of ammo
}

// blockingWait is a Waiter that runs a blocking call on another goroutine,
// the way interop.Block does: the task waits, the scheduler keeps ticking,
// and the call's goroutine wakes the task. If the task goes away first, the
// call's context is cancelled.
type blockingWait struct {
	fn     func(ctx context.Context) string
	result string
	wg     *sync.WaitGroup
}

func (b *blockingWait) Arm(w costack.Waker) {
	ctx, cancel := context.WithCancel(context.Background())
	w.OnDone(cancel) // the wait is over: satisfied, or the task was closed
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.result = b.fn(ctx) // written before Wake, read after Wait
		w.Wake()             // safe from any goroutine
	}()
}

// Implementing a Waiter: a wait that ends from another goroutine.
func ExampleWaiter() {
	s := costack.NewScheduler()
	defer s.Close()
	var wg sync.WaitGroup
	done := make(chan struct{})
	s.Go(func(t *costack.Task) {
		b := &blockingWait{wg: &wg, fn: func(ctx context.Context) string {
			<-done // a slow call
			return "loaded"
		}}
		t.Wait(b)
		fmt.Println("task got:", b.result)
	})
	s.Tick() // the task starts the call and waits
	s.Tick() // nothing to do: the call is still running
	close(done)
	wg.Wait() // the call has woken the task
	s.Tick()
	// Output:
	// task got: loaded
}

// With several workers, task bodies touch only their own entity; shared
// totals go through Apply, which runs at the end of the tick in a fixed
// order.
func ExampleTask_Apply() {
	s := costack.NewScheduler(costack.Workers(2))
	defer s.Close()
	positions := make([]int, 1000)
	total := 0
	for i := range positions {
		s.Go(func(t *costack.Task) {
			for {
				positions[i] += i % 3 // own entity: safe on any worker
				t.Apply(func() { total += i % 3 })
				t.Yield()
			}
		})
	}
	for range 10 {
		s.Tick()
	}
	fmt.Println(total)
	// Output:
	// 9990
}

// Run ticks only when a task is ready and sleeps otherwise; its ticks
// advance scheduler time by the real time elapsed. It returns once no task
// is left (or when its context is done).
func ExampleScheduler_Run() {
	s := costack.NewScheduler()
	defer s.Close()
	replies := make(chan string)
	s.Go(func(t *costack.Task) {
		yield.For(t, 20*time.Millisecond) // real time, under Run
		fmt.Println("timer: at least 20ms:", t.Scheduler().Now() >= 20*time.Millisecond)
	})
	s.Go(func(t *costack.Task) {
		// A reply from another goroutine: the wake interrupts Run's sleep.
		var reply string
		t.Wait(costack.WaiterFunc(func(w costack.Waker) {
			go func() {
				reply = <-replies
				w.Wake()
			}()
		}))
		fmt.Println("got", reply)
	})
	go func() { replies <- "pong" }()
	err := s.Run(context.Background())
	fmt.Println("Run:", err, "tasks left:", s.Len())
	// Unordered output:
	// got pong
	// timer: at least 20ms: true
	// Run: <nil> tasks left: 0
}

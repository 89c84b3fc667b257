package interop_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/costack-dev/costack/costack"
	"github.com/costack-dev/costack/interop"
)

// legacyWalk stands for deep legacy code that knows nothing of coroutines.
func legacyWalk(depth int) int {
	if depth == 0 {
		return 0
	}
	return 1 + legacyWalk(depth-1)
}

func ExampleCall() {
	co := costack.New(func(y *costack.Yielder[int, int], _ int) int {
		var n int
		// The recursion runs on the current stack; its frames are gone
		// before the coroutine suspends, so they cost the suspended
		// coroutine nothing.
		interop.Call(func() { n = legacyWalk(10_000) })
		y.Yield(n)

		// A yield inside Call is refused with a panic naming interop.Call.
		defer func() {
			msg := fmt.Sprint(recover())
			fmt.Println("refused:", strings.Contains(msg, "interop.Call"))
		}()
		interop.Call(func() { y.Yield(-1) })
		return 0
	})
	n, _, _ := co.Resume(0)
	fmt.Println("walked", n)
	_, done, err := co.Resume(0)
	fmt.Println(done, err)
	// Output:
	// walked 10000
	// refused: true
	// true <nil>
}

func ExampleCallValue() {
	n := interop.CallValue(func() int { return legacyWalk(3) })
	fmt.Println(n)
	// Output: 3
}

func ExampleStart() {
	f := interop.Start(context.Background(), func(ctx context.Context) (string, error) {
		return "read from a slow device", nil // a blocking call
	})
	<-f.Done()
	fmt.Println(f.Result())
	// Output: read from a slow device <nil>
}

// A call that panics on a worker ends with costack's PanicError, the error
// of a coroutine whose body panicked: one errors.As catches either.
func ExamplePanicError() {
	_, err := interop.Start(context.Background(), func(ctx context.Context) (int, error) {
		panic("device on fire")
	}).Result()
	var pe *costack.PanicError // the same type as *interop.PanicError
	if errors.As(err, &pe) {
		fmt.Println("the call panicked:", pe.Value)
	}
	// Output: the call panicked: device on fire
}

func ExamplePool() {
	p := interop.NewPool(interop.PoolSize(4)) // at most 4 blocking calls at once
	defer p.Close()
	var fs []*interop.Future[int]
	for i := range 10 {
		fs = append(fs, interop.StartOn(context.Background(), p, func(ctx context.Context) (int, error) {
			return i * i, nil
		}))
	}
	sum := 0
	for _, f := range fs {
		v, _ := f.Result()
		sum += v
	}
	fmt.Println(sum)
	// Output: 285
}

// A program that makes many blocking calls at once sets a larger default
// pool in main, before anything uses it. (No output is checked: in a test
// binary the default pool has been used by the time examples run, and
// SetDefaultPool then returns ErrDefaultPoolInUse.)
func ExampleSetDefaultPool() {
	if err := interop.SetDefaultPool(interop.NewPool(interop.PoolSize(1024))); err != nil {
		log.Fatal(err) // too late: something used the default pool already
	}
	fmt.Println(interop.DefaultPool().Size())
}

func ExampleThread() {
	th := interop.NewThread() // one goroutine locked to one OS thread
	defer th.Close()
	// Every call runs on the same OS thread, as a GL context or a GUI
	// toolkit requires.
	_ = th.Do(func() { fmt.Println("init on the locked thread") })
	v, err := interop.DoValue(th, func() int { return 42 })
	fmt.Println(v, err)
	// Output:
	// init on the locked thread
	// 42 <nil>
}

func ExampleBlockYield() {
	release := make(chan struct{})
	co := costack.New(func(y *costack.Yielder[int, string], _ int) string {
		v, err := interop.BlockYield(context.Background(), y, "still waiting",
			func(ctx context.Context) (string, error) {
				<-release // a blocking call on a pool worker
				return "done", nil
			})
		if err != nil {
			return err.Error()
		}
		return v
	})
	out, done, _ := co.Resume(0) // returns at once: the call is running
	fmt.Println(out, done)
	close(release)
	for !done {
		out, done, _ = co.Resume(0) // a game loop would resume once a frame
	}
	fmt.Println(out)
	// Output:
	// still waiting false
	// done
}

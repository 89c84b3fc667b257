package interop_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/costack-dev/costack/costack"
	"github.com/costack-dev/costack/interop"
	"github.com/costack-dev/costack/yield"
)

func ExampleBlock() {
	s := costack.NewScheduler()
	defer s.Close()
	loader := s.Go(func(t *costack.Task) {
		// Only this task waits for the file; the loop keeps ticking.
		data, err := interop.Block(t, func(ctx context.Context) ([]byte, error) {
			return os.ReadFile("testdata/level.txt")
		})
		fmt.Printf("loaded %q, err %v\n", data, err)
	})
	for !loader.Done() {
		s.Tick()
		time.Sleep(time.Millisecond) // the rest of the frame
	}
	// Output: loaded "level 1\n", err <nil>
}

func ExampleNewBlockingCall() {
	s := costack.NewScheduler()
	defer s.Close()
	t := s.Go(func(t *costack.Task) {
		slow := interop.NewBlockingCall(interop.DefaultPool(), func(ctx context.Context) (string, error) {
			<-ctx.Done() // a call that takes longer than we are willing to wait
			return "", ctx.Err()
		})
		if yield.Any(t, slow, yield.InFrames(3)) == 1 {
			fmt.Println("timed out after 3 frames; the call's context is cancelled")
		}
	})
	for !t.Done() {
		s.Tick()
	}
	// Output: timed out after 3 frames; the call's context is cancelled
}

// A whole game loop on one locked OS thread: the ticks, and the task
// bodies they resume, all run there, as a GL context requires.
func ExampleThread_schedulerLoop() {
	th := interop.NewThread()
	defer th.Close()
	_ = th.Do(func() {
		s := costack.NewScheduler()
		defer s.Close()
		s.Go(func(t *costack.Task) {
			for i := 1; i <= 3; i++ {
				fmt.Println("draw frame", i) // GL calls would go here
				t.Yield()
			}
		})
		for s.Len() > 0 {
			s.Tick()
		}
	})
	// Output:
	// draw frame 1
	// draw frame 2
	// draw frame 3
}

// A task hands a call to a locked thread and waits for it without
// stalling the loop, which runs on another goroutine.
func ExampleBlockOn() {
	gl := interop.NewThread()
	defer gl.Close()
	s := costack.NewScheduler()
	defer s.Close()
	t := s.Go(func(t *costack.Task) {
		v, err := interop.BlockOn(gl, t, func(ctx context.Context) (string, error) {
			return "texture uploaded", nil // runs on gl's OS thread
		})
		fmt.Println(v, err)
	})
	for !t.Done() {
		s.Tick()
		time.Sleep(time.Millisecond)
	}
	// Output: texture uploaded <nil>
}

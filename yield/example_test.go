package yield_test

import (
	"fmt"
	"time"

	"github.com/costack-dev/costack/costack"
	"github.com/costack-dev/costack/yield"
)

// A patrol with a timeout: the guard waits at its post for the alarm or for
// two seconds of scheduler time, whichever comes first.
func ExampleAny() {
	s := costack.NewScheduler(costack.FrameDuration(100 * time.Millisecond))
	defer s.Close()
	alarm := yield.NewSignal()
	s.Go(func(t *costack.Task) {
		for range 2 {
			switch yield.Any(t, alarm, yield.After(2*time.Second)) {
			case 0:
				fmt.Println("alarm at", t.Scheduler().Now())
			case 1:
				fmt.Println("all quiet at", t.Scheduler().Now())
			}
		}
	})
	s.Tick() // 100ms: the guard starts waiting
	s.Tick()
	alarm.Fire()
	for range 25 {
		s.Tick()
	}
	// Output:
	// alarm at 300ms
	// all quiet at 2.3s
}

func ExampleFrames() {
	s := costack.NewScheduler()
	defer s.Close()
	s.Go(func(t *costack.Task) {
		f := t.Scheduler().Frame()
		yield.Frames(t, 3)
		fmt.Println("from frame", f, "to frame", t.Scheduler().Frame())
	})
	for range 5 {
		s.Tick()
	}
	// Output:
	// from frame 1 to frame 4
}

func ExampleSignal() {
	s := costack.NewScheduler()
	defer s.Close()
	door := yield.NewSignal()
	for _, name := range []string{"cat", "dog"} {
		s.Go(func(t *costack.Task) {
			yield.On(t, door)
			fmt.Println(name, "goes out at frame", t.Scheduler().Frame())
		})
	}
	s.Tick()
	fmt.Println("waiting:", door.Waiting())
	door.Fire()
	s.Tick()
	// Output:
	// waiting: 2
	// cat goes out at frame 2
	// dog goes out at frame 2
}

func ExampleJoin() {
	s := costack.NewScheduler()
	defer s.Close()
	loader := s.Go(func(t *costack.Task) { yield.Frames(t, 5) })
	s.Go(func(t *costack.Task) {
		yield.Join(t, loader)
		fmt.Println("loaded by frame", t.Scheduler().Frame())
	})
	for s.Len() > 0 {
		s.Tick()
	}
	// Output:
	// loaded by frame 7
}

func ExampleAll() {
	s := costack.NewScheduler()
	defer s.Close()
	red, blue := yield.NewSignal(), yield.NewSignal()
	s.Go(func(t *costack.Task) {
		yield.All(t, red, blue, yield.InFrames(2))
		fmt.Println("both keys, and 2 frames, by frame", t.Scheduler().Frame())
	})
	s.Tick()
	blue.Fire()
	s.Tick()
	s.Tick()
	red.Fire()
	s.Tick()
	// Output:
	// both keys, and 2 frames, by frame 4
}

func ExampleUntil() {
	s := costack.NewScheduler()
	defer s.Close()
	hp := 3
	s.Go(func(t *costack.Task) {
		yield.Until(t, func() bool { return hp <= 0 })
		fmt.Println("down at frame", t.Scheduler().Frame())
	})
	for s.Len() > 0 {
		s.Tick()
		hp--
	}
	// Output:
	// down at frame 4
}

// An actor's mailbox: messages sent before the actor waits are not lost,
// and Receive waits while it is empty.
func ExampleMailbox() {
	s := costack.NewScheduler()
	defer s.Close()
	inbox := yield.NewMailbox[string](0)
	_ = inbox.Send("hello") // before the actor ever ran
	s.Go(func(t *costack.Task) {
		for {
			msg, ok := inbox.Receive(t)
			if !ok {
				fmt.Println("inbox closed")
				return
			}
			fmt.Println("got", msg, "at frame", t.Scheduler().Frame())
		}
	})
	s.Tick()
	_ = inbox.Send("world")
	s.Tick()
	inbox.Close()
	s.Tick()
	// Output:
	// got hello at frame 1
	// got world at frame 2
	// inbox closed
}

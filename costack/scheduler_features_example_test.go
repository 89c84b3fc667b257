package costack_test

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/costack-dev/costack/costack"
	"github.com/costack-dev/costack/yield"
)

// A Unity-style coroutine: yield return null, WaitForSeconds,
// WaitForEndOfFrame and yield return StartCoroutine, as straight-line Go.
func Example_unityCoroutine() {
	s := costack.NewScheduler(costack.FrameDuration(100 * time.Millisecond))
	defer s.Close()
	s.Go(func(t *costack.Task) {
		fmt.Println("frame", t.Scheduler().Frame(), "start")
		t.Yield() // yield return null
		fmt.Println("frame", t.Scheduler().Frame(), "after a frame")
		yield.For(t, 250*time.Millisecond) // WaitForSeconds(0.25f)
		fmt.Println("frame", t.Scheduler().Frame(), "after 250ms")
		yield.Phase(t, costack.EndOfFrame) // WaitForEndOfFrame
		fmt.Println("frame", t.Scheduler().Frame(), t.Phase())
		fade := t.Scheduler().Go(func(t *costack.Task) { yield.Frames(t, 2) })
		// yield return StartCoroutine(Fade()): fade runs in frames 6 to 8;
		// a join ends at the tick after the end.
		yield.Join(t, fade)
		fmt.Println("frame", t.Scheduler().Frame(), "faded")
	})
	for s.Len() > 0 {
		s.Tick()
	}
	// Output:
	// frame 1 start
	// frame 2 after a frame
	// frame 5 after 250ms
	// frame 5 EndOfFrame
	// frame 9 faded
}

// Phases: a physics task steps in FixedUpdate (three fixed steps of 1/180 s
// per 1/60 s frame), a camera follows in LateUpdate.
func ExampleTask_YieldTo() {
	s := costack.NewScheduler(costack.FixedStep(time.Second/180, 8))
	defer s.Close()
	steps := 0
	s.Go(func(t *costack.Task) {
		for {
			steps++
			t.YieldTo(costack.FixedUpdate) // the next fixed step
		}
	}, costack.InPhase(costack.FixedUpdate))
	s.Go(func(t *costack.Task) {
		for {
			fmt.Printf("frame %d %v: %d physics steps so far\n", t.Scheduler().Frame(), t.Phase(), steps)
			t.Yield()
		}
	}, costack.InPhase(costack.LateUpdate))
	s.Tick()
	s.Tick()
	// Output:
	// frame 1 LateUpdate: 3 physics steps so far
	// frame 2 LateUpdate: 6 physics steps so far
}

// A group pauses, slows down and kills its tasks together; its tasks' time
// waits run on its clock.
func ExampleGroup() {
	s := costack.NewScheduler(costack.FrameDuration(100 * time.Millisecond))
	defer s.Close()
	enemies := s.NewGroup("enemies")
	for _, name := range []string{"orc", "troll"} {
		enemies.Go(func(t *costack.Task) {
			defer fmt.Println(name, "removed")
			for {
				yield.For(t, 200*time.Millisecond)
				fmt.Printf("%.1fs %s attacks (group time %.1fs)\n",
					t.Scheduler().Now().Seconds(), name, t.Now().Seconds())
			}
		})
	}
	for range 3 {
		s.Tick() // attacks at 0.3s
	}
	enemies.Pause() // the menu opens: from the next tick, nothing moves
	for range 5 {
		s.Tick()
	}
	enemies.Resume()
	enemies.SetTimeScale(0.5) // slow motion
	for range 4 {
		s.Tick()
	}
	enemies.Cancel() // the level ends
	s.Tick()
	// Output:
	// 0.3s orc attacks (group time 0.3s)
	// 0.3s troll attacks (group time 0.3s)
	// 1.2s orc attacks (group time 0.5s)
	// 1.2s troll attacks (group time 0.5s)
	// orc removed
	// troll removed
}

// A task with a result, joined by another task (UniTask<T>, await).
func ExampleGoResult() {
	s := costack.NewScheduler()
	defer s.Close()
	path := costack.GoResult(s, func(t *costack.Task) ([]string, error) {
		yield.Frames(t, 3) // a search spread over frames 1 to 4
		return []string{"A", "B", "C"}, nil
	})
	broken := costack.GoResult(s, func(t *costack.Task) (int, error) {
		return 0, errors.New("no route")
	})
	s.Go(func(t *costack.Task) {
		p, err := path.Join(t)
		fmt.Println("path", p, err, "at frame", t.Scheduler().Frame())
		_, err = broken.Join(t)
		fmt.Println("broken:", err)
	})
	for s.Len() > 0 {
		s.Tick()
	}
	// Output:
	// path [A B C] <nil> at frame 5
	// broken: no route
}

// Cancelling a task cancels its children first, innermost first; their
// deferred calls run.
func ExampleTask_Cancel_children() {
	s := costack.NewScheduler()
	defer s.Close()
	level := s.Go(func(t *costack.Task) {
		defer fmt.Println("level unloaded")
		t.Scheduler().Go(func(t *costack.Task) {
			defer fmt.Println("spawner stopped")
			t.Scheduler().Go(func(t *costack.Task) {
				defer fmt.Println("enemy removed")
				yield.On(t, yield.NewSignal())
			})
			yield.On(t, yield.NewSignal())
		})
		yield.On(t, yield.NewSignal())
	})
	for range 3 {
		s.Tick()
	}
	level.Cancel()
	s.Tick()
	// Output:
	// enemy removed
	// spawner stopped
	// level unloaded
}

// WriteTasks lists the task tree with what each task waits for.
func ExampleScheduler_WriteTasks() {
	s := costack.NewScheduler()
	defer s.Close()
	door := &yield.Signal{Name: "door opened"}
	s.Go(func(t *costack.Task) {
		t.Scheduler().Go(func(t *costack.Task) { yield.On(t, door) }, costack.Named("guard"))
		yield.For(t, 30*time.Second)
	}, costack.Named("level"))
	s.Go(func(t *costack.Task) {
		for {
			t.Yield()
		}
	}, costack.Named("ticker"))
	s.Tick()
	s.Tick()
	if err := s.WriteTasks(os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 3 tasks at frame 2
	// level#1 waiting for yield.After(30s)
	//   guard#3 waiting for signal door opened
	// ticker#2 ready
}

// OnTaskEnd reports each task's end, and its error, on the goroutine
// calling Tick.
func ExampleOnTaskEnd() {
	s := costack.NewScheduler(costack.OnTaskEnd(func(t *costack.Task, err error) {
		fmt.Printf("%s ended: %v\n", t.Name(), err)
	}))
	defer s.Close()
	s.Go(func(t *costack.Task) { yield.Frames(t, 2) }, costack.Named("intro"))
	s.Go(func(t *costack.Task) { panic("missing texture") }, costack.Named("loader"))
	for s.Len() > 0 {
		s.Tick()
	}
	// Output:
	// loader ended: costack: coroutine panicked: missing texture
	// intro ended: <nil>
}

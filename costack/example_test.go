package costack_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/costack-dev/costack/costack"
)

// A generator: the body yields values one at a time and Resume collects
// them until the body returns.
func Example_generator() {
	fib := costack.New(func(y *costack.Yielder[struct{}, int], _ struct{}) int {
		a, b := 0, 1
		for range 8 {
			y.Yield(a)
			a, b = b, a+b
		}
		return -1
	})
	for {
		v, done, err := fib.Resume(struct{}{})
		if err != nil || done {
			break
		}
		fmt.Print(v, " ")
	}
	fmt.Println()
	// Output: 0 1 1 2 3 5 8 13
}

// Values flow both ways: Resume's argument is what Yield returns.
func Example_twoWay() {
	acc := costack.New(func(y *costack.Yielder[int, int], in int) int {
		total := 0
		for in >= 0 {
			total += in
			in = y.Yield(total)
		}
		return total
	})
	for _, n := range []int{5, 10, 20, -1} {
		total, done, _ := acc.Resume(n)
		fmt.Println(n, "->", total, done)
	}
	// Output:
	// 5 -> 5 false
	// 10 -> 15 false
	// 20 -> 35 false
	// -1 -> 35 true
}

// Close ends a suspended coroutine; its deferred calls run.
func ExampleCoroutine_Close() {
	c := costack.New(func(y *costack.Yielder[struct{}, string], _ struct{}) string {
		defer fmt.Println("cleanup ran")
		for {
			y.Yield("working")
		}
	})
	out, _, _ := c.Resume(struct{}{})
	fmt.Println(out)
	fmt.Println(c.Close(), c.Status())
	// Output:
	// working
	// cleanup ran
	// <nil> dead
}

// A panic in the body is returned as a *PanicError; the coroutine is dead.
func ExamplePanicError() {
	errBad := errors.New("bad input")
	c := costack.New(func(y *costack.Yielder[int, int], in int) int {
		if in < 0 {
			panic(errBad)
		}
		return in
	})
	_, _, err := c.Resume(-1)
	var pe *costack.PanicError
	fmt.Println(errors.As(err, &pe), errors.Is(err, errBad), c.Status())
	// Output: true true dead
}

// Pull turns a push iterator into a pull iterator, like iter.Pull.
func ExamplePull() {
	words := func(yield func(string) bool) {
		for _, w := range []string{"shared", "stack", "coroutines"} {
			if !yield(w) {
				return
			}
		}
	}
	next, stop := costack.Pull(words)
	defer stop()
	for {
		w, ok := next()
		if !ok {
			break
		}
		fmt.Println(w)
	}
	// Output:
	// shared
	// stack
	// coroutines
}

// In strict mode every engine refuses a yield the native engine cannot
// make, here one in a deferred call while the body panics; without it the
// portable engine would yield. Tests turn it on in TestMain.
func ExampleSetStrict() {
	costack.SetStrict(true)
	defer costack.SetStrict(false)
	co := costack.New(func(y *costack.Yielder[int, int], _ int) int {
		defer func() { y.Yield(1) }()
		panic("boom")
	})
	_, done, err := co.Resume(0)
	fmt.Println(done, err)
	// Output:
	// true costack: coroutine panicked: costack: Yield while a panic is in progress in the coroutine, or inside a deferred call run by the runtime, is not supported on the native engine
}

// Where is a suspended coroutine waiting? Stack answers in the format of
// runtime.Stack (here without the file:line lines, which depend on the
// machine).
func ExampleCoroutine_Stack() {
	c := costack.New(func(y *costack.Yielder[int, string], n int) string {
		for {
			n = waitForInput(y, n)
		}
	})
	defer c.Close()
	if _, _, err := c.Resume(1); err != nil {
		panic(err)
	}
	for _, line := range strings.Split(string(c.Stack()), "\n") {
		if !strings.HasPrefix(line, "\t") {
			fmt.Println(line)
		}
	}
	// Output:
	// coroutine [suspended]:
	// github.com/costack-dev/costack/costack.(*Yielder[...]).Yield(...)
	// github.com/costack-dev/costack/costack_test.waitForInput(...)
	// github.com/costack-dev/costack/costack_test.ExampleCoroutine_Stack.func1(...)
}

//go:noinline
func waitForInput(y *costack.Yielder[int, string], n int) int {
	return y.Yield(fmt.Sprint("waiting after ", n))
}

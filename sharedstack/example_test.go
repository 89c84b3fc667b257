package sharedstack_test

import (
	"fmt"

	"github.com/costack-dev/costack/sharedstack"
)

// The engine alone: control goes back and forth, values travel through
// memory both sides keep.
func Example() {
	var c *sharedstack.Coroutine
	var n int
	c = sharedstack.New(func() {
		for n = 1; n <= 3; n++ {
			c.Yield()
		}
	})
	for {
		if o, _ := c.Resume(); o != sharedstack.Yielded {
			break
		}
		fmt.Println("yielded", n)
	}
	// Output:
	// yielded 1
	// yielded 2
	// yielded 3
}

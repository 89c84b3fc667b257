// Command engine prints the engine costack selects in this environment, for
// CI logs.
package main

import (
	"fmt"

	"github.com/costack-dev/costack/sharedstack"
)

func main() { fmt.Println(sharedstack.Engine()) }

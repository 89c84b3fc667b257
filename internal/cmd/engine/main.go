// Command engine prints the engine costack selects in this environment, for
// CI logs.
package main

import (
	"fmt"

	"github.com/costack-dev/costack/internal/engine"
)

func main() { fmt.Println(engine.Engine()) }

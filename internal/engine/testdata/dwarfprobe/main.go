// Command dwarfprobe is built by TestLockMirrorMatchesDWARF for the DWARF
// of the runtime it links (go test strips the test binary's own).
package main

import "iter"

func main() {
	next, stop := iter.Pull(func(func(int) bool) {})
	next()
	stop()
}

package interop

import "golang.org/x/sys/unix"

// osThreadID returns the id of the OS thread running the caller, or -1
// where there is none to be had cheaply.
func osThreadID() int { return unix.Gettid() }

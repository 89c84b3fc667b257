//go:build !cgo

package cgotest

// Available reports whether the C library is built in (cgo is enabled).
const Available = false

// Add panics: the C library needs cgo.
func Add(a, b int) int { panic("cgotest: built without cgo") }

// ThreadID panics: the C library needs cgo.
func ThreadID() int { panic("cgotest: built without cgo") }

// CallBack panics: the C library needs cgo.
func CallBack(depth int, fn func()) { panic("cgotest: built without cgo") }

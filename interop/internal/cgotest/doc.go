// Package cgotest is a tiny C library, built with cgo, for interop's tests:
// plain C calls, and C code that calls back into Go. Without cgo it builds
// as a stub whose Available is false.
package cgotest

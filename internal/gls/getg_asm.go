//go:build amd64 || arm64

package gls

// getg returns the address of the calling goroutine's runtime g.
//
//go:noescape
func getg() uintptr

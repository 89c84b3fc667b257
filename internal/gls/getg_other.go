//go:build !amd64 && !arm64

package gls

import (
	"runtime"
	"strconv"
	"strings"
)

// getg returns the calling goroutine's id, read from its stack trace header
// ("goroutine 7 [running]:"). Slow, but correct, on platforms without an
// assembly getg.
func getg() uintptr {
	var buf [64]byte
	s := string(buf[:runtime.Stack(buf[:], false)])
	s = strings.TrimPrefix(s, "goroutine ")
	if i := strings.IndexByte(s, ' '); i > 0 {
		if id, err := strconv.ParseUint(s[:i], 10, 64); err == nil {
			return uintptr(id)
		}
	}
	panic("gls: cannot identify the goroutine")
}

//go:build (amd64 || arm64) && !race && !(linux && go1.26 && !go1.28)

package engine

import "runtime"

// The native engine mirrors runtime layouts of one Go version; others fall
// back to the portable engine until their layouts are mirrored and tested.
func init() {
	nativeUnavailable = "native engine not validated for " + runtime.GOOS + "/" + runtime.GOARCH + " " + runtime.Version()
}

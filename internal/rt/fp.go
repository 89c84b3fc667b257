//go:build linux && (amd64 || arm64) && go1.26 && !go1.28

package rt

// CallerFP returns its caller's frame pointer. On both architectures a
// frame pointer points at the caller's saved frame pointer, with the
// return address into the caller one word above it (the layout
// runtime.fpTracebackPCs walks), for every Go function and every assembly
// function with a frame.
func CallerFP() uintptr

// Package rt mirrors the parts of the Go runtime's metadata that the native
// engine of package sharedstack needs: function records (findfunc), pc-value
// tables, stack maps, stack-object records and the goroutine's stack bounds.
//
// Every layout here is private to one Go version and architecture and is
// compiled only under the matching build tags (linux && amd64 && go1.26 &&
// !go1.27 && !race). The only runtime symbol used is runtime.findfunc, which the runtime
// itself exports with a push linkname. Nothing here is trusted until
// sharedstack's probe has checked it against the running program.
package rt

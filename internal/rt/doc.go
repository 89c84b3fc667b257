// Package rt mirrors the parts of the Go runtime's metadata that the native
// engine of package sharedstack needs: function records (findfunc), pc-value
// tables, stack maps, stack-object records and the goroutine's stack bounds.
//
// Every layout here is private to the Go versions and architectures it was
// read from, and is compiled only under the matching build tags (linux &&
// (amd64 || arm64) && Go 1.26 or 1.27 && !race; the goroutine mirrors of
// g.go and CallerFP of fp.go also under -race, for sharedstack's strict
// mode on the portable engine); what differs between
// versions is in layout_go1NN.go, what differs between architectures (the
// pc quantum, how g is loaded) in arch_GOARCH.go and rt_GOARCH.s. The
// mirrored structs (_func, moduledata, the g prefix, _defer) have no
// architecture-dependent fields on these two 64-bit targets. The only
// runtime symbol used is runtime.findfunc, which the runtime itself exports
// with a push linkname. Nothing here is trusted until sharedstack's probe
// has checked it against the running program.
package rt

//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package engine

import "github.com/costack-dev/costack/internal/rt"

// noMapsRefusal judges a body frame by its function's record, as the
// native engine's decodeMeta does: assembly, a function that writes SP or
// a top frame (none of which has Go stack maps to relocate it by), or a
// reflect stub whose argument frame is described elsewhere. (rt's
// function records are not built under -race, where strict mode judges
// these frames by name only.)
func noMapsRefusal(pc uintptr, name string) string {
	f := rt.FindFunc(pc)
	if !f.Valid() {
		return ""
	}
	if f.Flag()&(rt.FlagAsm|rt.FlagSPWrite|rt.FlagTopFrame) != 0 || f.Args() == rt.ArgsSizeUnknown {
		return msgNoMaps + " (" + name + ")"
	}
	return ""
}

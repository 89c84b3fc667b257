//go:build linux && (amd64 || arm64) && go1.27 && !go1.28 && !race

package rt

// Offsets into runtime.moduledata, Go 1.27 (runtime/symtab.go): typedesclen,
// itaboffset and itabsize were added after types, moving rodata, gofunc and
// epclntab by 24 bytes; typelinks and itablinks, after epclntab, are gone.
const (
	modPCTab    = 80  // pctab []byte
	modText     = 176 // text uintptr
	modRodata   = 336 // rodata uintptr
	modGofunc   = 344 // gofunc uintptr
	modEpclntab = 352 // epclntab uintptr
)

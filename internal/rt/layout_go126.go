//go:build linux && (amd64 || arm64) && go1.26 && !go1.27 && !race

package rt

// Offsets into runtime.moduledata, Go 1.26 (runtime/symtab.go).
const (
	modPCTab    = 80  // pctab []byte
	modText     = 176 // text uintptr
	modRodata   = 312 // rodata uintptr
	modGofunc   = 320 // gofunc uintptr
	modEpclntab = 328 // epclntab uintptr
)

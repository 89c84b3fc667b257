//go:build linux && (amd64 || arm64) && go1.26 && !go1.28

package rt

import "unsafe"

// The goroutine mirrors, also built under the race detector (unlike the
// rest of the package, which only the native engine uses): sharedstack's
// strict mode reads them on the portable engine, where -race runs.

// G mirrors the prefix of runtime.g (Go 1.26 and 1.27; no field of the
// prefix depends on the architecture).
type G struct {
	StackLo     uintptr
	StackHi     uintptr
	StackGuard0 uintptr
	StackGuard1 uintptr
	Panic       unsafe.Pointer // *_panic
	Defer       *Defer         // *_defer
}

// Defer mirrors runtime._defer (runtime2.go; identical in Go 1.26 and
// 1.27). The native engine detaches heap records from g._defer on a yield
// and relinks them on resume; sharedstack's probe checks this layout
// against records the runtime made.
type Defer struct {
	Heap      bool
	Rangefunc bool           // true for a range-over-func head record
	SP        uintptr        // sp of the deferring frame
	PC        uintptr        // pc at time of defer
	Fn        unsafe.Pointer // func(): *funcval
	Link      *Defer         // next record on g: heap or stack
	Head      unsafe.Pointer // *atomic.Pointer[_defer] (rangefunc only)
}

// GetG returns the current goroutine's g.
func GetG() *G

// Offsets of the G fields, for assembly elsewhere.
const (
	GStackLo = unsafe.Offsetof(G{}.StackLo)
	GStackHi = unsafe.Offsetof(G{}.StackHi)
)

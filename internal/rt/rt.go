//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package rt

import (
	"unsafe"
)

// Constants of cmd/internal/objabi and internal/abi, the same in Go 1.26
// and 1.27.
const (
	PCDataStackMapIndex = 1

	FuncDataArgsPointerMaps    = 0
	FuncDataLocalsPointerMaps  = 1
	FuncDataStackObjects       = 2
	FuncDataOpenCodedDeferInfo = 4

	FlagTopFrame = 1
	FlagSPWrite  = 2
	FlagAsm      = 4

	// ArgsSizeUnknown marks functions whose argument frame is described
	// elsewhere (reflect.makeFuncStub, reflect.methodValueCall).
	ArgsSizeUnknown = -0x80000000

	PtrSize = 8
)

// funcInfo mirrors runtime.funcInfo: {*_func, *moduledata}.
type funcInfo struct {
	fn    unsafe.Pointer
	datap unsafe.Pointer
}

// findfunc is pushed by the runtime (symtab.go: //go:linkname findfunc).
//
//go:linkname findfunc runtime.findfunc
//go:noescape
func findfunc(pc uintptr) funcInfo

// Offsets into runtime._func (the same in Go 1.26 and 1.27, and on amd64
// and arm64: the struct has only 32- and 8-bit fields).
const (
	funcEntryOff  = 0
	funcArgs      = 8
	funcPCSP      = 16
	funcNPCData   = 28
	funcFuncID    = 40
	funcFlag      = 41
	funcNFuncData = 43
	funcSize      = 44
)

// Func is one function's runtime record.
type Func struct{ fi funcInfo }

// FindFunc returns the record of the function containing pc; Valid reports
// whether there is one.
func FindFunc(pc uintptr) Func { return Func{findfunc(pc)} }

// Valid reports whether f describes a function.
func (f Func) Valid() bool { return f.fi.fn != nil }

func (f Func) u32(off uintptr) uint32 { return *(*uint32)(unsafe.Add(f.fi.fn, off)) }
func (f Func) u8(off uintptr) uint8   { return *(*uint8)(unsafe.Add(f.fi.fn, off)) }
func (f Func) mod(off uintptr) uintptr {
	return *(*uintptr)(unsafe.Add(f.fi.datap, off))
}

// Entry is the function's first instruction.
func (f Func) Entry() uintptr { return f.mod(modText) + uintptr(f.u32(funcEntryOff)) }

// Args is the size of the argument frame (ArgsSizeUnknown for reflect stubs).
func (f Func) Args() int32 { return int32(f.u32(funcArgs)) }

// Flag is the abi.FuncFlag byte.
func (f Func) Flag() uint8 { return f.u8(funcFlag) }

// FuncID is the function's abi.FuncID.
func (f Func) FuncID() FuncID { return FuncID(f.u8(funcFuncID)) }

// FuncID mirrors internal/abi.FuncID (internal/abi/symtab.go, the same in Go
// 1.26 and 1.27): the runtime marks the functions a traceback must treat
// specially. The native engine refuses a yield across any of them but
// normal functions and wrappers. If the list drifts, the engine would
// misjudge runtime frames: sharedstack's probe checks goexit's value on a
// real goroutine's bottom frame.
type FuncID uint8

const (
	FuncIDNormal      FuncID = 0
	FuncIDAsmcgocall  FuncID = 2
	FuncIDCgocallback FuncID = 4
	FuncIDGoexit      FuncID = 8
	FuncIDSystemstack FuncID = 21
	FuncIDWrapper     FuncID = 23
)

// Rodata is the module's rodata base (stack-object pointer masks are
// offsets from it).
func (f Func) Rodata() uintptr { return f.mod(modRodata) }

// InFuncData reports whether p lies in the module's funcdata range, as the
// runtime's stackObjectRecord.gcdata requires of a record.
func (f Func) InFuncData(p unsafe.Pointer) bool {
	return f.mod(modGofunc) <= uintptr(p) && uintptr(p) < f.mod(modEpclntab)
}

// pcTable reads a pc-value table (an offset into the module's pctab) run
// by run, exactly as runtime.pcvalue does through runtime.step: the value
// starts at -1 at the entry; each run is a zig-zag uvarint value delta and
// a uvarint pc delta in units of PCQuantum; a zero value byte ends the
// table except on the first run. Both readers of tables, pcvalue and
// MaxSPDelta, walk them with it.
type pcTable struct {
	p     []byte  // the undecoded rest of the table
	val   int32   // the value of the run last decoded by next
	end   uintptr // the PC that run ends before
	first bool    // no run decoded yet
	ended bool    // next met the terminator (not a truncated table)
}

// table returns the reader of the pc-value table at off; ok is false when
// off is 0 (no table) or outside the module's pctab.
func (f Func) table(off uint32) (t pcTable, ok bool) {
	if off == 0 {
		return t, false
	}
	tab := *(*[]byte)(unsafe.Add(f.fi.datap, modPCTab))
	if int(off) >= len(tab) {
		return t, false
	}
	return pcTable{p: tab[off:], val: -1, end: f.Entry(), first: true}, true
}

// next decodes the next run into t.val and t.end. It returns false at the
// table's terminator (t.ended is then true) or where the table is cut off.
func (t *pcTable) next() bool {
	if len(t.p) == 0 {
		return false
	}
	uv, n := uvarint(t.p)
	if uv == 0 && !t.first {
		t.ended = true
		return false
	}
	t.first = false
	t.val += int32(-(uv & 1) ^ (uv >> 1))
	t.p = t.p[n:]
	if len(t.p) == 0 {
		return false
	}
	pcd, m := uvarint(t.p)
	t.p = t.p[m:]
	t.end += uintptr(pcd) * PCQuantum
	return true
}

// pcvalue is the value of the pc-value table at off at targetpc, as
// runtime.pcvalue; ok is false when there is no table or it does not cover
// targetpc.
func (f Func) pcvalue(off uint32, targetpc uintptr) (val int32, ok bool) {
	t, ok := f.table(off)
	if !ok {
		return -1, false
	}
	for t.next() {
		if targetpc < t.end {
			return t.val, true
		}
	}
	return -1, false
}

func uvarint(p []byte) (v uint32, n int) {
	var shift uint
	for n < len(p) && n < 5 {
		b := p[n]
		n++
		v |= uint32(b&0x7F) << shift
		if b&0x80 == 0 {
			return v, n
		}
		shift += 7
	}
	return v, n
}

// SPDelta is the pcsp value at pc: how far SP is below the entry SP.
func (f Func) SPDelta(pc uintptr) (int32, bool) { return f.pcvalue(f.u32(funcPCSP), pc) }

// MaxSPDelta is the largest pcsp value of the function: for a Go function,
// its frame size once the prologue has run (without the return PC on
// amd64). ok is false when the table cannot be read to its end.
func (f Func) MaxSPDelta() (top int32, ok bool) {
	t, ok := f.table(f.u32(funcPCSP))
	if !ok {
		return 0, false
	}
	for t.next() {
		top = max(top, t.val)
	}
	if !t.ended {
		return 0, false
	}
	return top, true
}

// PCData is the value of pc-data table i at pc, -1 if there is none.
func (f Func) PCData(i uint32, pc uintptr) int32 {
	if i >= f.u32(funcNPCData) {
		return -1
	}
	off := f.u32(funcSize + uintptr(i)*4)
	v, _ := f.pcvalue(off, pc)
	return v
}

// FuncData returns funcdata i, nil if there is none.
func (f Func) FuncData(i uint8) unsafe.Pointer {
	if i >= f.u8(funcNFuncData) {
		return nil
	}
	off := f.u32(funcSize + uintptr(f.u32(funcNPCData))*4 + uintptr(i)*4)
	if off == ^uint32(0) {
		return nil
	}
	return unsafe.Add(nil, f.mod(modGofunc)+uintptr(off))
}

// StackMap mirrors runtime.stackmap: n bitmaps of nbit bits each.
type StackMap struct {
	N    int32
	NBit int32
	data [1]byte
}

// Bitmap returns bitmap i.
func (m *StackMap) Bitmap(i int32) *byte {
	return (*byte)(unsafe.Add(unsafe.Pointer(&m.data[0]), uintptr(i)*uintptr((m.NBit+7)>>3)))
}

// Bit reports bit i of a bitmap.
func Bit(bm *byte, i int32) bool {
	return *(*byte)(unsafe.Add(unsafe.Pointer(bm), i>>3))>>(i&7)&1 != 0
}

// StackObject mirrors runtime.stackObjectRecord.
type StackObject struct {
	Off       int32 // < 0: from varp; >= 0: from argp
	Size      int32
	PtrBytes  int32
	GCDataOff uint32 // pointer mask at rodata + GCDataOff
}

// StackObjects returns the function's stack-object records.
func (f Func) StackObjects() []StackObject {
	p := f.FuncData(FuncDataStackObjects)
	if p == nil {
		return nil
	}
	n := *(*uintptr)(p)
	return unsafe.Slice((*StackObject)(unsafe.Add(p, PtrSize)), n)
}

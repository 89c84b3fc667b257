//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package rt

import (
	"reflect"
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPCTableDecodes: the reader both pcvalue and MaxSPDelta use, on
// hand-made tables in the runtime's format (runtime/symtab.go, step).
func TestPCTableDecodes(t *testing.T) {
	const base = 0x1000
	type run struct {
		val int32
		end uintptr
	}
	read := func(b []byte) (runs []run, ended bool) {
		tb := pcTable{p: b, val: -1, end: base, first: true}
		for tb.next() {
			runs = append(runs, run{tb.val, tb.end})
		}
		return runs, tb.ended
	}
	// +1 (zig-zag 2) for 5 quanta, +8 (16) for 3, -4 (7) for 2, then the
	// terminator.
	runs, ended := read([]byte{2, 5, 16, 3, 7, 2, 0})
	assert.Equal(t, []run{{0, base + 5*PCQuantum}, {8, base + 8*PCQuantum}, {4, base + 10*PCQuantum}}, runs)
	assert.True(t, ended)
	// A zero value delta is a value only in the first run; multi-byte
	// uvarints (300 = 0xac 0x02).
	runs, ended = read([]byte{0, 0xac, 0x02, 0})
	assert.Equal(t, []run{{-1, base + 300*PCQuantum}}, runs)
	assert.True(t, ended)
	// Cut off before a pc delta, and before the terminator: not ended.
	runs, ended = read([]byte{2})
	assert.Empty(t, runs)
	assert.False(t, ended)
	runs, ended = read([]byte{2, 5})
	assert.Equal(t, []run{{0, base + 5*PCQuantum}}, runs)
	assert.False(t, ended)
}

// probeFrame is a Go function with a frame of its own, which reports, from
// the stack itself, the return PC into it of its call of frameOf and its
// frame size as a pcsp value.
//
//go:noinline
func probeFrame() (pc uintptr, spd int32) {
	var pad [5]uintptr // locals, so that the frame is more than a saved FP
	touch(&pad)
	pc, spd = frameOf()
	touch(&pad)
	return pc, spd
}

//go:noinline
func touch(p *[5]uintptr) { p[len(p)-1]++ }

// frameOf returns the return PC into its caller and the caller's pcsp
// value there, read from the frame pointers (the layouts of CallerFP's
// doc: a frame pointer points at the caller's saved one, the return PC
// into the caller one word above). As sharedstack's framePCs, it makes no
// call that could move the stack while it holds frame pointers, and reads
// stack words through a pointer to a local of its own frame.
//
//go:noinline
//go:nosplit
func frameOf() (pc uintptr, spd int32) {
	fp := CallerFP() // frameOf's own
	var anchor byte
	base := unsafe.Pointer(&anchor)
	callerFP := *(*uintptr)(unsafe.Add(base, fp-uintptr(base)))
	pc = *(*uintptr)(unsafe.Add(base, fp+8-uintptr(base)))
	switch runtime.GOARCH {
	case "amd64":
		// The caller's SP is just above frameOf's return PC; its entry
		// SP just above its saved BP.
		spd = int32(callerFP + 8 - (fp + 16))
	case "arm64":
		// A frame pointer is 8 below its frame's SP; the caller's frame
		// ends where its own caller's SP is.
		spd = int32(*(*uintptr)(unsafe.Add(base, callerFP-uintptr(base))) - callerFP)
	}
	return pc, spd
}

// TestSPDeltaMatchesTheStack: pcvalue (SPDelta) and MaxSPDelta agree with
// the frame the running code really has, and with each other at every PC
// of the function.
func TestSPDeltaMatchesTheStack(t *testing.T) {
	pc, spd := probeFrame()
	f := FindFunc(pc)
	require.True(t, f.Valid())
	require.Equal(t, reflect.ValueOf(probeFrame).Pointer(), f.Entry())
	require.Positive(t, spd)
	got, ok := f.SPDelta(pc)
	require.True(t, ok)
	assert.Equal(t, spd, got, "pcsp at the return PC into probeFrame")
	top, ok := f.MaxSPDelta()
	require.True(t, ok)
	assert.Equal(t, spd, top, "probeFrame's frame size")
	at0, ok := f.SPDelta(f.Entry())
	require.True(t, ok)
	assert.Zero(t, at0, "nothing pushed at the entry")
	// MaxSPDelta is the largest SPDelta over the function's PCs, which the
	// table covers up to its last run's end.
	tb, ok := f.table(f.u32(funcPCSP))
	require.True(t, ok)
	var end uintptr
	for tb.next() {
		end = tb.end
	}
	require.True(t, tb.ended)
	most := int32(-1)
	for p := f.Entry(); p < end; p += PCQuantum {
		v, ok := f.SPDelta(p)
		require.True(t, ok, "pc %#x", p)
		most = max(most, v)
	}
	assert.Equal(t, top, most)
	_, ok = f.SPDelta(end)
	assert.False(t, ok, "beyond the table")
}

// TestNoTable: offset 0 is no table for both readers.
func TestNoTable(t *testing.T) {
	f := FindFunc(reflect.ValueOf(probeFrame).Pointer())
	_, ok := f.pcvalue(0, f.Entry())
	assert.False(t, ok)
	assert.Equal(t, int32(-1), f.PCData(1<<20, f.Entry()), "no such pc-data table")
}

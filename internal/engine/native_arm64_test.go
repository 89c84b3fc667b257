//go:build linux && arm64 && go1.26 && !go1.28 && !race

package engine

import (
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/costack-dev/costack/internal/rt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The arm64 frame facts the engine relies on (docs/native-arm64.md), pinned
// against the running binary.

// TestNativeARM64SwitchFlags: the arm64 assembler flags a function that
// writes RSP outside its prologue/epilogue (MOVD Rn, RSP) as SPWRITE, so a
// traceback that starts in switchIn or switchOut stops there; enter and
// yieldSwitch write no RSP and are walked like Go frames.
func TestNativeARM64SwitchFlags(t *testing.T) {
	for _, pc := range []uintptr{switchInPC(), switchOutPC()} {
		f := rt.FindFunc(pc)
		require.True(t, f.Valid())
		assert.NotZero(t, f.Flag()&rt.FlagSPWrite, funcName(pc))
		assert.NotZero(t, f.Flag()&rt.FlagAsm, funcName(pc))
		spd, ok := f.SPDelta(pc)
		assert.True(t, ok && spd == 0, "%s is frameless", funcName(pc))
	}
	for _, pc := range []uintptr{enterPC(), yieldSwitchPC()} {
		assert.Zero(t, rt.FindFunc(pc).Flag()&rt.FlagSPWrite, funcName(pc))
	}
}

// TestNativeARM64FrameSizes: after the prologue, enter's and yieldSwitch's
// pcsp values are their declared locals + 8 (saved LR) rounded up with the
// frame-pointer word to a multiple of 16 ($16 -> 32), and the
// slots the assembly reserves lie inside the declared locals, below the
// top word (the caller's saved frame pointer).
func TestNativeARM64FrameSizes(t *testing.T) {
	for _, c := range []struct {
		pc   uintptr
		size int32
		slot int32
	}{{enterPC(), 32, enterContSlot}, {yieldSwitchPC(), 32, ysPCSlot}} {
		f := rt.FindFunc(c.pc)
		// The prologue is 3 instructions (MOVD.W R30; MOVD R29; SUB $8,
		// RSP, R29): from the fourth on, the frame is open.
		spd, ok := f.SPDelta(c.pc + 3*4)
		require.True(t, ok, funcName(c.pc))
		assert.Equal(t, c.size, spd, funcName(c.pc))
		assert.Zero(t, spd%16)
		assert.True(t, c.slot >= 8 && c.slot+8 <= spd-8, "slot %d inside the locals of %s", c.slot, funcName(c.pc))
	}
}

// TestNativeARM64FramePointer: a Go frame keeps its caller's frame pointer
// at R29 = its SP-8 and its return PC (the saved LR) at R29+8 = its SP, so
// the frame-pointer chain reads like amd64's: [fp] = caller's fp, [fp+8] =
// return PC into the caller.
func TestNativeARM64FramePointer(t *testing.T) {
	fp, local, ret, up := armFrame()
	// The frame pointer is below the frame's locals.
	assert.Less(t, fp, local)
	self := reflect.ValueOf(TestNativeARM64FramePointer).Pointer()
	assert.Equal(t, self, rt.FindFunc(ret).Entry(), "the saved LR above the frame pointer returns into the caller")
	assert.Greater(t, up, fp)
	assert.Zero(t, (fp+8)%16, "SP = fp+8 is 16-byte aligned")
}

// armFrame returns its frame pointer, the address of a local, and the two
// words at the frame pointer, read while the frame is live.
//
//go:noinline
func armFrame() (fp, local, ret, up uintptr) {
	var x [2]uintptr
	fp = callerFP()
	local = uintptr(unsafe.Pointer(&x))
	ret = *(*uintptr)(unsafe.Add(nil, fp+8))
	up = *(*uintptr)(unsafe.Add(nil, fp))
	runtime.KeepAlive(&x)
	return fp, local, ret, up
}

// TestNativeARM64Shape: at a known yield site the shape starts with
// yieldSwitch's PC in its slot and ends with the return PC into enter, the
// image size is a multiple of 16 (bottom = yieldSwitch's SP-8, base =
// enter's SP-8), and the outermost saved frame pointer is the slot just
// below the outermost frame's SP.
func TestNativeARM64Shape(t *testing.T) {
	needNative(t)
	var c *Coroutine
	var yield func(d int)
	yield = func(d int) {
		if d > 0 {
			yield(d - 1)
			return
		}
		c.Yield()
	}
	c, err := NewOn(Native, func() { yield(3) })
	require.NoError(t, err)
	c.Resume()
	s := imageShape(t, c)
	assert.Zero(t, s.size%16)
	assert.EqualValues(t, firstPCOff, s.pcs[0].off)
	assert.Equal(t, yieldSwitchPC(), rt.FindFunc(s.pcs[0].pc).Entry())
	last := s.pcs[len(s.pcs)-1]
	assert.Equal(t, enterPC(), rt.FindFunc(last.pc).Entry())
	assert.True(t, strings.HasSuffix(funcName(last.pc), "engine.enter"))
	// The outermost frame's SP is where its saved LR (the return PC into
	// enter) is; its saved frame pointer is one word below.
	assert.EqualValues(t, int64(last.off)-8, s.outerFP)
	c.Close()
}

//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package engine

import (
	"math/bits"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/costack-dev/costack/internal/rt"
)

// Frame facts: what the runtime's metadata says about the frame of a
// function stopped at one return PC. They depend on that PC only, so they
// are decoded once (decodeFrame) and kept in a bounded cache (frameAt);
// every walk of a chain — a yield whose chain has no cached shape, a
// relocation without one — composes them, frame by frame, without decoding
// a table. Offsets are from the frame's SP.
type frameInfo struct {
	pc uintptr
	// refuse, if not empty, is the panic of a yield across this frame.
	refuse string
	// entry: the entry frame (enter's or run's, per arch): the walk ends.
	entry bool
	// openDefers: the function has open-coded defers, so a deferred call
	// may be pending in this frame (Close must unwind).
	openDefers bool
	// spd is the pcsp value at the return PC: the frame's size, without
	// the return PC on amd64.
	spd uint32
	// ptrs are the live pointer slots (locals and args maps, at the stack
	// map index of the call), sorted. Args slots lie in the caller's frame
	// (above this frame's return PC); for the outermost frame of an image
	// they lie outside it, and every user checks the image's size.
	ptrs []uint32
	// objs are the stack objects allocated at this PC, by offset.
	objs []frameObj
	// reloc is every pointer slot the runtime's copier would adjust in
	// this frame (adjustframe): ptrs and every pointer word of every
	// object; sorted, without duplicates (one slot may be found through
	// two routes and must move once).
	reloc []uint32
	// hasFP: the frame saved its caller's frame pointer, at fpOff (on
	// arm64 below the frame's SP, in the top word of the frame it calls).
	// The copier adjusts it too; it never holds a Go pointer.
	hasFP bool
	fpOff int32
	// objPtrs is the number of pointer words of all objs.
	objPtrs int32
	// bytes is what the entry costs the cache.
	bytes int32
	// used: found in the cache since the last aging (ageCaches).
	used atomic.Bool
}

// frameObj is a stack object of a frame (runtime.stackObjectRecord, with
// its pointer mask decoded).
type frameObj struct {
	off, size uint32
	ptrs      []uint32 // offsets of its pointer words from the object
}

// The frame cache: 2-way set-associative, keyed by return PC, read without
// a lock by any number of goroutines (each slot is an atomic pointer to an
// immutable entry; a lookup is a hash, at most two loads and compares).
// Its size is bounded twice: by its slots and by frameBudget bytes of
// entries (an entry that would exceed it is used once and not kept). A
// replaced entry is garbage once no walk uses it. Writers (a miss, aging)
// hold frameMu, so that the byte count stays exact.
const (
	frameSetBits = 12 // 4096 sets, 8192 entries
	frameBudget  = 2 << 20
)

var (
	frameMu      sync.Mutex
	frameCache   [2 << frameSetBits]atomic.Pointer[frameInfo]
	frameBytes   atomic.Int64
	frameDecodes atomic.Int64
)

func frameSet(pc uintptr) uintptr {
	return uintptr((uint64(pc)*0x9E3779B97F4A7C15)>>(64-frameSetBits)) * 2
}

// frameAt returns the facts of the frame stopped at return PC pc.
func frameAt(pc uintptr) *frameInfo {
	i := frameSet(pc)
	f := frameCache[i].Load()
	if f == nil || f.pc != pc {
		if f = frameCache[i+1].Load(); f == nil || f.pc != pc {
			return frameMiss(pc, i)
		}
	}
	if !f.used.Load() {
		f.used.Store(true)
	}
	return f
}

// frameMiss decodes pc's frame and keeps it at way 0 of its set, the
// entry there moving to way 1 and the one at way 1 leaving the cache
// (least recently inserted). Racing inserts may lose an entry or keep one
// twice: either is only a later miss.
func frameMiss(pc uintptr, i uintptr) *frameInfo {
	f := decodeFrame(pc)
	frameDecodes.Add(1)
	frameMu.Lock()
	defer frameMu.Unlock()
	old0, old1 := frameCache[i].Load(), frameCache[i+1].Load()
	delta := int64(f.bytes)
	if old1 != nil {
		delta -= int64(old1.bytes)
	}
	if frameBytes.Load()+delta > frameBudget {
		return f
	}
	frameBytes.Add(delta)
	frameCache[i+1].Store(old0)
	frameCache[i].Store(f)
	agingOnce.Do(armAging)
	return f
}

// flushFrames empties the frame cache (tests).
func flushFrames() {
	frameMu.Lock()
	defer frameMu.Unlock()
	for i := range frameCache {
		if f := frameCache[i].Swap(nil); f != nil {
			frameBytes.Add(-int64(f.bytes))
		}
	}
}

// decodeFrame mirrors the runtime's unwinder and getStackMap for the frame
// of the function containing pc, continuing at pc (a return PC).
func decodeFrame(pc uintptr) *frameInfo {
	f := rt.FindFunc(pc)
	if !f.Valid() {
		return sized(&frameInfo{pc: pc, refuse: msgNoMaps + " (no runtime metadata at a return PC)"})
	}
	if f.Entry() == entryPC() {
		return sized(&frameInfo{pc: pc, entry: true})
	}
	name := funcName(pc)
	refuse := func(why string) *frameInfo { return sized(&frameInfo{pc: pc, refuse: why}) }
	// I6: by FuncID, the runtime's own switches and C boundaries, whatever
	// their names; then by name, what every engine can see.
	switch rt.FuncID(f.FuncID()) {
	case rt.FuncIDCgocallback, rt.FuncIDAsmcgocall:
		return refuse(msgCgo + " (" + name + ")")
	case rt.FuncIDNormal, rt.FuncIDWrapper:
	default:
		return refuse(msgNoMaps + " (" + name + ", a runtime switch)")
	}
	if why := refusalByName(name); why != "" {
		return refuse(why)
	}
	// Our own yieldSwitch is the only assembly allowed in the chain;
	// anything else may lack stack maps, write SP, or be a runtime switch.
	if f.Flag()&(rt.FlagAsm|rt.FlagSPWrite|rt.FlagTopFrame) != 0 && f.Entry() != yieldSwitchPC() ||
		f.Args() == rt.ArgsSizeUnknown {
		return refuse(msgNoMaps + " (" + name + ")")
	}
	spd, ok := f.SPDelta(pc)
	if !ok || spd < 0 || spd%8 != 0 {
		return refuse("costack: Yield across a frame with an unknown frame size (" + name + ") is not supported on the native engine")
	}
	m := &frameInfo{pc: pc, spd: uint32(spd), openDefers: f.FuncData(rt.FuncDataOpenCodedDeferInfo) != nil && f.Entry() != runEntryPC}
	// As the runtime's unwinder (traceback.go): on amd64 fp = sp+spd+8,
	// varp = fp-8, argp = fp; on arm64 (usesLR) fp = sp+spd, varp = fp,
	// argp = fp+8 (MinFrameSize: the caller's saved-LR slot). Both: varp
	// minus the saved frame pointer when the frame is not empty. So
	// relative to sp the two agree: varp = spd(-8), argp = spd+8.
	varp := int64(spd)
	if spd > 0 {
		varp -= 8
	}
	argp := int64(spd) + 8
	// As getStackMap: the map index at the CALL (pc-1), -1 read as 0.
	idx := int32(-1)
	if pc != f.Entry() {
		idx = f.PCData(rt.PCDataStackMapIndex, pc-1)
	}
	if idx < 0 {
		idx = 0
	}
	if varp > 0 {
		sm := (*rt.StackMap)(f.FuncData(rt.FuncDataLocalsPointerMaps))
		if sm == nil || sm.N <= 0 {
			return refuse(msgNoMaps + " (" + name + ": no locals map)")
		}
		if sm.NBit > 0 {
			if idx >= sm.N {
				return refuse("costack: bad stack map index in " + name + " (please report)")
			}
			bm := sm.Bitmap(idx)
			for i := int32(0); i < sm.NBit; i++ {
				if rt.Bit(bm, i) {
					m.ptrs = append(m.ptrs, uint32(varp-8*int64(sm.NBit)+8*int64(i)))
				}
			}
		}
	}
	if f.Args() > 0 {
		sm := (*rt.StackMap)(f.FuncData(rt.FuncDataArgsPointerMaps))
		if sm == nil || sm.N <= 0 {
			return refuse(msgNoMaps + " (" + name + ": no args map)")
		}
		if idx >= sm.N {
			return refuse("costack: bad stack map index in " + name + " (please report)")
		}
		bm := sm.Bitmap(idx)
		for i := int32(0); i < sm.NBit; i++ {
			if rt.Bit(bm, i) {
				m.ptrs = append(m.ptrs, uint32(argp+8*int64(i)))
			}
		}
	}
	for _, r := range f.StackObjects() {
		base := varp
		if r.Off >= 0 {
			base = argp
		}
		p := base + int64(r.Off)
		if p < 0 {
			continue // not allocated yet in this frame (adjustframe: p < frame.sp)
		}
		o := frameObj{off: uint32(p), size: uint32(r.Size)}
		mask := unsafe.Add(nil, f.Rodata()+uintptr(r.GCDataOff))
		for w := int32(0); w < r.PtrBytes/8; w++ {
			if *(*byte)(unsafe.Add(mask, w/8))>>(w%8)&1 != 0 {
				o.ptrs = append(o.ptrs, uint32(8*w))
			}
		}
		m.objs = append(m.objs, o)
	}
	slices.Sort(m.ptrs)
	m.ptrs = slices.Compact(m.ptrs)
	slices.SortFunc(m.objs, func(a, b frameObj) int { return int(a.off) - int(b.off) })
	m.reloc = append(m.reloc, m.ptrs...)
	for _, o := range m.objs {
		for _, p := range o.ptrs {
			m.reloc = append(m.reloc, o.off+p)
		}
		m.objPtrs += int32(len(o.ptrs))
	}
	m.hasFP, m.fpOff = spd > 0, savedFPOff(uintptr(spd))
	slices.Sort(m.reloc)
	m.reloc = slices.Compact(m.reloc)
	m.ptrs, m.reloc = slices.Clip(m.ptrs), slices.Clip(m.reloc)
	return sized(m)
}

// sized records what f costs the cache.
func sized(f *frameInfo) *frameInfo {
	n := int(unsafe.Sizeof(*f)) + 4*(cap(f.ptrs)+cap(f.reloc)) + len(f.refuse)
	for _, o := range f.objs {
		n += int(unsafe.Sizeof(o)) + 4*cap(o.ptrs)
	}
	f.bytes = int32(min(n, 1<<30))
	return f
}

// runEntryPC is run's entry (set by init: run refers to the engine, which
// refers to it): run's own deferred call is the one Close emulates, so it
// does not count as a pending open-coded defer; on amd64 run's frame is
// the entry frame.
var runEntryPC uintptr

func init() { runEntryPC = reflect.ValueOf(run).Pointer() }

// chainHash mixes one frame's return PC into a chain's hash.
func chainHash(h uint64, pc uintptr) uint64 {
	return bits.RotateLeft64(h^uint64(pc), 23) * 0x9E3779B97F4A7C15
}

func init() {
	nativeStats = func(s *Stats) {
		for i := range frameCache {
			if frameCache[i].Load() != nil {
				s.FrameEntries++
			}
		}
		for i := range shapeCache {
			if shapeCache[i].Load() != nil {
				s.ShapeEntries++
			}
		}
		s.FrameBytes, s.FrameDecodes, s.ShapeBytes = frameBytes.Load(), frameDecodes.Load(), shapeBytes.Load()
		s.ImageBlocks, s.ArenaMapped = arenaBlocks.Load(), arenaMapped.Load()
	}
}

//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package engine

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// A shape is a chain (native_chain.go) flattened: everything about an
// image that depends only on its return PCs, with every position an offset
// from the image bottom. It is shared by every coroutine suspended at the
// same chain, and it is the fast path of a yield: a coroutine that yields
// at the chain its last yield had (its native.shape) checks the return PCs
// and reads the slots, with no frame lookups; a relocation with a shape
// adjusts its slots directly.
//
// Shapes are made only for chains that recur (see admitShape) and kept in a
// bounded cache; a chain without one — most yields of a recursive
// generator — is walked or trailed instead. The ways agree on relocation
// (TestNativeShapeMatchesWalk) and on retention (the GC tortures, through
// every path).
type shape struct {
	// size, key and the lists a yield reads come first: one cache line.
	size uintptr
	// key is chainKey's hash of the chain (a cheap first test).
	key uint64
	// pcs: the return PC expected at each offset. Equal PCs at equal
	// offsets with equal size mean equal frames (a frame's size and maps
	// depend on its PC only), so the rest of the shape applies.
	pcs []pcAt
	// live: pointer slots that the stack maps say are live (locals and
	// args, inside the image), sorted.
	live []uint32
	// objs: stack objects in the image, by offset.
	objs []chainObj
	// reloc: every slot the runtime's copier would adjust: live slots,
	// every pointer word of every allocated stack object, saved frame
	// pointers; sorted, deduplicated (a slot found by two routes moves
	// once).
	reloc []uint32
	// outerFP is the outermost saved frame pointer's slot (it points at
	// the entry frame, outside the image), or -1.
	outerFP int64
	maxKeep int
	// openDefers: some frame other than run's may have a deferred call
	// pending (its function has open-coded defers). Without, closing a
	// coroutine suspended here needs no unwinding (see Coroutine.Close).
	openDefers bool
	hash       uint64
	bytes      int32
	// hit: the shape was found in the cache since the last aging.
	hit atomic.Bool
	// trail, if set, makes this a coroutine's own record of its chains
	// (native_trail.go), never cached or shared, and nothing else of the
	// shape but shaped is set. shaped is the cached shape of the
	// coroutine's last yield, if it had one; nil when the trail is that
	// yield's. (The trail is kept across shaped yields, so that a
	// coroutine going from one to the other allocates nothing.)
	trail  *trail
	shaped *shape
}

// current returns the shape that describes the coroutine's last yield, s
// or, for a trail's record, the shape that yield had: a trail's record
// itself when the trail describes it.
func (s *shape) current() *shape {
	if s != nil && s.trail != nil && s.shaped != nil {
		return s.shaped
	}
	return s
}

type pcAt struct {
	off uint32
	pc  uintptr
}

func (s *shape) matches(bottom unsafe.Pointer) bool {
	for _, p := range s.pcs {
		if *(*uintptr)(unsafe.Add(bottom, p.off)) != p.pc {
			return false
		}
	}
	return true
}

// composeShape flattens a walked chain of an image of size bytes, whose
// objects have been collected. It decodes nothing: O(frames + slots), then
// a sort.
func composeShape(c *chain, size uintptr) *shape {
	s := &shape{size: size, outerFP: c.outerFP, openDefers: c.openDefers, hash: c.hash}
	// The lists are built in scratch, then packed into one allocation
	// (packLists): a yield at a shape not in the caches reads its return
	// PCs and live slots at addresses known from one pointer, not through
	// three dependent loads (many yield sites in turn).
	pcs := make([]pcAt, 0, len(c.frames))
	live := make([]uint32, 0, c.ptrs)
	var nreloc int
	for _, fr := range c.frames {
		nreloc += len(fr.info.reloc) + 1
	}
	reloc := make([]uint32, 0, nreloc)
	for _, fr := range c.frames {
		pcs = append(pcs, pcAt{fr.pcOff, fr.info.pc})
		for _, p := range fr.info.ptrs {
			if off := fr.sp + p; uintptr(off)+8 <= size {
				live = append(live, off)
			}
		}
		for _, p := range fr.info.reloc {
			if off := fr.sp + p; uintptr(off)+8 <= size {
				reloc = append(reloc, off)
			}
		}
		if fr.info.hasFP && !disableBPReloc {
			reloc = append(reloc, uint32(int64(fr.sp)+int64(fr.info.fpOff)))
		}
	}
	// Each frame's lists are sorted and frames are in address order, but a
	// callee's args lie in its caller's frame: sort to be sure, and
	// compact (a slot found by two routes moves once).
	slices.Sort(live)
	live = slices.Compact(live)
	slices.Sort(reloc)
	reloc = slices.Compact(reloc)
	s.pcs, s.live, s.reloc = packLists(pcs, live, reloc)
	s.objs = slices.Clone(c.objs) // collected by the caller (collectObjects)
	s.maxKeep = len(s.live) + c.objPtrs
	s.bytes = int32(unsafe.Sizeof(*s)) + int32(16*len(s.pcs)+4*len(s.live)+4*len(s.reloc)+8) + int32(unsafe.Sizeof(chainObj{}))*int32(cap(s.objs))
	return s
}

// packLists copies a shape's lists into one pointer-free allocation, in
// the order a yield reads them (return PCs, live slots; relocation slots,
// read on a resume that moves the image), and returns the copies.
func packLists(pcs []pcAt, live, reloc []uint32) ([]pcAt, []uint32, []uint32) {
	// One word more, so that an empty list's pointer is never past the end.
	words := 2*len(pcs) + (len(live)+len(reloc)+1)/2 + 1
	buf := make([]uint64, words)
	base := unsafe.Pointer(unsafe.SliceData(buf))
	p := unsafe.Slice((*pcAt)(base), len(pcs))
	copy(p, pcs)
	l := unsafe.Slice((*uint32)(unsafe.Add(base, 16*len(pcs))), len(live))
	copy(l, live)
	r := unsafe.Slice((*uint32)(unsafe.Add(base, 16*len(pcs)+4*len(live))), len(reloc))
	copy(r, reloc)
	return p[:len(p):len(p)], l[:len(l):len(l)], r[:len(r):len(r)]
}

// doorkeeperSeen reports whether the chain of hash h was walked recently,
// and remembers it otherwise. Each hash has two slots to be remembered in
// (two chains that share one still both get in), and takes an empty one or
// the first.
func doorkeeperSeen(h uint64) bool {
	a, b := &doorkeeper[h>>52], &doorkeeper[h>>20&uint64(len(doorkeeper)-1)]
	if a.Load() == h || b.Load() == h {
		return true
	}
	if a.Load() != 0 && b.Load() == 0 {
		b.Store(h)
	} else {
		a.Store(h)
	}
	return false
}

// shapeBytes estimates the bytes of the shape composeShape would make of c
// (the same terms, reloc at its bound), so that a chain that would not be
// kept is not composed.
func (c *chain) shapeBytes() int64 {
	n := int64(unsafe.Sizeof(shape{}))
	for _, fr := range c.frames {
		n += fr.info.shapeBytes()
	}
	return n
}

// shapeBytes is what the frame adds to a shape of a chain it is in: its
// return PC, live slots, relocation slots (and saved frame pointer) and
// stack objects.
func (f *frameInfo) shapeBytes() int64 {
	return 16 + 4*int64(len(f.ptrs)+len(f.reloc)+1) + int64(unsafe.Sizeof(chainObj{}))*int64(len(f.objs))
}

// The shape cache: 2-way set-associative by a key of the chain's size and
// first return PCs (chainKey), read without a lock (each slot is an atomic
// pointer to an immutable shape). Bounded by its slots, by shapeBudget
// bytes and by maxShapeBytes per shape (deeper chains are always walked).
// Shapes not found for a whole GC cycle are dropped (ageCaches), so the
// cache gives its memory back when the code that used it stops.
const (
	shapeSetBits  = 10 // 1024 sets
	shapeWays     = 4  // of 4 shapes each: 1,024 chains spread over the sets rarely overflow one
	shapeBudget   = 3 << 19
	maxShapeBytes = 8 << 10
	// keyFrames is how many return PCs the key hashes: enough to tell
	// apart yields that go through the same helpers (Pull's yield
	// function, a task's wait) from different sites of the caller.
	keyFrames = 6
)

var (
	// shapeMu is held by writers (an insert, aging), so that the byte
	// count stays exact; readers take no lock.
	shapeMu    sync.Mutex
	shapeCache [shapeWays << shapeSetBits]atomic.Pointer[shape]
	// shapeKeys[i] is the key of shapeCache[i]'s shape (or stale, while
	// a writer replaces it: the reader checks the shape's own key too),
	// so that a lookup reads one line of keys, not every way's shape.
	shapeKeys     [shapeWays << shapeSetBits]atomic.Uint64
	shapeBytes    atomic.Int64
	shapePressure [1 << shapeSetBits]atomic.Uint32
	// doorkeeper remembers recently walked chains by hash: a chain is
	// given a shape the second time it is walked, so one-off chains (most
	// of a tree walk's) cost no shape.
	doorkeeper [1 << 12]atomic.Uint64
)

// chainKey returns the cache set of the chain on the stack at bottom: a
// hash of its size and of the return PCs of its first keyFrames frames
// that keep a frame pointer, found through the frame-pointer chain (two
// loads a frame, no frame lookup; each frame's return PC is just above its
// saved frame pointer on both architectures). It is only a key: a shape is
// used only when all its return PCs match (shape.matches).
func chainKey(bottom unsafe.Pointer, size uintptr) (set uintptr, key uint64) {
	h := chainHash(0, size)
	fp := uintptr(ysBPOff)
	for range keyFrames {
		if fp+16 > size {
			break
		}
		h = chainHash(h, *(*uintptr)(unsafe.Add(bottom, fp+8)))
		next := *(*uintptr)(unsafe.Add(bottom, fp)) - uintptr(bottom)
		if next <= fp {
			break // the entry frame's, outside the image (or no chain)
		}
		fp = next
	}
	return uintptr(h>>(64-shapeSetBits)) * shapeWays, h
}

// lookupShape returns the cached shape of the chain on the stack at
// bottom, or nil.
func lookupShape(bottom unsafe.Pointer, size uintptr) *shape {
	i, key := chainKey(bottom, size)
	for w := i; w < i+shapeWays; w++ {
		if shapeKeys[w].Load() != key {
			continue // not this way: its shape is not even loaded
		}
		if s := shapeCache[w].Load(); s != nil && s.key == key && s.size == size && s.matches(bottom) {
			if !s.hit.Load() {
				s.hit.Store(true)
			}
			return s
		}
	}
	return nil
}

// admitShape returns a shape for the walked chain c, cached, if the chain
// recurs (the doorkeeper has seen it walked before) and the cache has room
// for it; otherwise nil, and the yield goes on with the walk. A set whose
// shapes are all in use is not disturbed; one with a shape not found since
// it was inserted gives it up to every 16th candidate, so a set that many
// one-off chains compete for (a tree walk repeated) does not build a shape
// per yield.
func admitShape(c *chain, bottom unsafe.Pointer, size uintptr) *shape {
	if !doorkeeperSeen(c.hash) {
		return nil
	}
	set, key, victim := shapeSlot(bottom, size)
	if victim < 0 {
		return nil
	}
	return insertShape(c, size, set, key, victim)
}

// shapeSlot returns the set, key and way that a shape for the chain on
// the stack at bottom would take, or a way of -1 if it would not be cached
// (see admitShape).
func shapeSlot(bottom unsafe.Pointer, size uintptr) (set uintptr, key uint64, victim int) {
	set, key = chainKey(bottom, size)
	victim, unhit := -1, -1
	for w := range shapeWays {
		switch s := shapeCache[set+uintptr(w)].Load(); {
		case s == nil:
			victim = w
		case !s.hit.Load():
			unhit = w
		}
		if victim >= 0 {
			break
		}
	}
	if victim < 0 {
		if unhit < 0 || shapePressure[set/shapeWays].Add(1)%16 != 0 {
			return set, key, -1 // every shape of the set in use, or not this candidate's turn
		}
		victim = unhit
	}
	return set, key, victim
}

// insertShape composes the shape of the walked chain c and caches it at
// way victim of set, within the budget; it returns the shape (used by the
// caller even if the budget did not let it be kept), or nil if the chain
// is too large for a shape.
func insertShape(c *chain, size uintptr, set uintptr, key uint64, victim int) *shape {
	if est := c.shapeBytes(); est > maxShapeBytes || shapeBytes.Load()+est > shapeBudget {
		return nil
	}
	s := composeShape(c, size)
	s.key = key
	shapeMu.Lock()
	defer shapeMu.Unlock()
	old := shapeCache[set+uintptr(victim)].Load()
	delta := int64(s.bytes)
	if old != nil {
		delta -= int64(old.bytes)
	}
	if shapeBytes.Load()+delta > shapeBudget {
		return s // used by this coroutine, not kept (the budget filled meanwhile)
	}
	shapeBytes.Add(delta)
	shapeCache[set+uintptr(victim)].Store(s)
	shapeKeys[set+uintptr(victim)].Store(key)
	agingOnce.Do(armAging)
	return s
}

// Aging: after every garbage collection, the entries of both caches not
// used since the previous one are dropped (their memory is the
// collector's to free once no suspended coroutine holds them), and the
// others are marked unused; and the image arena's spare chunks give their
// pages back (arenaAge).
var agingOnce sync.Once

type gcProbe struct{ _ *int } // a pointer field: not a tiny allocation

func armAging() {
	runtime.AddCleanup(&gcProbe{}, func(struct{}) {
		ageCaches()
		arenaAge()
		armAging()
	}, struct{}{})
}

func ageCaches() {
	shapeMu.Lock()
	defer shapeMu.Unlock()
	frameMu.Lock()
	defer frameMu.Unlock()
	for i := range shapeCache {
		s := shapeCache[i].Load()
		switch {
		case s == nil:
		case s.hit.Load():
			s.hit.Store(false)
		default:
			shapeCache[i].Store(nil)
			shapeKeys[i].Store(0)
			shapeBytes.Add(-int64(s.bytes))
		}
	}
	for i := range frameCache {
		f := frameCache[i].Load()
		switch {
		case f == nil:
		case f.used.Load():
			f.used.Store(false)
		default:
			frameCache[i].Store(nil)
			frameBytes.Add(-int64(f.bytes))
		}
	}
}

// flushShapes empties the shape cache (tests).
func flushShapes() {
	shapeMu.Lock()
	defer shapeMu.Unlock()
	for i := range shapeCache {
		shapeKeys[i].Store(0)
		if s := shapeCache[i].Swap(nil); s != nil {
			shapeBytes.Add(-int64(s.bytes))
		}
	}
}

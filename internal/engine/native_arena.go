//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package engine

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The image arena. Images hold no pointer the GC may look at (I2: they are
// never scanned; their heap pointers are kept alive by the retention list),
// so they live outside the Go heap: the GC neither scans them nor counts
// them toward its heap goal, which matters when millions of coroutines are
// suspended.
//
// Blocks are multiples of 8 B (an image's size is) up to 1 KB, so that a
// small image wastes nothing, and powers of two up to 64 KB, carved from
// 1 MB chunks (1 MB-aligned, so a block finds its chunk by masking); larger
// images get a mapping of their own (a power of two: untouched pages cost
// no memory), returned to the OS when freed. A block's size is its class,
// one byte in every native. Each chunk keeps its own free list, threaded
// through its free blocks, and a count of live blocks: a chunk whose last
// block is freed goes back to the OS (munmap), except one empty chunk per
// class, kept for the next allocation, so that a class that empties and
// refills does not map and unmap at every turn. The spare's pages are
// released (MADV_DONTNEED) after the next garbage collection, not when it
// empties: a program that makes and ends one coroutine at a time empties
// its chunk at every one, and a release then costs a system call, and a
// page fault per page touched, on every creation (it made
// create+resume+Close 8x slower). Allocation takes the chunk that most
// recently got free space (LIFO).
//
// A block is freed when the coroutine ends or its image changes size
// class, and by a cleanup (runtime.AddCleanup) when a suspended coroutine
// of New is dropped.

const (
	arenaSmallStep = 8       // small classes: 8, 16, ..., 1024
	arenaSmallMax  = 1 << 10 //
	arenaMaxShift  = 16      // large classes: 2 KB ... 64 KB
	chunkSize      = 1 << 20
)

// arenaClassOf returns the class index and block size for n bytes
// (0 < n <= 1<<30): the classes of arenaClasses, then those of mappings of
// their own.
func arenaClassOf(n uintptr) (int, uintptr) {
	if n <= arenaSmallMax {
		size := (n + arenaSmallStep - 1) &^ (arenaSmallStep - 1)
		return int(size/arenaSmallStep) - 1, size
	}
	shift := bits.Len(uint(n - 1))
	return arenaSmallMax/arenaSmallStep + shift - 11, 1 << shift
}

// arenaClass is one size class: its chunks by base address (the spare
// included), those with a free block (a LIFO list), and one empty chunk
// kept in reserve.
type arenaClass struct {
	mu     sync.Mutex
	chunks map[uintptr]*arenaChunk
	avail  *arenaChunk
	spare  *arenaChunk
	// spareHeld: the spare's pages may be resident (it was in use since
	// they were last released).
	spareHeld bool
}

// arenaChunk is one 1 MB chunk of a class: the free list threaded through
// its free blocks (each free block's first word is the next one's address),
// the part [next, end) never handed out yet, and how many blocks are live.
type arenaChunk struct {
	base, free, next, end uintptr
	live                  int32
	inAvail               bool
	prevAvail, nextAvail  *arenaChunk
}

var (
	arenaClasses [arenaSmallMax/arenaSmallStep + arenaMaxShift - 10]arenaClass
	// arenaBlocks counts blocks handed out and not freed; arenaMapped the
	// bytes mapped from the OS (chunks, spares and large blocks).
	arenaBlocks atomic.Int64
	arenaMapped atomic.Int64
	// arenaReleases counts spare chunks whose pages were released.
	arenaReleases atomic.Int64
	arenaAgings   atomic.Int64 // arenaAge's runs (tests)
)

// imageBlock is a block of the arena. It is its own small heap object so
// that the cleanup of a dropped coroutine can free it without keeping the
// coroutine reachable.
type imageBlock struct {
	ptr   uintptr
	class uint8
}

// blockSize is the size of the blocks of class i (arenaClassOf).
func blockSize(i uint8) uintptr {
	if int(i) < arenaSmallMax/arenaSmallStep {
		return (uintptr(i) + 1) * arenaSmallStep
	}
	return 1 << (int(i) - arenaSmallMax/arenaSmallStep + 11)
}

func (b imageBlock) size() uintptr { return blockSize(b.class) }

func mmap(size uintptr) uintptr {
	p, err := unix.MmapPtr(-1, 0, nil, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		panic("costack: cannot map memory for a coroutine image: " + err.Error())
	}
	arenaMapped.Add(int64(size))
	return uintptr(p)
}

func munmap(p, size uintptr) {
	if err := unix.MunmapPtr(unsafe.Add(nil, p), size); err != nil {
		panic("costack: cannot unmap a coroutine image: " + err.Error())
	}
	arenaMapped.Add(-int64(size))
}

// mapChunk maps a chunk aligned to its size: twice the size, trimmed.
func mapChunk() uintptr {
	p := mmap(2 * chunkSize)
	base := (p + chunkSize - 1) &^ (chunkSize - 1)
	if base > p {
		munmap(p, base-p)
	}
	if end := p + 2*chunkSize; end > base+chunkSize {
		munmap(base+chunkSize, end-base-chunkSize)
	}
	return base
}

// arenaAlloc returns a block of at least n bytes.
func arenaAlloc(n uintptr) imageBlock {
	arenaBlocks.Add(1)
	i, size := arenaClassOf(n)
	if i >= len(arenaClasses) {
		return imageBlock{mmap(size), uint8(i)}
	}
	c := &arenaClasses[i]
	c.mu.Lock()
	ch := c.avail
	if ch == nil {
		ch = c.spare
		c.spare, c.spareHeld = nil, false
		if ch == nil {
			ch = &arenaChunk{base: mapChunk()}
			if c.chunks == nil {
				c.chunks = map[uintptr]*arenaChunk{}
			}
			c.chunks[ch.base] = ch
		}
		ch.next, ch.end, ch.free, ch.live = ch.base, ch.base+chunkSize, 0, 0
		c.push(ch)
	}
	p := ch.free
	if p != 0 {
		ch.free = *(*uintptr)(unsafe.Add(nil, p))
	} else {
		p = ch.next
		ch.next += size
	}
	ch.live++
	if ch.free == 0 && ch.end-ch.next < size {
		c.remove(ch) // full
	}
	c.mu.Unlock()
	return imageBlock{p, uint8(i)}
}

// arenaFree returns a block from arenaAlloc.
func arenaFree(b imageBlock) {
	arenaBlocks.Add(-1)
	if int(b.class) >= len(arenaClasses) {
		munmap(b.ptr, b.size())
		return
	}
	c := &arenaClasses[b.class]
	c.mu.Lock()
	ch := c.chunks[b.ptr&^(chunkSize-1)]
	if ch == nil {
		c.mu.Unlock()
		panic("costack: arena free of a block it did not allocate (please report)")
	}
	*(*uintptr)(unsafe.Add(nil, b.ptr)) = ch.free
	ch.free = b.ptr
	ch.live--
	switch {
	case ch.live == 0:
		// Empty: back to the OS, or kept as the spare (arenaAge
		// releases its pages). The spare stays in chunks, so that a
		// class that empties and refills at every turn (one coroutine
		// at a time) touches no map.
		c.remove(ch)
		if c.spare == nil {
			c.spare, c.spareHeld = ch, true
			agingOnce.Do(armAging)
		} else {
			delete(c.chunks, ch.base)
			munmap(ch.base, chunkSize)
		}
	case !ch.inAvail:
		c.push(ch) // was full
	}
	c.mu.Unlock()
}

// arenaAge releases the pages of every spare chunk that may hold any. It
// runs after every garbage collection (see armAging).
func arenaAge() {
	defer arenaAgings.Add(1)
	for i := range arenaClasses {
		c := &arenaClasses[i]
		c.mu.Lock()
		if c.spare != nil && c.spareHeld {
			if err := unix.Madvise(unsafe.Slice((*byte)(unsafe.Add(nil, c.spare.base)), chunkSize), unix.MADV_DONTNEED); err != nil {
				c.mu.Unlock()
				panic("costack: cannot release a coroutine image chunk: " + err.Error())
			}
			c.spareHeld = false
			arenaReleases.Add(1)
		}
		c.mu.Unlock()
	}
}

// push puts ch at the front of the list of chunks with a free block.
func (c *arenaClass) push(ch *arenaChunk) {
	ch.inAvail, ch.prevAvail, ch.nextAvail = true, nil, c.avail
	if c.avail != nil {
		c.avail.prevAvail = ch
	}
	c.avail = ch
}

// remove takes ch off the list of chunks with a free block, if it is on it.
func (c *arenaClass) remove(ch *arenaChunk) {
	if !ch.inAvail {
		return
	}
	if ch.prevAvail != nil {
		ch.prevAvail.nextAvail = ch.nextAvail
	} else {
		c.avail = ch.nextAvail
	}
	if ch.nextAvail != nil {
		ch.nextAvail.prevAvail = ch.prevAvail
	}
	ch.inAvail, ch.prevAvail, ch.nextAvail = false, nil, nil
}

// arenaBytes returns the block as a byte slice (for tests).
func (b *imageBlock) bytes() []byte {
	return unsafe.Slice((*byte)(unsafe.Add(nil, b.ptr)), b.size())
}

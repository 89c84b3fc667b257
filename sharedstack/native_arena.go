//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package sharedstack

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// The image arena. Images hold no pointer the GC may look at (I2: they are
// never scanned; their heap pointers are kept alive by the retention list),
// so they live outside the Go heap: the GC neither scans them nor counts
// them toward its heap goal, which matters when millions of coroutines are
// suspended. Blocks are multiples of 8 B (an image's size is) up to 1 KB,
// so that a small image wastes nothing, and powers of two up to 64 KB,
// carved from 1 MB mappings and recycled through per-class free lists kept
// in the free blocks themselves; larger images get a mapping of their own
// (a power of two too: untouched pages cost no memory), returned to the OS
// when freed. A block's size is its class, one byte in every native. A block is freed when the coroutine ends
// or its image changes size class, and by a cleanup (runtime.AddCleanup)
// when a suspended coroutine of New is dropped.

const (
	arenaSmallStep = 8       // small classes: 8, 16, ..., 1024
	arenaSmallMax  = 1 << 10 //
	arenaMaxShift  = 16      // large classes: 2 KB ... 64 KB
	arenaChunk     = 1 << 20
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

// arenaClass is one size class: a free list threaded through the free
// blocks (each free block's first word is the next one's address), and
// the unused rest [next, end) of the chunk being carved.
type arenaClass struct {
	mu        sync.Mutex
	free      uintptr
	next, end uintptr
}

var (
	arenaClasses [arenaSmallMax/arenaSmallStep + arenaMaxShift - 10]arenaClass
	// arenaBlocks counts blocks handed out and not freed (for tests).
	arenaBlocks atomic.Int64
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
	p, _, errno := syscall.Syscall6(syscall.SYS_MMAP, 0, size,
		syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS, ^uintptr(0), 0)
	if errno != 0 {
		panic("costack: cannot map memory for a coroutine image: " + errno.Error())
	}
	return p
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
	p := c.free
	if p != 0 {
		c.free = *(*uintptr)(unsafe.Add(nil, p))
	} else {
		if c.end-c.next < size {
			c.next = mmap(arenaChunk)
			c.end = c.next + arenaChunk
		}
		p = c.next
		c.next += size
	}
	c.mu.Unlock()
	return imageBlock{p, uint8(i)}
}

// arenaFree returns a block from arenaAlloc.
func arenaFree(b imageBlock) {
	arenaBlocks.Add(-1)
	if int(b.class) >= len(arenaClasses) {
		if _, _, errno := syscall.Syscall(syscall.SYS_MUNMAP, b.ptr, b.size(), 0); errno != 0 {
			panic("costack: cannot unmap a coroutine image: " + errno.Error())
		}
		return
	}
	c := &arenaClasses[b.class]
	c.mu.Lock()
	*(*uintptr)(unsafe.Add(nil, b.ptr)) = c.free
	c.free = b.ptr
	c.mu.Unlock()
}

// freeImage is the cleanup of a native: it frees the block the native
// held when it became unreachable, if any.
func freeImage(b *imageBlock) {
	if b.ptr != 0 {
		arenaFree(*b)
		*b = imageBlock{}
	}
}

// arenaBytes returns the block as a byte slice (for tests).
func (b *imageBlock) bytes() []byte {
	return unsafe.Slice((*byte)(unsafe.Add(nil, b.ptr)), b.size())
}

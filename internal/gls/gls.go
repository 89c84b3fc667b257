// Package gls gives each goroutine a cell of per-goroutine state, found by
// the address of the goroutine's runtime g.
//
// Only the goroutine that owns a cell reads or writes its contents, so cells
// need no synchronisation; the table that maps goroutines to cells is
// lock-free for lookups and takes a mutex only to add a goroutine it has not
// seen. The runtime never frees a g (it reuses them for new goroutines), so
// the table is bounded by the peak number of goroutines, and a cell is
// inherited by the next goroutine that reuses its g: owners must leave their
// cell empty when they are done with it.
package gls

import (
	"sync"
	"sync/atomic"
)

// ID identifies the calling goroutine for as long as it runs: the address of
// its runtime g. A later goroutine may reuse it.
func ID() uintptr { return getg() }

// Table maps goroutines to cells of type T.
type Table[T any] struct {
	tab atomic.Pointer[table[T]]
	mu  sync.Mutex
}

type table[T any] struct {
	mask    uintptr
	keys    []atomic.Uintptr
	cells   []atomic.Pointer[T]
	entries int
}

func newTable[T any](size int) *table[T] {
	return &table[T]{
		mask:  uintptr(size - 1),
		keys:  make([]atomic.Uintptr, size),
		cells: make([]atomic.Pointer[T], size),
	}
}

func hash(id uintptr) uintptr {
	// g structs are a few hundred bytes apart; mix the bits so that
	// neighbours spread over the table.
	h := uint64(id)
	h ^= h >> 17
	h *= 0x9E3779B97F4A7C15
	return uintptr(h ^ h>>29)
}

// Get returns the calling goroutine's cell, creating it on first use.
func (t *Table[T]) Get() *T {
	id := getg()
	if tab := t.tab.Load(); tab != nil {
		for i := hash(id) & tab.mask; ; i = (i + 1) & tab.mask {
			k := tab.keys[i].Load()
			if k == id {
				return tab.cells[i].Load()
			}
			if k == 0 {
				break
			}
		}
	}
	return t.add(id)
}

// add inserts id under the mutex. Lookups racing with it either see the old
// table (which is never changed after a newer one is published, so they miss
// and come here) or the new one.
func (t *Table[T]) add(id uintptr) *T {
	t.mu.Lock()
	defer t.mu.Unlock()
	tab := t.tab.Load()
	if tab == nil {
		tab = newTable[T](64)
		t.tab.Store(tab)
	}
	for i := hash(id) & tab.mask; ; i = (i + 1) & tab.mask {
		k := tab.keys[i].Load()
		if k == id {
			return tab.cells[i].Load()
		}
		if k == 0 {
			break
		}
	}
	if (tab.entries+1)*2 > len(tab.keys) {
		bigger := newTable[T](len(tab.keys) * 2)
		for i := range tab.keys {
			if k := tab.keys[i].Load(); k != 0 {
				bigger.insert(k, tab.cells[i].Load())
			}
		}
		tab = bigger
		t.tab.Store(tab)
	}
	cell := new(T)
	tab.insert(id, cell)
	return cell
}

// insert publishes the cell before the key, so a lookup that sees the key
// sees the cell.
func (tab *table[T]) insert(id uintptr, cell *T) {
	i := hash(id) & tab.mask
	for tab.keys[i].Load() != 0 {
		i = (i + 1) & tab.mask
	}
	tab.cells[i].Store(cell)
	tab.keys[i].Store(id)
	tab.entries++
}

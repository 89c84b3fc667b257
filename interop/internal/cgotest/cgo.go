//go:build cgo

package cgotest

/*
#include <stdint.h>
#include <unistd.h>
#include <sys/syscall.h>

extern void cgotestGoCallback(uintptr_t h);

// cgotest_add is a plain C function.
static inline int cgotest_add(int a, int b) { return a + b; }

// cgotest_thread_id returns the id of the OS thread running C, as the
// kernel knows it (-1 where there is no gettid).
static inline long cgotest_thread_id(void) {
#ifdef SYS_gettid
	return (long)syscall(SYS_gettid);
#else
	return -1;
#endif
}

// cgotest_nest recurses depth times in C, then calls back into Go, so that
// the callback runs with C frames between it and its Go caller. The
// volatile local keeps the frames from being merged into a loop.
static inline int cgotest_nest(uintptr_t h, int depth) {
	volatile int local = depth;
	if (depth > 0) {
		return cgotest_nest(h, depth - 1) + local;
	}
	cgotestGoCallback(h);
	return local;
}
*/
import "C"

import "runtime/cgo"

// Available reports whether the C library is built in (cgo is enabled).
const Available = true

// Add returns a+b, computed in C.
func Add(a, b int) int { return int(C.cgotest_add(C.int(a), C.int(b))) }

// ThreadID returns the id of the OS thread the C code runs on, or -1 where
// the platform has no gettid.
func ThreadID() int { return int(C.cgotest_thread_id()) }

// CallBack calls into C, which recurses depth calls deep and then calls fn
// back in Go. A panic in fn unwinds through the C frames to CallBack's
// caller.
func CallBack(depth int, fn func()) {
	h := cgo.NewHandle(fn)
	defer h.Delete()
	C.cgotest_nest(C.uintptr_t(h), C.int(depth))
}

//export cgotestGoCallback
func cgotestGoCallback(h C.uintptr_t) {
	cgo.Handle(h).Value().(func())()
}

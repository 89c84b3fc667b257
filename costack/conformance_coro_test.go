// Copyright 2024 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package costack

// The cases of Go's $GOROOT/src/runtime/testdata/testprog/coro.go (Go
// 1.26.8, identical in Go 1.27.3; BSD licence above), which
// runtime/coro_test.go runs as TestCoroLockOSThread, against costack.Pull
// on every engine: pull iterators and runtime.LockOSThread, in the caller
// and in the iterator, across next, yield and stop. The drivers and
// sequences are Go's, with iter.Pull renamed enginePull (see
// conformance_pull_test.go) and the result returned instead of printed.
//
// What differs, and why: with iter.Pull the cases Go expects to fail end
// the program ("fatal error: coro: OS thread locking must match locking
// at coroutine creation"); with costack.Pull every one of them is OK,
// because lock state follows control on every engine (internal/engine,
// portable_lock.go), except that iterYieldNewG calls yield
// from a new goroutine, which costack refuses with a panic on that
// goroutine: the port recovers it there and the test expects it. The
// testprogcgo cases (cgo callbacks) are in
// interop/internal/cgotest/conformance_coro_test.go, where C is built.

import (
	"fmt"
	"iter"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

// yieldNewGPanic is what the yield from a new goroutine panicked with.
var yieldNewGPanic string

// coroCases are testprog's registrations: each name with its driver and
// sequence, and what iter.Pull does with it.
var coroCases = []struct {
	name      string
	driver    func(iter.Seq[int]) error
	seq       iter.Seq[int]
	iterFatal bool // iter.Pull: "expect: OS thread locking must match"
}{
	{"CoroLockOSThreadIterLock", callerExhaust, iterLock, false},
	{"CoroLockOSThreadIterLockYield", callerExhaust, iterLockYield, true},
	{"CoroLockOSThreadLock", callerExhaustLocked, iterSimple, false},
	{"CoroLockOSThreadLockIterNested", callerExhaustLocked, iterNested, false},
	{"CoroLockOSThreadLockIterLock", callerExhaustLocked, iterLock, false},
	{"CoroLockOSThreadLockIterLockYield", callerExhaustLocked, iterLockYield, true},
	{"CoroLockOSThreadLockIterYieldNewG", callerExhaustLocked, iterYieldNewG, true},
	{"CoroLockOSThreadLockAfterPull", callerLockAfterPull, iterSimple, true},
	{"CoroLockOSThreadStopLocked", callerStopLocked, iterSimple, false},
	{"CoroLockOSThreadStopLockedIterNested", callerStopLocked, iterNested, false},
}

func TestCoroLockOSThread(t *testing.T) {
	onEveryEngine(t, func(t *testing.T) {
		for _, tc := range coroCases {
			t.Run(tc.name, func(t *testing.T) {
				yieldNewGPanic = ""
				// Each case runs on a goroutine of its own, as each ran in
				// a process of its own: a driver that leaves its thread
				// locked ends only that goroutine's thread.
				out := make(chan string)
				go func() { out <- CoroLockOSThread(tc.driver, tc.seq) }()
				got := <-out
				if tc.name == "CoroLockOSThreadLockIterYieldNewG" {
					// The three yields from new goroutines were refused, so
					// the sequence yielded nothing and ended.
					assert.Equal(t, "OK", got)
					assert.Contains(t, yieldNewGPanic, msgYieldGoroutine)
					return
				}
				assert.Equal(t, "OK", got, "iter.Pull ends the program here: %v", tc.iterFatal)
			})
		}
	})
}

func CoroLockOSThread(driver func(iter.Seq[int]) error, seq iter.Seq[int]) string {
	if err := driver(seq); err != nil {
		return "error: " + err.Error()
	}
	return "OK"
}

func callerExhaust(i iter.Seq[int]) error {
	next, _ := enginePull(i)
	for {
		v, ok := next()
		if !ok {
			break
		}
		if v != 5 {
			return fmt.Errorf("bad iterator: wanted value %d, got %d", 5, v)
		}
	}
	return nil
}

func callerExhaustLocked(i iter.Seq[int]) error {
	runtime.LockOSThread()
	next, _ := enginePull(i)
	for {
		v, ok := next()
		if !ok {
			break
		}
		if v != 5 {
			return fmt.Errorf("bad iterator: wanted value %d, got %d", 5, v)
		}
	}
	runtime.UnlockOSThread()
	return nil
}

func callerLockAfterPull(i iter.Seq[int]) error {
	n := 0
	next, _ := enginePull(i)
	for {
		runtime.LockOSThread()
		n++
		v, ok := next()
		if !ok {
			break
		}
		if v != 5 {
			return fmt.Errorf("bad iterator: wanted value %d, got %d", 5, v)
		}
	}
	for range n {
		runtime.UnlockOSThread()
	}
	return nil
}

func callerStopLocked(i iter.Seq[int]) error {
	runtime.LockOSThread()
	next, stop := enginePull(i)
	v, _ := next()
	stop()
	if v != 5 {
		return fmt.Errorf("bad iterator: wanted value %d, got %d", 5, v)
	}
	runtime.UnlockOSThread()
	return nil
}

func iterSimple(yield func(int) bool) {
	for range 3 {
		if !yield(5) {
			return
		}
	}
}

func iterNested(yield func(int) bool) {
	next, stop := enginePull(iterSimple)
	for {
		v, ok := next()
		if ok {
			if !yield(v) {
				stop()
			}
		} else {
			return
		}
	}
}

func iterLock(yield func(int) bool) {
	for range 3 {
		runtime.LockOSThread()
		runtime.UnlockOSThread()

		if !yield(5) {
			return
		}
	}
}

func iterLockYield(yield func(int) bool) {
	for range 3 {
		runtime.LockOSThread()
		ok := yield(5)
		runtime.UnlockOSThread()
		if !ok {
			return
		}
	}
}

func iterYieldNewG(yield func(int) bool) {
	for range 3 {
		done := make(chan struct{})
		var ok bool
		go func() {
			// costack: the yield panics on this goroutine; recovered here,
			// the panic is reported to the driver (see the file comment).
			defer func() {
				if r := recover(); r != nil {
					yieldNewGPanic = fmt.Sprint(r)
				}
				done <- struct{}{}
			}()
			ok = yield(5)
		}()
		<-done
		if !ok {
			return
		}
	}
}

// Copyright 2024 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package cgotest

// The cases of Go's $GOROOT/src/runtime/testdata/testprogcgo/coro.go (Go
// 1.26.8, identical in Go 1.27.3; BSD licence above), which
// runtime/coro_test.go runs as TestCoroCgoCallback, against costack.Pull
// on the engine of the run (CI runs this package on the default engine,
// with COSTACK_ENGINE=portable and under -race): pull iterators driven from
// inside cgo callbacks, and iterators that make cgo callbacks. The drivers
// and sequences are Go's, with iter.Pull renamed costack.Pull, Go's C
// helper callFromC made of this package's CallBack, and the result
// returned instead of printed.
//
// What differs, and why: with iter.Pull the cases Go expects to fail end
// the program ("coro: OS thread locking must match"). With costack.Pull,
// CoroCgoCallbackAfterPull (an iterator made outside a callback and
// driven inside one) is OK, as lock state follows control; the two whose
// sequence yields inside a callback it makes (iterCallbackYield) are
// refused on every engine with a panic, which unwinds through the C
// frames and out of next (the C frames cannot be suspended: package
// sharedstack, msgCgo): CoroCgo recovers it and the test expects it.

import (
	"fmt"
	"iter"
	"strings"
	"testing"

	"github.com/costack-dev/costack/costack"
	"github.com/stretchr/testify/assert"
)

// callFromC is Go's helper: C calls f back.
func callFromC(f func()) { CallBack(0, f) }

// refusedInCallback is the start of the panic of a yield inside a cgo
// callback.
const refusedInCallback = "panic: costack: Yield inside a cgo callback is not supported"

var coroCgoCases = []struct {
	name      string
	driver    func(iter.Seq[int]) error
	seq       iter.Seq[int]
	iterFatal bool // iter.Pull: "expect: OS thread locking must match"
}{
	{"CoroCgoIterCallback", callerExhaust, iterCallback, false},
	{"CoroCgoIterCallbackYield", callerExhaust, iterCallbackYield, true},
	{"CoroCgoCallback", callerExhaustCallback, iterSimple, false},
	{"CoroCgoCallbackIterNested", callerExhaustCallback, iterNested, false},
	{"CoroCgoCallbackIterCallback", callerExhaustCallback, iterCallback, false},
	{"CoroCgoCallbackIterCallbackYield", callerExhaustCallback, iterCallbackYield, true},
	{"CoroCgoCallbackAfterPull", callerCallbackAfterPull, iterSimple, true},
	{"CoroCgoStopCallback", callerStopCallback, iterSimple, false},
	{"CoroCgoStopCallbackIterNested", callerStopCallback, iterNested, false},
}

func TestCoroCgoCallback(t *testing.T) {
	needCgo(t)
	t.Log("engine:", costack.Engine())
	for _, tc := range coroCgoCases {
		t.Run(tc.name, func(t *testing.T) {
			out := make(chan string)
			go func() { out <- CoroCgo(tc.driver, tc.seq) }()
			got := <-out
			if strings.HasSuffix(tc.name, "CallbackYield") {
				assert.Contains(t, got, refusedInCallback)
				return
			}
			assert.Equal(t, "OK", got, "iter.Pull ends the program here: %v", tc.iterFatal)
		})
	}
}

func CoroCgo(driver func(iter.Seq[int]) error, seq iter.Seq[int]) (out string) {
	// costack: a refused yield panics out of next (see the file comment).
	defer func() {
		if r := recover(); r != nil {
			out = fmt.Sprint("panic: ", r)
		}
	}()
	if err := driver(seq); err != nil {
		return "error: " + err.Error()
	}
	return "OK"
}

func callerExhaust(i iter.Seq[int]) error {
	next, _ := costack.Pull(i)
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

func callerExhaustCallback(i iter.Seq[int]) (err error) {
	callFromC(func() {
		next, _ := costack.Pull(i)
		for {
			v, ok := next()
			if !ok {
				break
			}
			if v != 5 {
				err = fmt.Errorf("bad iterator: wanted value %d, got %d", 5, v)
			}
		}
	})
	return err
}

func callerStopCallback(i iter.Seq[int]) (err error) {
	callFromC(func() {
		next, stop := costack.Pull(i)
		v, _ := next()
		stop()
		if v != 5 {
			err = fmt.Errorf("bad iterator: wanted value %d, got %d", 5, v)
		}
	})
	return err
}

func callerCallbackAfterPull(i iter.Seq[int]) (err error) {
	next, _ := costack.Pull(i)
	callFromC(func() {
		for {
			v, ok := next()
			if !ok {
				break
			}
			if v != 5 {
				err = fmt.Errorf("bad iterator: wanted value %d, got %d", 5, v)
			}
		}
	})
	return err
}

func iterSimple(yield func(int) bool) {
	for range 3 {
		if !yield(5) {
			return
		}
	}
}

func iterNested(yield func(int) bool) {
	next, stop := costack.Pull(iterSimple)
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

func iterCallback(yield func(int) bool) {
	for range 3 {
		callFromC(func() {})
		if !yield(5) {
			return
		}
	}
}

func iterCallbackYield(yield func(int) bool) {
	for range 3 {
		var ok bool
		callFromC(func() {
			ok = yield(5)
		})
		if !ok {
			return
		}
	}
}

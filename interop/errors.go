package interop

import (
	"errors"
	"runtime/debug"

	"github.com/costack-dev/costack/costack"
)

// ErrClosed is the error of a call submitted to a closed [Pool] or
// [Thread], or still queued on a Pool when it is closed (a Thread runs what
// was queued before Close, unless its goroutine exited).
var ErrClosed = errors.New("interop: executor closed")

// PanicError is the error a blocking call ends with when its function
// panicked (or called runtime.Goexit) on a worker; the worker survives. It
// is costack's PanicError, the error of a coroutine or task whose body
// panicked, so one errors.As target catches a panic wherever it happened:
//
//	var pe *interop.PanicError // or *costack.PanicError: the same type
//	if errors.As(err, &pe) { log.Printf("%v\n%s", pe.Value, pe.Stack) }
//
// Value is what the function panicked with, or [ErrGoexit] if it called
// runtime.Goexit (for example through t.FailNow); Stack is the worker's
// stack trace at the panic.
type PanicError = costack.PanicError

// ErrGoexit is the Value of the [*PanicError] of a call whose function
// called runtime.Goexit instead of returning or panicking. The error
// unwraps to it: errors.Is(err, ErrGoexit).
var ErrGoexit = errors.New("interop: the call called runtime.Goexit")

// newPanicError is the error of a call whose function panicked with r, as
// recover returned it in the call's deferred function: nil there means
// runtime.Goexit, as panic(nil) panics with a *runtime.PanicNilError.
func newPanicError(r any) *PanicError {
	if r == nil {
		r = ErrGoexit
	}
	return &PanicError{Value: r, Stack: debug.Stack()}
}

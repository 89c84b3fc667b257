package yield

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/costack-dev/costack/costack"
)

// Join suspends t until other has ended (returned, panicked, been cancelled
// or closed), and returns other.Err(). It returns at once if other ended
// before the current tick; if other ends during the current tick, t runs on
// the next one, whichever of the two ran first (see costack.Task.Arm).
func Join(t *costack.Task, other *costack.Task) error {
	t.Wait(other)
	return other.Err()
}

// JoinAll suspends t until every one of hs has ended and returns their
// values, in order, and their errors joined (errors.Join; nil if none
// failed). A task that was cancelled contributes costack.ErrCancelled (see
// TaskOf.Result). With no tasks it returns at once.
func JoinAll[T any](t *costack.Task, hs ...*costack.TaskOf[T]) ([]T, error) {
	ws := make([]costack.Waiter, len(hs))
	for i, h := range hs {
		ws[i] = h.Task
	}
	All(t, ws...)
	vs := make([]T, len(hs))
	var errs []error
	for i, h := range hs {
		var err error
		vs[i], err = h.Result()
		if err != nil {
			errs = append(errs, err)
		}
	}
	return vs, errors.Join(errs...)
}

// JoinAny suspends t until one of hs has ended and returns its index and
// result (if several ended before t resumed, the first of them to end, as
// for Any). The others go on running: cancel them if they are no longer
// wanted. With no tasks it returns -1 and costack.ErrNotDone at once.
func JoinAny[T any](t *costack.Task, hs ...*costack.TaskOf[T]) (int, T, error) {
	if len(hs) == 0 {
		var zero T
		return -1, zero, costack.ErrNotDone
	}
	ws := make([]costack.Waiter, len(hs))
	for i, h := range hs {
		ws[i] = h.Task
	}
	i := Any(t, ws...)
	v, err := hs[i].Result()
	return i, v, err
}

// describeAll describes waiters for a combinator's String.
func describeAll(ws []costack.Waiter) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		switch v := w.(type) {
		case *costack.Task:
			name := v.Name()
			if name == "" {
				name = "task"
			}
			parts[i] = fmt.Sprintf("task %s#%d", name, v.ID())
		case fmt.Stringer:
			parts[i] = v.String()
		default:
			parts[i] = fmt.Sprintf("%T", w)
		}
	}
	return strings.Join(parts, ", ")
}

// All suspends t until every one of ws has ended its wait; with no waiters it
// returns at once. Each waiter is armed when All is called, so edge-like
// events (signals) are caught whichever order they come in.
func All(t *costack.Task, ws ...costack.Waiter) { t.Wait(AllOf(ws...)) }

// AllOf is the Waiter form of All.
func AllOf(ws ...costack.Waiter) costack.Waiter { return allOf(ws) }

type allOf []costack.Waiter

func (a allOf) String() string { return "yield.AllOf(" + describeAll(a) + ")" }

func (a allOf) Arm(w costack.Waker) {
	if len(a) == 0 {
		w.Wake()
		return
	}
	left := new(atomic.Int32)
	left.Store(int32(len(a)))
	done := func() {
		if left.Add(-1) == 0 {
			w.Wake()
		}
	}
	for _, x := range a {
		x.Arm(w.Sub(done))
	}
}

// Any suspends t until one of ws ends its wait, and returns the index of
// the first that did (if several ended before t resumed, the first of them
// to end). The other waits are abandoned. With no waiters it returns -1 at
// once. If a waiter's condition holds as it is armed, the waiters after it
// are not armed.
func Any(t *costack.Task, ws ...costack.Waiter) int {
	if len(ws) == 0 {
		return -1
	}
	a := &anyOf{ws: ws}
	a.first.Store(-1)
	t.Wait(a)
	return int(a.first.Load())
}

// AnyOf is the Waiter form of Any.
func AnyOf(ws ...costack.Waiter) costack.Waiter { return &anyOf{ws: ws} }

type anyOf struct {
	ws    []costack.Waiter
	first atomic.Int32 // used by Any only
}

func (a *anyOf) String() string { return "yield.AnyOf(" + describeAll(a.ws) + ")" }

func (a *anyOf) Arm(w costack.Waker) {
	for i, x := range a.ws {
		i := int32(i)
		x.Arm(w.Sub(func() {
			a.first.CompareAndSwap(-1, i)
			w.Wake()
		}))
		if !w.Pending() {
			return
		}
	}
}

package costack

import (
	"iter"
)

// Pull converts the push-style iterator seq into a pull-style iterator, as
// iter.Pull does, running seq as a costack coroutine instead of on a
// goroutine of its own.
//
// next returns the next value and true, or the zero value and false once
// the sequence has ended or stop was called. stop ends the iteration: if seq
// is suspended in yield, yield returns false and seq runs to its end (its
// deferred calls run). A panic in seq propagates to the caller of next or
// stop; a runtime.Goexit in seq exits the goroutine that called next or
// stop. next and stop must not be called from several goroutines at once.
func Pull[V any](seq iter.Seq[V]) (next func() (V, bool), stop func()) {
	var done bool
	co := New(func(y *Yielder[bool, V], _ bool) (zero V) {
		stopped := false
		seq(func(v V) bool {
			if stopped {
				return false
			}
			stopped = !y.Yield(v)
			return !stopped
		})
		return zero
	})
	next = func() (v V, ok bool) {
		if done {
			return v, false
		}
		v, fin := pullResume(co, true, &done, "next")
		if fin {
			return v, false
		}
		return v, true
	}
	stop = func() {
		if done {
			return
		}
		if co.Status() == Suspended && !started(co) {
			done = true
			_ = co.Close()
			return
		}
		pullResume(co, false, &done, "stop")
	}
	return next, stop
}

// Pull2 is Pull for iter.Seq2: it converts seq into a pull-style iterator
// over pairs, with the semantics of iter.Pull2.
func Pull2[K, V any](seq iter.Seq2[K, V]) (next func() (K, V, bool), stop func()) {
	type pair struct {
		k K
		v V
	}
	next1, stop := Pull(func(yield func(pair) bool) {
		seq(func(k K, v V) bool { return yield(pair{k, v}) })
	})
	next = func() (k K, v V, ok bool) {
		p, ok := next1()
		return p.k, p.v, ok
	}
	return next, stop
}

// started reports whether the coroutine's body has begun.
func started[In, Out any](c *Coroutine[In, Out]) bool { return c.s.co.Started() }

// pullResume resumes a Pull coroutine and turns its errors into what
// iter.Pull does: a panic in the sequence is re-panicked with its value.
func pullResume[V any](co *Coroutine[bool, V], more bool, done *bool, op string) (V, bool) {
	defer func() {
		if co.Status() == Dead {
			*done = true
		}
	}()
	v, fin, err := co.Resume(more)
	if err != nil {
		if pe, ok := err.(*PanicError); ok {
			*done = true
			panic(pe.Value)
		}
		panic("costack.Pull: " + op + " called while the sequence is running")
	}
	return v, fin
}

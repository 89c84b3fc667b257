package costack

import (
	"iter"

	"github.com/costack-dev/costack/internal/engine"
)

// Pull converts the push-style iterator seq into a pull-style iterator, as
// iter.Pull does, running seq as a costack coroutine instead of on a
// goroutine of its own (on the native engine seq runs on the goroutine
// that calls next or stop, as a nested call).
//
// It behaves as iter.Pull in every way a caller can observe. next returns
// the next value and true, or the zero value and false once the sequence
// has ended or stop was called. stop ends the iteration: if seq is
// suspended in yield, yield returns false and seq runs to its end (its
// deferred calls run); stop before the first next means seq never runs.
// Calling stop again, or next after the end, does nothing. A yield called
// after seq has returned, or after stop, returns false. A panic in seq
// propagates to the caller of next or stop, and a runtime.Goexit in seq
// exits the goroutine that called next or stop; the iterator is then
// done.
//
// next and stop must not be called from several goroutines at once.
// Misuse panics in iter.Pull's terms: next called by seq itself ("next
// called again before yield"), or yield called while seq is suspended
// (by a goroutine that kept it: "yield called again before next"). Unlike
// iter.Pull, a stop called by seq itself panics too (iter.Pull would
// return from the pending next and leave seq's goroutine blocked for
// ever), and yield must be called on the goroutine running seq, as every
// Yield (iter.Pull lets another goroutine call it while next waits).
//
// If next and stop are dropped while seq is suspended, seq is unwound
// after the collector notices, its deferred calls run (see New); with
// iter.Pull its goroutine would stay blocked.
//
// On the native engine, a yield copies seq's live frames out and the next
// call copies them back: cheap for a few frames, dear for a recursive
// generator (a tree walk) a few hundred bytes deep, whose chain also
// changes at every yield. A sequence whose yields the engine finds dearer
// than a goroutine switch, a few times in a row, therefore moves to a
// goroutine of its own, as iter.Pull runs every sequence, and stays there
// until it ends: its yields then cost a switch at any depth, and its
// memory is that goroutine's stack. Nothing else changes for the caller
// (thread locks, panics and runtime.Goexit still follow control).
func Pull[V any](seq iter.Seq[V]) (next func() (V, bool), stop func()) {
	return pull("costack.Pull", seq, New[struct{}, V])
}

// Pull2 is Pull for iter.Seq2: it converts seq into a pull-style iterator
// over pairs, with the semantics of iter.Pull2.
func Pull2[K, V any](seq iter.Seq2[K, V]) (next func() (K, V, bool), stop func()) {
	return pull2("costack.Pull2", seq, New[struct{}, pair[K, V]])
}

// pullOn and pull2On are Pull and Pull2 on a given engine, for tests that
// run both engines in one process.
func pullOn[V any](k engine.Kind, seq iter.Seq[V]) (func() (V, bool), func(), error) {
	if err := engine.Available(k); err != nil {
		return nil, nil, err
	}
	next, stop := pull("costack.Pull", seq, onEngine[V](k))
	return next, stop, nil
}

func pull2On[K, V any](k engine.Kind, seq iter.Seq2[K, V]) (func() (K, V, bool), func(), error) {
	if err := engine.Available(k); err != nil {
		return nil, nil, err
	}
	next, stop := pull2("costack.Pull2", seq, onEngine[pair[K, V]](k))
	return next, stop, nil
}

// onEngine returns New on engine k, which is available.
func onEngine[V any](k engine.Kind) func(func(*Yielder[struct{}, V], struct{}) V) *Coroutine[struct{}, V] {
	return func(body func(*Yielder[struct{}, V], struct{}) V) *Coroutine[struct{}, V] {
		c, err := newOn(k, body)
		if err != nil {
			panic(err)
		}
		return c
	}
}

type pair[K, V any] struct {
	k K
	v V
}

func pull2[K, V any](name string, seq iter.Seq2[K, V], newCo func(func(*Yielder[struct{}, pair[K, V]], struct{}) pair[K, V]) *Coroutine[struct{}, pair[K, V]]) (next func() (K, V, bool), stop func()) {
	next1, stop := pull(name, func(yield func(pair[K, V]) bool) {
		seq(func(k K, v V) bool { return yield(pair[K, V]{k, v}) })
	}, newCo)
	next = func() (k K, v V, ok bool) {
		p, ok := next1()
		return p.k, p.v, ok
	}
	return next, stop
}

// pull is Pull, named name in its panics, on coroutines made by newCo.
//
// Its state is iter.Pull's, less what the coroutine keeps: done (seq has
// ended, or stop was called: next returns nothing, yield returns false)
// and yieldNext (a next is waiting for seq's next yield, so seq is
// running on its behalf).
func pull[V any](name string, seq iter.Seq[V], newCo func(func(*Yielder[struct{}, V], struct{}) V) *Coroutine[struct{}, V]) (next func() (V, bool), stop func()) {
	var p struct {
		done      bool
		yieldNext bool
		// costly weighs the yields the engine found dearer than a
		// goroutine switch against the others (hostAfter); hosted: the
		// sequence has moved to a goroutine of its own (or will not).
		costly uint8
		hosted bool
	}
	co := newCo(func(y *Yielder[struct{}, V], _ struct{}) (zero V) {
		// However seq ends (returns, panics, exits or is unwound), the
		// iterator is done.
		defer func() { p.done = true }()
		seq(func(v V) bool {
			if p.done {
				return false
			}
			if !p.yieldNext {
				panic(name + ": yield called again before next")
			}
			// next clears yieldNext once seq has yielded, so that a misused
			// Yield (say, from another goroutine) changes nothing.
			y.Yield(v)
			return !p.done
		})
		return zero
	})
	next = func() (v V, ok bool) {
		if p.done {
			return v, false
		}
		if p.yieldNext {
			panic(name + ": next called again before yield")
		}
		p.yieldNext = true
		v, fin := pullResume(co)
		p.yieldNext = false
		if !fin && !p.hosted {
			switch {
			case !co.s.co.HostAdvised():
				p.costly -= min(p.costly, 1)
			case p.costly+2 >= 2*hostAfter:
				p.hosted = true
				co.s.co.Host()
			default:
				p.costly += 2
			}
		}
		return v, !fin
	}
	stop = func() {
		if p.done {
			return
		}
		switch co.Status() {
		case Running, Normal:
			panic(name + ": stop called by the sequence itself")
		}
		p.done = true
		if !co.s.co.Started() {
			// seq never runs, as with iter.Pull.
			_ = co.Close()
			return
		}
		pullResume(co)
	}
	return next, stop
}

// hostAfter is how many yields in a row that the engine finds dearer than
// a goroutine switch (engine.Coroutine.HostAdvised: an image not described
// by a cached shape, a recursive generator's, of a few hundred bytes, or
// any over 2 KiB) move a Pull's sequence to a goroutine of its own
// (engine.Coroutine.Host), where iter.Pull runs every sequence: its yields
// then cost a switch whatever its depth, and its memory is that
// goroutine's stack, as iter.Pull's. Not in a row but on balance: each
// such yield counts two, each other one takes one off, so that a sequence
// of which a third or more of the yields are dear moves (a recursive
// generator's chains recur, and some get a shape), and one that recursed
// once and yields cheaply since stays.
const hostAfter = 8

// pullResume resumes a Pull coroutine; a panic in the sequence is
// re-panicked with its value, as iter.Pull does (a runtime.Goexit goes on
// by itself).
func pullResume[V any](co *Coroutine[struct{}, V]) (V, bool) {
	v, fin, err := co.Resume(struct{}{})
	if err != nil {
		if pe, ok := err.(*PanicError); ok {
			panic(pe.Value)
		}
		// Unreachable: next and stop check the state first.
		panic(err)
	}
	return v, fin
}

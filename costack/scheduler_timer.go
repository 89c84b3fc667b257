package costack

// wheelSize is the number of frame buckets: frame waits up to this many
// frames ahead cost an append; further ones go into a heap.
const wheelSize = 256

// timer is a wait due at a frame, a time on a clock, or a real time.
type timer struct {
	at int64
	w  Waker
}

type poll struct {
	w    Waker
	cond func() bool
}

// fileFrame puts a frame wait into the wheel or, if it is further ahead
// than the wheel reaches, into the far heap.
func (s *Scheduler) fileFrame(tm timer) {
	at := uint64(tm.at)
	if at <= s.frame {
		at = s.frame + 1
	}
	if at-s.frame <= wheelSize {
		slot := &s.wheel[at%wheelSize]
		*slot = append(*slot, tm.w)
		return
	}
	tm.at = int64(at)
	s.far.push(tm)
}

// timerHeap is a binary min-heap of timers by at. Equal keys come out in an
// order fixed by the sequence of pushes and pops, so it is deterministic.
type timerHeap []timer

func (h *timerHeap) push(tm timer) {
	*h = append(*h, tm)
	a := *h
	i := len(a) - 1
	for i > 0 {
		p := (i - 1) / 2
		if a[p].at <= a[i].at {
			break
		}
		a[p], a[i] = a[i], a[p]
		i = p
	}
}

func (h *timerHeap) pop() timer {
	a := *h
	top := a[0]
	last := len(a) - 1
	a[0] = a[last]
	a[last] = timer{}
	a = a[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(a) {
			break
		}
		m := l
		if r := l + 1; r < len(a) && a[r].at < a[l].at {
			m = r
		}
		if a[i].at <= a[m].at {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return top
}

package costack

import (
	"fmt"

	"github.com/costack-dev/costack/internal/engine"
)

// A Phase is a part of a tick. A tick runs FixedUpdate zero or more times
// (once per fixed step, see FixedStep), then Update, LateUpdate and
// EndOfFrame, as Unity's player loop does. A task resumes in its home
// phase (Update unless started with InPhase) after Yield and after every
// wait; Task.YieldTo (yield.Phase) moves it to another phase once.
type Phase uint8

const (
	// Update is the main phase, and the home phase of tasks by default.
	Update Phase = iota
	// FixedUpdate runs before Update, once per fixed step of scheduler time
	// accumulated (zero, one or several times per tick), for physics and
	// other simulations that need a constant step.
	FixedUpdate
	// LateUpdate runs after Update: for what follows everything else's
	// update, such as a camera following the player.
	LateUpdate
	// EndOfFrame runs last in a tick: for what reads the finished frame
	// (a screenshot, statistics).
	EndOfFrame
)

// numPhases is the number of phases.
const numPhases = 4

// The scheduler keeps its lists by phase order: the order phases run in a
// tick. A Task's home phase is kept as its order, so the hot paths index
// lists directly.
const (
	orderFixed uint8 = iota
	orderUpdate
	orderLate
	orderEnd
)

var phaseOrder = [numPhases]uint8{Update: orderUpdate, FixedUpdate: orderFixed, LateUpdate: orderLate, EndOfFrame: orderEnd}

var phaseOfOrder = [numPhases]Phase{orderFixed: FixedUpdate, orderUpdate: Update, orderLate: LateUpdate, orderEnd: EndOfFrame}

func (p Phase) String() string {
	switch p {
	case Update:
		return "Update"
	case FixedUpdate:
		return "FixedUpdate"
	case LateUpdate:
		return "LateUpdate"
	case EndOfFrame:
		return "EndOfFrame"
	}
	return fmt.Sprintf("Phase(%d)", uint8(p))
}

func (p Phase) check(op string) {
	if p >= numPhases {
		panic(fmt.Sprintf("costack: %s with an unknown phase %d", op, uint8(p)))
	}
}

// YieldTo suspends the task until the next occurrence of phase p: later in
// the current tick if p is still to come in it (for FixedUpdate: if a fixed
// step is still to come), else in the next tick. YieldTo(Update) from
// Update is Yield. It must be called by the task's own body; like Yield,
// it is inlined into the body and leaves no frame of its own in the
// suspended image (its worker works out where p is once it has
// suspended).
func (t *Task) YieldTo(p Phase) {
	if p >= numPhases {
		panic("costack: Task.YieldTo with an unknown phase")
	}
	t.target = targetPhase + uint8(p)
	engine.YieldOrUnwind(&t.c.co)
}

// Task.target values: a phase order (Yield: the home phase of the next
// tick), or targetPhase+p (YieldTo(p)).
const targetPhase = numPhases

// queueYielded puts a task that has suspended outside a wait where its
// Yield or YieldTo asked, seen from the phase w runs.
func (w *worker) queueYielded(t *Task) {
	o := t.target
	if o >= targetPhase {
		o = phaseOrder[o-targetPhase]
		switch {
		case o > w.phase:
			w.cur[o] = append(w.cur[o], t)
			return
		case o == orderFixed && w.phase == orderFixed && !w.lastStep:
			w.fixedAgain = append(w.fixedAgain, t)
			return
		}
	}
	w.next[o] = append(w.next[o], t)
}

// Phase reports the phase running now: the one the calling task body runs
// in, or, between ticks, Update.
func (t *Task) Phase() Phase {
	if w := t.w; w != nil && currentTask() == t {
		return phaseOfOrder[w.phase]
	}
	return Update
}

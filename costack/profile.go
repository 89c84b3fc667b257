package costack

import (
	"io"
	"runtime"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/google/pprof/profile"

	"github.com/costack-dev/costack/internal/engine"
)

// profileSlice is how long WriteProfile reads tasks with the tick held
// off: a tick waits for at most about that long, not for the whole
// profile. (The clock is read every profileCheck tasks.)
const (
	profileSlice = time.Millisecond
	profileCheck = 64
)

// WriteProfile writes a profile of the scheduler's live tasks, counted by
// stack — where in its body each one waits — in pprof's protobuf format
// (gzipped, as runtime/pprof writes its profiles), with the sample type
// "tasks", unit "count": go tool pprof reads it (-top, -traces, -web), as
// does github.com/google/pprof/profile. Tasks that are not suspended when
// they are read (running, or ended meanwhile) are left out.
//
// It holds the tick off (as WriteTasks does) for about a millisecond at a
// time, not for the whole profile, so a game loop keeps running while a
// large population is profiled; a stack is symbolized once however many
// tasks share it. Call it from any goroutine but a task body. To serve it
// next to net/http/pprof:
//
//	http.HandleFunc("/debug/pprof/costack-tasks", func(w http.ResponseWriter, r *http.Request) {
//		w.Header().Set("Content-Type", "application/octet-stream")
//		_ = sched.WriteProfile(w)
//	})
//
// (Package pprofhttp serves the process-wide WriteProfile, which counts
// these tasks too.)
func (s *Scheduler) WriteProfile(w io.Writer) error {
	if t := currentTask(); t != nil && t.sched == s {
		panic("costack: Scheduler.WriteProfile called from a task body")
	}
	lines := s.liveTasks()
	counts := stackCounts{}
	for i := 0; i < len(lines); {
		s.withTickHeld(func() {
			start := time.Now()
			for ; i < len(lines); i++ {
				if i%profileCheck == 0 && time.Since(start) > profileSlice {
					return
				}
				counts.add(&lines[i].t.c.co)
			}
		})
		runtime.Gosched() // a tick waiting for the lock takes it now
	}
	return counts.write(w, "tasks")
}

// WriteProfile writes a profile of every suspended coroutine of the
// process, counted by stack — where in its body each one waits — in
// pprof's protobuf format (gzipped, as runtime/pprof writes its profiles),
// with the sample type "coroutines", unit "count": go tool pprof reads it,
// as does github.com/google/pprof/profile. It counts the coroutines made
// with New, NewOf, Pull and Pull2 that have suspended at least once and
// whose handles have not been collected, and the live tasks of every
// Scheduler made with NewScheduler; coroutines that are not suspended when
// they are read (running, or ended meanwhile) are left out. Package
// pprofhttp serves it over HTTP.
//
// It stops nothing: each coroutine is held only while its return
// addresses are read (a Resume, Close or tick that wants it meanwhile
// waits those few microseconds, and never fails for it), and a stack is
// symbolized once however many coroutines share it. Call it from any
// goroutine, a coroutine body or a task body included.
func WriteProfile(w io.Writer) error {
	counts := stackCounts{}
	for _, c := range registered() {
		counts.add(&c.co)
	}
	for _, s := range schedulers() {
		for _, l := range s.liveTasks() {
			counts.add(&l.t.c.co)
		}
	}
	return counts.write(w, "coroutines")
}

// stackCounts counts coroutines by stack (their return addresses, as a
// string key). buf is the scratch the return addresses are read into: a
// stack is copied only when it is new.
type stackCounts struct {
	m   map[string]*stackCount
	buf []uintptr
}

type stackCount struct {
	pcs   []uintptr
	count int64
}

// add counts co, if it is suspended.
func (m *stackCounts) add(co *engine.Coroutine) {
	pcs, ok := co.AppendCallers(m.buf)
	if !ok {
		return
	}
	m.buf = pcs
	key := unsafe.String((*byte)(unsafe.Pointer(unsafe.SliceData(pcs))), len(pcs)*int(unsafe.Sizeof(uintptr(0))))
	if st := m.m[key]; st != nil {
		st.count++
		return
	}
	if m.m == nil {
		m.m = map[string]*stackCount{}
	}
	m.m[strings.Clone(key)] = &stackCount{slices.Clone(pcs), 1} // buf is reused: copies
}

// write writes the counts as a profile of the sample type name.
func (m *stackCounts) write(w io.Writer, name string) error {
	all := make([]*stackCount, 0, len(m.m))
	for _, st := range m.m {
		all = append(all, st)
	}
	// The most common stacks first, then by address: the same population
	// gives the same profile.
	slices.SortFunc(all, func(a, b *stackCount) int {
		if a.count != b.count {
			return int(b.count - a.count)
		}
		return slices.Compare(a.pcs, b.pcs)
	})
	p := newStackProfile(name)
	for _, st := range all {
		sample := &profile.Sample{Value: []int64{st.count}}
		for _, f := range bodyFrames(engine.UserFrames(st.pcs)) {
			sample.Location = append(sample.Location, p.location(f))
		}
		p.Sample = append(p.Sample, sample)
	}
	return p.Write(w)
}

// withTickHeld runs f with no tick in progress (see WriteTasks).
func (s *Scheduler) withTickHeld(f func()) {
	if !s.inSerial() {
		s.tickMu.Lock()
		defer s.tickMu.Unlock()
	}
	f()
}

// stackProfile is a profile being built, with its locations and functions
// by identity.
type stackProfile struct {
	*profile.Profile
	locs  map[runtime.Frame]*profile.Location
	funcs map[[2]string]*profile.Function
}

func newStackProfile(name string) *stackProfile {
	count := &profile.ValueType{Type: name, Unit: "count"}
	return &stackProfile{
		Profile: &profile.Profile{
			SampleType: []*profile.ValueType{count},
			PeriodType: count,
			Period:     1,
			TimeNanos:  time.Now().UnixNano(),
		},
		locs:  map[runtime.Frame]*profile.Location{},
		funcs: map[[2]string]*profile.Function{},
	}
}

// location returns the profile's location of frame f: one per frame (an
// inlined call is a location of its own, at the same address).
func (p *stackProfile) location(f runtime.Frame) *profile.Location {
	f.Func = nil // identity by PC, function and line
	if l := p.locs[f]; l != nil {
		return l
	}
	key := [2]string{f.Function, f.File}
	fn := p.funcs[key]
	if fn == nil {
		fn = &profile.Function{ID: uint64(len(p.Function) + 1), Name: f.Function, SystemName: f.Function, Filename: f.File}
		p.funcs[key] = fn
		p.Function = append(p.Function, fn)
	}
	l := &profile.Location{ID: uint64(len(p.Location) + 1), Address: uint64(f.PC), Line: []profile.Line{{Function: fn, Line: int64(f.Line)}}}
	p.locs[f] = l
	p.Location = append(p.Location, l)
	return l
}

package costack

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"runtime/pprof"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// namedWait is a Waiter that describes itself.
type namedWait string

func (n namedWait) Arm(Waker)      {}
func (n namedWait) String() string { return string(n) }

// Issue 17: printing a *Task with %v dumped raw internal structs.
func TestTaskString(t *testing.T) {
	s := newSched(t)
	g := s.NewGroup("level1")
	var self string
	waiting := s.Go(func(t *Task) {
		self = fmt.Sprint(t)
		t.Wait(namedWait("the door"))
	}, Named("guard"), InGroup(g))
	anon := s.Go(func(t *Task) {
		for {
			t.Yield()
		}
	})
	joiner := s.Go(func(t *Task) { t.Wait(waiting) }, Named("joiner"))
	fresh := s.Go(func(*Task) {}, Named("fresh"))
	assert.Equal(t, "fresh#4 new", fmt.Sprint(fresh))
	s.Tick()
	assert.Equal(t, "guard#1 running", self)
	assert.Equal(t, "guard#1 waiting for the door [group level1]", fmt.Sprint(waiting))
	assert.Equal(t, "task#2 ready", anon.String())
	assert.Equal(t, "joiner#3 waiting for task guard#1", joiner.String())
	assert.Equal(t, "fresh#4 ended", fresh.String())
	bad := s.Go(func(*Task) { panic("out of ammo") }, Named("bad"))
	s.Tick()
	assert.Equal(t, "bad#5 ended: panicked: out of ammo", bad.String())
	anon.Cancel()
	assert.Equal(t, "task#2 cancelled", anon.String())
	s.Tick()
	assert.Equal(t, "task#2 ended (cancelled)", anon.String())
	g.Pause()
	s.Go(func(t *Task) {}, InGroup(g), Named("held"))
	s.Tick()
	assert.Equal(t, "held#6 paused [group level1]", g.Tasks()[1].String())
	assert.Equal(t, uint64(6), g.Tasks()[1].ID())
	assert.Equal(t, "held", g.Tasks()[1].Name())
}

func TestWriteTasks(t *testing.T) {
	s := newSched(t)
	s.Go(func(t *Task) {
		t.Scheduler().Go(func(t *Task) { t.Wait(namedWait("input")) }, Named("child"))
		t.Wait(namedWait("the end"))
	}, Named("root"))
	s.Go(func(t *Task) {}, Named("other"))
	s.Tick()
	s.Tick()
	var b bytes.Buffer
	require.NoError(t, s.WriteTasks(&b))
	assert.Equal(t, "2 tasks at frame 2\nroot#1 waiting for the end\n  child#3 waiting for input\n", b.String())
	var inBody any
	s.Go(func(t *Task) {
		defer func() { inBody = recover() }()
		_ = t.Scheduler().WriteTasks(&b)
	})
	s.Tick()
	assert.NotNil(t, inBody, "WriteTasks from a task body panics")
}

func TestOnTaskEnd(t *testing.T) {
	type end struct {
		task string
		err  string
		same bool // on the goroutine driving the scheduler
	}
	var ends []end
	driver := goroutineID()
	s := NewScheduler(OnTaskEnd(func(t *Task, err error) {
		e := end{task: t.Name(), same: goroutineID() == driver}
		if err != nil {
			e.err = err.Error()
		}
		ends = append(ends, e)
	}), Workers(2))
	boom := errors.New("boom")
	s.Go(func(*Task) {}, Named("returns"))
	s.Go(func(*Task) { panic("p") }, Named("panics"))
	GoResult(s, func(*Task) (int, error) { return 0, boom }, Named("fails"))
	victim := s.Go(func(t *Task) { t.Wait(namedWait("x")) }, Named("cancelled"))
	s.Go(func(t *Task) { t.Wait(namedWait("y")) }, Named("closed"))
	s.Tick()
	victim.Cancel()
	s.Tick()
	s.Close()
	assert.Equal(t, []end{
		{"returns", "", true},
		{"panics", "costack: coroutine panicked: p", true},
		{"fails", "boom", true},
		{"cancelled", "", true},
		{"closed", "", true},
	}, ends)
}

// Issue 17: a task that panicked was silent until someone polled Task.Err.
func TestPanicWithNoHookIsLogged(t *testing.T) {
	var b bytes.Buffer
	defer log.SetOutput(log.Writer())
	log.SetOutput(&b)
	s := newSched(t)
	s.Go(func(*Task) { panic("silent no more") }, Named("loud"))
	s.Tick()
	out := b.String()
	assert.Contains(t, out, "costack: task loud#1 panicked: silent no more\n")
	assert.Contains(t, out, "goroutine ", "with its stack")
}

func TestLabelsAreSetWhileTheBodyRuns(t *testing.T) {
	s := newSched(t, ProfileLabels(true))
	var inBody, outside string
	s.Go(func(task *Task) {
		for range 2 {
			var b bytes.Buffer
			require.NoError(t, pprof.Lookup("goroutine").WriteTo(&b, 1))
			inBody = b.String()
			task.Yield()
		}
	}, Named("walker"), Labels("kind", "npc"))
	s.Tick()
	s.Tick()
	var b bytes.Buffer
	require.NoError(t, pprof.Lookup("goroutine").WriteTo(&b, 1))
	outside = b.String()
	assert.Contains(t, inBody, `"task":"walker"`)
	assert.Contains(t, inBody, `"kind":"npc"`)
	// The goroutine driving the scheduler (the test's; on the native
	// engine, the one the body ran on) has no labels after the tick. On
	// the portable engine the body's own parked goroutine keeps them, as
	// it should.
	var mine string
	for _, rec := range strings.Split(outside, "\n\n") {
		if strings.Contains(rec, "TestLabelsAreSetWhileTheBodyRuns+") {
			mine = rec
		}
	}
	require.NotEmpty(t, mine)
	assert.NotContains(t, mine, "# labels:", "the worker's labels are cleared after the resume")
	odd := []string{"odd"}
	assert.Panics(t, func() { Labels(odd...) })

	// Without ProfileLabels, names label nothing.
	s2 := newSched(t)
	var plain string
	s2.Go(func(*Task) {
		var b bytes.Buffer
		require.NoError(t, pprof.Lookup("goroutine").WriteTo(&b, 1))
		plain = b.String()
	}, Named("quiet"))
	s2.Tick()
	assert.False(t, strings.Contains(plain, `"task":"quiet"`))
}

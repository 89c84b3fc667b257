package costack

import (
	"bytes"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

//go:noinline
func profileWaitA(t *Task) { t.Wait(namedWait("a")) }

//go:noinline
func profileWaitB(t *Task, d int) {
	if d > 0 {
		profileWaitB(t, d-1)
		return
	}
	t.Wait(namedWait("b"))
}

// Issue 17: a profile of where every task waits, readable by pprof: the
// tasks counted by stack, each stack from the wait to the task's body.
func TestSchedulerWriteProfile(t *testing.T) {
	s := newSched(t)
	const na, nb = 5000, 7
	for range na {
		s.Go(func(t *Task) { profileWaitA(t) })
	}
	for range nb {
		s.Go(func(t *Task) { profileWaitB(t, 4) })
	}
	s.Go(func(t *Task) {}) // ends in the first tick: not in the profile
	s.Tick()
	p := readProfile(t, s.WriteProfile, "tasks")
	require.Len(t, p.Sample, 2, "one sample per distinct stack")
	funcs := func(s *profile.Sample) []string {
		var names []string
		for _, l := range s.Location {
			for _, line := range l.Line {
				names = append(names, line.Function.Name[strings.LastIndex(line.Function.Name, "/")+1:])
			}
		}
		return names
	}
	a, bb := p.Sample[0], p.Sample[1]
	assert.Equal(t, []int64{na}, a.Value)
	assert.Equal(t, []int64{nb}, bb.Value)
	assert.Contains(t, funcs(a), "costack.profileWaitA")
	assert.NotContains(t, funcs(a), "costack.profileWaitB")
	assert.Equal(t, 5, strings.Count(strings.Join(funcs(bb), " "), "costack.profileWaitB"), "%v", funcs(bb))
	for _, s := range p.Sample {
		names := funcs(s)
		assert.True(t, strings.HasPrefix(names[len(names)-1], "costack.TestSchedulerWriteProfile.func"), "outermost frame is the body: %v", names)
		assert.False(t, slices.ContainsFunc(names, func(n string) bool {
			return strings.Contains(n, "internal/engine.") || strings.Contains(n, "sharedstack.")
		}), "engine frames: %v", names)
	}
}

// readProfile writes a profile with write and parses it: valid, of one
// sample type, name/count.
func readProfile(t *testing.T, write func(io.Writer) error, name string) *profile.Profile {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, write(&b))
	p, err := profile.Parse(&b)
	require.NoError(t, err)
	require.NoError(t, p.CheckValid())
	require.Len(t, p.SampleType, 1)
	assert.Equal(t, name, p.SampleType[0].Type)
	assert.Equal(t, "count", p.SampleType[0].Unit)
	return p
}

// BenchmarkSchedulerWriteProfile is one profile of n suspended tasks (two
// distinct stacks); it reports ns per task.
func BenchmarkSchedulerWriteProfile(b *testing.B) {
	for _, n := range []int{100_000} {
		b.Run("tasks="+strconv.Itoa(n), func(b *testing.B) {
			s := NewScheduler()
			defer s.Close()
			for i := range n {
				if i%2 == 0 {
					s.Go(func(t *Task) { profileWaitA(t) })
				} else {
					s.Go(func(t *Task) { profileWaitB(t, 3) })
				}
			}
			s.Tick()
			b.ResetTimer()
			for range b.N {
				if err := s.WriteProfile(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/task")
		})
	}
}

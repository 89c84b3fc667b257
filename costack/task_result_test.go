package costack

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGoResultJoin(t *testing.T) {
	s := newSched(t)
	boom := errors.New("no path")
	value := GoResult(s, func(t *Task) (int, error) {
		t.Wait(schedFrames(2))
		return 42, nil
	})
	failing := GoResult(s, func(t *Task) (string, error) { return "partial", boom })
	panicking := GoResult(s, func(t *Task) (int, error) { panic("oops") })
	stuck := GoResult(s, func(t *Task) (int, error) {
		t.Wait(new(schedSignal))
		return 1, nil
	})
	_, err := value.Result()
	assert.ErrorIs(t, err, ErrNotDone)
	type got struct {
		v   any
		err error
	}
	var results []got
	s.Go(func(t *Task) {
		v, err := value.Join(t)
		results = append(results, got{v, err})
		sv, err := failing.Join(t)
		results = append(results, got{sv, err})
		v, err = panicking.Join(t)
		results = append(results, got{v, err})
		v, err = stuck.Join(t)
		results = append(results, got{v, err})
	}, Named("joiner"))
	for range 4 {
		s.Tick()
	}
	stuck.Cancel()
	s.Tick()
	s.Tick()
	require.Len(t, results, 4)
	assert.Equal(t, got{42, nil}, results[0])
	assert.Equal(t, got{"partial", boom}, results[1], "the value and the error the body returned")
	assert.ErrorIs(t, failing.Err(), boom, "Task.Err is the returned error")
	var pe *PanicError
	assert.ErrorAs(t, results[2].err, &pe)
	assert.Equal(t, 0, results[2].v)
	assert.ErrorIs(t, results[3].err, ErrCancelled)
	assert.NoError(t, stuck.Err(), "Task.Err stays nil for a cancelled task")
	assert.Panics(t, func() { GoResult[int](s, nil) })
}

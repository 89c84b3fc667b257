package costack

// A TaskOf is a task whose body returns a value of type T and an error, as
// started by GoResult: a typed handle to join, like UniTask<T> or a
// future. It is a *Task (cancel it, wait on it, print it) with the
// result.
type TaskOf[T any] struct {
	*Task
	// value and returned are written by the body before the task ends,
	// and read once Done reports it ended.
	value    T
	returned bool
}

// GoResult starts a task running body, as s.Go(..., opts...) does, and
// keeps what body returns for Join and Result.
func GoResult[T any](s *Scheduler, body func(t *Task) (T, error), opts ...TaskOption) *TaskOf[T] {
	if body == nil {
		panic("costack: GoResult with a nil body")
	}
	h := new(TaskOf[T])
	h.Task = s.Go(func(t *Task) {
		v, err := body(t)
		h.value, h.returned = v, true
		if err != nil {
			t.setErr(err)
		}
	}, opts...)
	return h
}

// Join suspends t (the calling task's own body) until h's task has ended,
// as waiting on the task does, and returns its result (see Result).
func (h *TaskOf[T]) Join(t *Task) (T, error) {
	t.Wait(h.Task)
	return h.Result()
}

// Result returns what the body returned once the task has ended. If the
// body did not return, the value is T's zero value and the error is the
// task's *PanicError if it panicked, else ErrCancelled (it was cancelled
// or closed). Before the task ended, it returns ErrNotDone.
func (h *TaskOf[T]) Result() (T, error) {
	var zero T
	if !h.Done() {
		return zero, ErrNotDone
	}
	if !h.returned {
		if err := h.Err(); err != nil {
			return zero, err
		}
		return zero, ErrCancelled
	}
	return h.value, h.Err()
}

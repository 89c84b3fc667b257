package interop

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/costack-dev/costack/costack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOnePanicErrorForCallsAndCoroutines: a panic on a pool worker, on a
// Thread, in a coroutine body and in a task's body is the same error type,
// so errors.As with either package's name catches every one of them, also
// wrapped.
func TestOnePanicErrorForCallsAndCoroutines(t *testing.T) {
	boom := errors.New("boom")
	p := NewPool(PoolSize(1))
	defer p.Close()
	th := NewThread()
	defer th.Close()

	_, poolErr := StartOn(context.Background(), p, func(ctx context.Context) (int, error) { panic(boom) }).Result()
	co := costack.New(func(y *costack.Yielder[int, int], _ int) int { panic(boom) })
	_, _, coErr := co.Resume(0)
	s := costack.NewScheduler()
	defer s.Close()
	tk := s.Go(func(*costack.Task) { panic(boom) })
	for !tk.Done() {
		s.Tick()
	}
	taskErr := tk.Err()
	_, threadErr := StartOn(context.Background(), th, func(ctx context.Context) (int, error) { panic(boom) }).Result()

	for name, err := range map[string]error{
		"pool": poolErr, "thread": threadErr, "coroutine": coErr, "task": taskErr,
		"wrapped pool":      fmt.Errorf("loading: %w", poolErr),
		"wrapped coroutine": fmt.Errorf("loading: %w", coErr),
	} {
		t.Run(name, func(t *testing.T) {
			var ipe *PanicError
			require.ErrorAs(t, err, &ipe)
			assert.Equal(t, boom, ipe.Value)
			assert.NotEmpty(t, ipe.Stack)
			var cpe *costack.PanicError
			require.ErrorAs(t, err, &cpe)
			assert.Same(t, ipe, cpe)
			assert.ErrorIs(t, err, boom)
		})
	}
}

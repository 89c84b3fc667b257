package interop

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"github.com/costack-dev/costack/costack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewPoolOptions(t *testing.T) {
	assert.Equal(t, max(128, 16*runtime.GOMAXPROCS(0)), NewPool().Size(), "the default size")
	assert.Equal(t, 3, NewPool(PoolSize(3)).Size())
	assert.Equal(t, 5, NewPool(PoolSize(3), PoolSize(5)).Size(), "the last option wins")
	assert.PanicsWithValue(t, "interop: PoolSize(0): a pool needs at least one worker", func() { PoolSize(0) })
	assert.Panics(t, func() { PoolSize(-1) })
}

// freshDefaultPool runs the test as if the default pool had never been
// used, and puts the process's default pool back afterwards. Tests in this
// package do not run in parallel, so nothing else uses it meanwhile.
func freshDefaultPool(t *testing.T) {
	t.Helper()
	saved := defaultPool.Swap(nil)
	t.Cleanup(func() {
		if p := defaultPool.Swap(saved); p != nil && p != saved {
			p.Close()
		}
	})
}

func TestSetDefaultPoolBeforeFirstUse(t *testing.T) {
	freshDefaultPool(t)
	p := NewPool(PoolSize(2))
	require.NoError(t, SetDefaultPool(p))
	assert.Same(t, p, DefaultPool())

	// Start, BlockYield and Block all run on it: closing it makes each
	// of them end with ErrClosed.
	p.Close()
	_, err := Start(context.Background(), func(ctx context.Context) (int, error) { return 1, nil }).Result()
	assert.ErrorIs(t, err, ErrClosed)
	co := costack.New(func(y *costack.Yielder[int, int], _ int) int {
		_, err := BlockYield(context.Background(), y, 0, func(ctx context.Context) (int, error) { return 1, nil })
		assert.ErrorIs(t, err, ErrClosed)
		return 2
	})
	v, done, err := co.Resume(0)
	require.NoError(t, err)
	assert.True(t, done, "a refused call does not suspend")
	assert.Equal(t, 2, v)
	s := costack.NewScheduler()
	defer s.Close()
	var blockErr error
	tk := s.Go(func(tk *costack.Task) {
		_, blockErr = Block(tk, func(ctx context.Context) (int, error) { return 1, nil })
	})
	tickUntil(t, s, tk.Done)
	assert.ErrorIs(t, blockErr, ErrClosed)
}

func TestSetDefaultPoolAfterFirstUseChangesNothing(t *testing.T) {
	freshDefaultPool(t)
	v, err := Start(context.Background(), func(ctx context.Context) (int, error) { return 1, nil }).Result()
	require.NoError(t, err)
	assert.Equal(t, 1, v)
	used := DefaultPool()
	assert.Equal(t, NewPool().Size(), used.Size(), "made with NewPool's defaults")

	assert.ErrorIs(t, SetDefaultPool(NewPool(PoolSize(1))), ErrDefaultPoolInUse)
	assert.Same(t, used, DefaultPool())
	// Resizing the pool in use is the way to change it.
	used.SetSize(7)
	assert.Equal(t, 7, DefaultPool().Size())
}

func TestSetDefaultPoolOnlyOnce(t *testing.T) {
	freshDefaultPool(t)
	first := NewPool(PoolSize(1))
	require.NoError(t, SetDefaultPool(first))
	assert.ErrorIs(t, SetDefaultPool(NewPool(PoolSize(2))), ErrDefaultPoolInUse)
	assert.Same(t, first, DefaultPool())
	assert.PanicsWithValue(t, "interop: SetDefaultPool(nil)", func() { _ = SetDefaultPool(nil) })
}

// TestDefaultPoolFirstUseRaces: concurrent first uses and SetDefaultPool
// calls agree on one pool, and SetDefaultPool succeeded exactly when its
// pool is that one.
func TestDefaultPoolFirstUseRaces(t *testing.T) {
	for range 50 {
		freshDefaultPool(t)
		mine := NewPool(PoolSize(3))
		var wg sync.WaitGroup
		seen := make([]*Pool, 8)
		var setErr error
		wg.Add(len(seen) + 1)
		go func() { defer wg.Done(); setErr = SetDefaultPool(mine) }()
		for i := range seen {
			go func() { defer wg.Done(); seen[i] = DefaultPool() }()
		}
		wg.Wait()
		got := DefaultPool()
		for _, p := range seen {
			require.Same(t, got, p)
		}
		if setErr == nil {
			require.Same(t, mine, got)
		} else {
			require.ErrorIs(t, setErr, ErrDefaultPoolInUse)
			require.NotSame(t, mine, got)
		}
	}
}

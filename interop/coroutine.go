package interop

import (
	"context"

	"github.com/costack-dev/costack/costack"
)

// BlockYield is the form of [Block] for a bare [costack.Coroutine] (one not
// run by a scheduler). It starts fn on the [DefaultPool] and, until fn has
// returned, yields out through y each time it is resumed; then it returns
// fn's result. ctx, as in [Start], is the parent of fn's context.
//
// What it means for the resumer: Resume never waits for fn. Each Resume
// while fn runs returns out at once (done == false), so a resumer that
// drives many coroutines, such as a game loop resuming each once per
// frame, polls the call at the rate it resumes, and is never stalled by
// it. A resumer that wants to sleep until the result is in should have the
// coroutine yield the [Future] of [Start] instead and wait on its Done
// channel.
//
// If the coroutine is closed while suspended here, fn's context is
// cancelled and its result is dropped; Close does not wait for fn.
func BlockYield[In, Out, T any](ctx context.Context, y *costack.Yielder[In, Out], out Out, fn func(ctx context.Context) (T, error)) (T, error) {
	f := Start(ctx, fn)
	defer f.Cancel()
	for !f.Ready() {
		y.Yield(out)
	}
	return f.Result()
}

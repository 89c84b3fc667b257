package workload_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/costack-dev/costack/bench/internal/workload"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestOps runs every operation of every implementation a few times, with
// counts that do and do not fill whole relocation batches; goleak then
// checks that Close ended everything.
func TestOps(t *testing.T) {
	for _, impl := range workload.Impls {
		ops := map[string]func() workload.Op{
			"depth1":     func() workload.Op { return workload.RoundTrip(impl, 1) },
			"depth16":    func() workload.Op { return workload.RoundTrip(impl, 16) },
			"relocGor":   func() workload.Op { return workload.RelocGoroutine(impl) },
			"relocDepth": func() workload.Op { return workload.RelocDepthOp(impl) },
			"create":     func() workload.Op { return workload.CreateResumeClose(impl) },
			"tick":       func() workload.Op { return workload.Tick(impl, 100) },
		}
		for name, mk := range ops {
			t.Run(fmt.Sprintf("%s/%s", impl, name), func(t *testing.T) {
				op := mk()
				for _, n := range []int{0, 1, 63, 64, 65, 200} {
					op.Run(n)
				}
				op.Close()
			})
		}
	}
}

func TestPopulation(t *testing.T) {
	for _, impl := range workload.Impls {
		t.Run(string(impl), func(t *testing.T) {
			p := workload.NewPopulation(impl)
			p.Reserve(5000)
			p.Add(5000)
			p.Add(10)
			assert.Equal(t, 5010, p.Len())
			p.Tick()
			p.Tick()
			if impl == workload.Costack {
				assert.Positive(t, p.Footprint())
			} else {
				assert.Equal(t, int64(-1), p.Footprint())
			}
			p.Close()
			assert.Equal(t, 0, p.Len())
		})
	}
}

func TestParseImpl(t *testing.T) {
	for _, impl := range workload.Impls {
		got, err := workload.ParseImpl(string(impl))
		require.NoError(t, err)
		assert.Equal(t, impl, got)
	}
	_, err := workload.ParseImpl("fibers")
	assert.Error(t, err)
}

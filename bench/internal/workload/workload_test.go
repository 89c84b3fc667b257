package workload_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/costack-dev/costack/bench/internal/workload"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseImpl(t *testing.T) {
	for _, impl := range workload.Impls {
		got, err := workload.ParseImpl(string(impl))
		require.NoError(t, err)
		assert.Equal(t, impl, got)
	}
	_, err := workload.ParseImpl("fibers")
	assert.Error(t, err)
}

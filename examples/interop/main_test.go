package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunBriefly(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"-tasks", "300", "-ops", "4", "-pool", "16", "-frame", "200us"}, &out)
	t.Log("\n" + out.String())
	require.NoError(t, err)
	assert.Contains(t, out.String(), "failures 0, tasks left 0")
	assert.Contains(t, out.String(), "file ops 600, network round trips 600")
	assert.Contains(t, out.String(), "tick time after it: p50")
}

func TestRunStopsAtMaxFrames(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"-tasks", "50", "-ops", "100", "-max-frames", "5", "-frame", "0"}, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "did not finish in 5 frames")
}

func TestRunRejectsBadFlags(t *testing.T) {
	var out bytes.Buffer
	assert.Error(t, run([]string{"-tasks", "0"}, &out))
	assert.Error(t, run([]string{"-no-such-flag"}, &out))
}

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain is also the servers' child process: the command re-executes
// its own binary, here the test binary.
func TestMain(m *testing.M) {
	if args := os.Getenv(childEnv); args != "" {
		os.Exit(childMain(strings.Fields(args)))
	}
	// gnet's goroutine pool (ants) starts two goroutines at package init,
	// in every process that links gnet: they are not ours to end.
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"))
}

func TestRunsEveryRowBriefly(t *testing.T) {
	var out, log bytes.Buffer
	code := run([]string{"-idle", "300", "-echo-conns", "20", "-echo-time", "200ms", "-warmup", "50ms"}, &out, &log)
	t.Log(log.String())
	require.Zero(t, code)
	var res Result
	require.NoError(t, json.Unmarshal(out.Bytes(), &res))
	assert.Empty(t, res.Skipped)
	require.Len(t, res.Rows, 4)
	for _, r := range res.Rows {
		for _, impl := range []string{"costack", "net", "gnet"} {
			assert.Contains(t, r.Values, impl, "%s %s", r.Case, r.Param)
		}
		assert.Contains(t, r.Ratios, "costack/net")
		assert.Contains(t, r.Ratios, "costack/gnet")
	}
	assert.Positive(t, res.Rows[2].Values["costack"], "round trips/s")
	assert.Contains(t, log.String(), "costack/net")
}

func TestSkipsRowsBeyondTheDescriptorLimit(t *testing.T) {
	var out, log bytes.Buffer
	code := run([]string{"-idle", "100000000", "-echo-conns", "0"}, &out, &log)
	require.Zero(t, code)
	var res Result
	require.NoError(t, json.Unmarshal(out.Bytes(), &res))
	require.Len(t, res.Skipped, 1)
	assert.Contains(t, res.Skipped[0], "idle N=100000000: needs")
}

func TestRejectsBadFlags(t *testing.T) {
	var out, log bytes.Buffer
	assert.Equal(t, 2, run([]string{"-idle", "x"}, &out, &log))
	assert.Equal(t, 2, run([]string{"-msg", "1000"}, &out, &log))
	assert.Equal(t, 2, run([]string{"-nope"}, &out, &log))
}

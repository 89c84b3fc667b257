package main

import (
	"bytes"
	"slices"
	"testing"

	"github.com/costack-dev/costack/costack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestWalkInOrder(t *testing.T) {
	lo := 0
	tree := build(5, &lo)
	assert.Equal(t, 31, lo)
	want := make([]int, 31)
	for i := range want {
		want[i] = i
	}
	assert.Equal(t, want, slices.Collect(tree.all()))

	next, stop := costack.Pull(tree.all())
	defer stop()
	for _, w := range want {
		v, ok := next()
		require.True(t, ok)
		assert.Equal(t, w, v)
	}
	_, ok := next()
	assert.False(t, ok)
}

func TestRunSmall(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run([]string{"-n", "300", "-depth", "8"}, &out))
	s := out.String()
	assert.Contains(t, s, "costack.Pull")
	assert.Contains(t, s, "iter.Pull")
	assert.Contains(t, s, "300 live iterators")
}

func TestRunRejectsBadFlags(t *testing.T) {
	var out bytes.Buffer
	assert.Error(t, run([]string{"-depth", "1"}, &out))
	assert.Error(t, run([]string{"-n", "10", "-depth", "2", "-steps", "5"}, &out))
	assert.Error(t, run([]string{"-nope"}, &out))
}

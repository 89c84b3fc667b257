package netpoll

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/costack-dev/costack/costack"
)

// testTimeout bounds every wait in these tests: a hang fails instead of
// stalling the suite.
const testTimeout = 10 * time.Second

// tickUntil ticks s (the way a game loop would, with a pause between
// frames) until cond holds.
func tickUntil(t testing.TB, s *costack.Scheduler, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not reached in %v (tasks left %d)", testTimeout, s.Len())
		}
		s.Tick()
		time.Sleep(50 * time.Microsecond)
	}
}

// openFDs counts the process's open file descriptors.
func openFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(ents)
}

// checkFDs fails the test if it leaves more descriptors open than it found.
// The default poller is created first, so that its two descriptors, kept
// for the life of the process, are not counted as a leak.
func checkFDs(t *testing.T) {
	t.Helper()
	_, err := DefaultPoller()
	require.NoError(t, err)
	// Likewise the runtime's own poller (package net's), made on first use.
	warm, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	warm.Close()
	before := openFDs(t)
	t.Cleanup(func() {
		// The runtime may still be closing a client's socket: allow it
		// a moment.
		deadline := time.Now().Add(testTimeout)
		for openFDs(t) > before && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if after := openFDs(t); after > before {
			t.Errorf("file descriptors: %d before the test, %d after", before, after)
		}
	})
}

// listen listens on a fresh loopback port with the default poller.
func listen(t *testing.T) *Listener {
	t.Helper()
	ln, err := Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	return ln
}

// dial connects a package-net client to ln.
func dial(t *testing.T, ln *Listener) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), testTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(testTimeout)))
	return c
}

// pair returns a connection accepted by ln (from a plain goroutine) and
// the package-net client connected to it.
func pair(t *testing.T, ln *Listener) (*Conn, net.Conn) {
	t.Helper()
	client := dial(t, ln)
	c, err := ln.AcceptConn()
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c, client
}

// waiters reports the number of calls waiting in p's descriptors.
func waiters(p *Poller) int64 { return p.waiters.Load() }

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDemoRunsBriefly(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"-conns", "60", "-rooms", "3", "-duration", "500ms", "-rate", "10"}, &out)
	t.Log("\n" + out.String())
	require.NoError(t, err)
	assert.Contains(t, out.String(), "connections: 60 (failed 0)")
	m := regexp.MustCompile(`lines said: (\d+) .*delivered: (\d+) `).FindStringSubmatch(out.String())
	require.NotNil(t, m)
	said, _ := strconv.Atoi(m[1])
	delivered, _ := strconv.Atoi(m[2])
	assert.Positive(t, said)
	// Each line reaches the other 19 members of its room, unless dropped.
	dropped := regexp.MustCompile(`server: stats .*dropped=(\d+)`).FindStringSubmatch(out.String())
	require.NotNil(t, dropped)
	nd, _ := strconv.Atoi(dropped[1])
	assert.Equal(t, said*19, delivered+nd)
	assert.Contains(t, out.String(), "rss_per_conn=")
}

// The server by hand: two members of a room see each other's lines, a
// third in another room does not, and /stats answers.
func TestChatProtocol(t *testing.T) {
	srv, addr, stop, err := startServer("127.0.0.1:0")
	require.NoError(t, err)
	defer stop()
	join := func(room, name string) (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "%s %s\n", room, name)
		return c, bufio.NewReader(c)
	}
	a, ar := join("lobby", "ann")
	defer a.Close()
	b, br := join("lobby", "bob")
	defer b.Close()
	c, cr := join("other", "cid")
	defer c.Close()
	for srv.conns.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // the joins reach the rooms
	fmt.Fprintln(a, "hi bob")
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "ann: hi bob\n", line)
	fmt.Fprintln(c, "/stats")
	line, err = cr.ReadString('\n')
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(line, "stats conns=3 rooms=2 said=1"), line)
	fmt.Fprintln(b, "/quit")
	_, err = br.ReadString('\n')
	assert.Error(t, err, "the server closed bob's connection")
	a.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err = ar.ReadString('\n')
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "nothing for ann")
}

func TestLoadRefusesNonLoopback(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"-load", "192.0.2.1:7000", "-conns", "1", "-duration", "1s"}, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a loopback address")
}

func TestRejectsBadFlags(t *testing.T) {
	var out bytes.Buffer
	assert.Error(t, run([]string{"-conns", "0"}, &out))
	assert.Error(t, run([]string{"-duration", "1h"}, &out))
	assert.Error(t, run([]string{"-listen", "x", "-load", "y"}, &out))
	assert.Error(t, run([]string{"-nope"}, &out))
}

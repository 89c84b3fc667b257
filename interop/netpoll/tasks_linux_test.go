package netpoll

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/costack-dev/costack/costack"
	"github.com/costack-dev/costack/interop"
)

func TestCancelledReaderLeavesConnUsable(t *testing.T) {
	checkFDs(t)
	p, err := DefaultPoller()
	require.NoError(t, err)
	c, client := pair(t, listen(t))
	s := costack.NewScheduler()
	defer s.Close()
	var unwound atomic.Bool
	reader := s.Go(func(*costack.Task) {
		defer unwound.Store(true)
		c.Read(make([]byte, 8))
		t.Error("Read returned in a cancelled task")
	})
	tickUntil(t, s, func() bool { return waiters(p) == 1 })
	reader.Cancel()
	tickUntil(t, s, reader.Done)
	assert.True(t, unwound.Load())

	// The cancelled reader left the op lock and its stale waker behind:
	// the next reader takes over from it.
	got := make(chan string, 1)
	s.Go(func(*costack.Task) {
		buf := make([]byte, 8)
		n, _ := c.Read(buf)
		got <- string(buf[:n])
	})
	s.Tick()
	_, err = client.Write([]byte("next"))
	require.NoError(t, err)
	tickUntil(t, s, func() bool { return len(got) == 1 })
	assert.Equal(t, "next", <-got)
	assert.Zero(t, waiters(p), "no waker left in the slot")

	// Likewise a cancelled writer (its peer does not read).
	writer := s.Go(func(*costack.Task) {
		buf := make([]byte, 1<<20)
		for {
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	})
	tickUntil(t, s, func() bool { return waiters(p) == 1 })
	writer.Cancel()
	tickUntil(t, s, writer.Done)
	require.NoError(t, c.SetWriteDeadline(time.Now().Add(20*time.Millisecond)))
	done := make(chan error, 1)
	s.Go(func(*costack.Task) {
		_, err := c.Write(make([]byte, 1<<20))
		done <- err
	})
	tickUntil(t, s, func() bool { return len(done) == 1 })
	assert.ErrorIs(t, <-done, os.ErrDeadlineExceeded, "the next writer got the lock and waited")
	assert.Zero(t, waiters(p))
	require.NoError(t, c.Close())
}

func TestConcurrentWritesDoNotInterleave(t *testing.T) {
	checkFDs(t)
	c, client := pair(t, listen(t))
	s := costack.NewScheduler()
	defer s.Close()
	const writers, size = 4, 256 << 10
	var done atomic.Int32
	for i := range writers {
		s.Go(func(*costack.Task) {
			defer done.Add(1)
			_, err := c.Write(bytes.Repeat([]byte{byte('a' + i)}, size))
			assert.NoError(t, err)
		})
	}
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(client, writers*size))
		got <- b
	}()
	tickUntil(t, s, func() bool { return done.Load() == writers })
	b := <-got
	require.Len(t, b, writers*size)
	seen := map[byte]bool{}
	for i := 0; i < len(b); i += size {
		run := b[i : i+size]
		assert.Equal(t, bytes.Repeat(run[:1], size), run, "write %d interleaved", i/size)
		seen[run[0]] = true
	}
	assert.Len(t, seen, writers)
}

func TestCoroutineInsideTaskBlocks(t *testing.T) {
	checkFDs(t)
	c, client := pair(t, listen(t))
	s := costack.NewScheduler()
	defer s.Close()
	var got atomic.Value
	s.Go(func(*costack.Task) {
		co := costack.New(func(y *costack.Yielder[struct{}, string], _ struct{}) string {
			if costack.CurrentTask() != nil {
				panic("a coroutine in a task is not the task")
			}
			buf := make([]byte, 8)
			n, err := c.Read(buf)
			if err != nil {
				return err.Error()
			}
			return string(buf[:n])
		})
		v, done, err := co.Resume(struct{}{})
		if !done || err != nil {
			v = fmt.Sprint("not done: ", err)
		}
		got.Store(v)
	})
	go func() {
		time.Sleep(20 * time.Millisecond)
		client.Write([]byte("inner"))
	}()
	tickUntil(t, s, func() bool { return got.Load() != nil })
	assert.Equal(t, "inner", got.Load())
}

func TestQueuedReaderBehindCancelledReader(t *testing.T) {
	onBoth(t, func(t *testing.T, s2 *costack.Scheduler) {
		checkFDs(t)
		c, client := pair(t, listen(t))
		s := costack.NewScheduler()
		defer s.Close()
		first := s.Go(func(*costack.Task) { c.Read(make([]byte, 8)) })
		s.Tick() // first waits for data, holding the read lock
		got := make(chan string, 1)
		read := func() {
			buf := make([]byte, 8)
			n, _ := c.Read(buf)
			got <- string(buf[:n])
		}
		if s2 != nil {
			s.Go(func(*costack.Task) { read() }) // a task behind it
		} else {
			go read() // a goroutine behind it
		}
		s.Tick()
		time.Sleep(5 * time.Millisecond)
		first.Cancel()
		tickUntil(t, s, first.Done)
		_, err := client.Write([]byte("yours"))
		require.NoError(t, err)
		tickUntil(t, s, func() bool { return len(got) == 1 })
		assert.Equal(t, "yours", <-got)
	})
}

func TestInsideInteropCall(t *testing.T) {
	checkFDs(t)
	c, client := pair(t, listen(t))
	s := costack.NewScheduler()
	defer s.Close()
	_, err := client.Write([]byte("x"))
	require.NoError(t, err)
	time.Sleep(10 * time.Millisecond)
	var first string
	task := s.Go(func(*costack.Task) {
		interop.Call(func() {
			buf := make([]byte, 8)
			n, _ := c.Read(buf) // data is there: no wait
			first = string(buf[:n])
			c.Read(buf) // nothing more: would wait
		})
	})
	tickUntil(t, s, task.Done)
	assert.Equal(t, "x", first)
	require.Error(t, task.Err())
	assert.Contains(t, task.Err().Error(), "interop.Call")

	// The panic did not leave the connection locked.
	got := make(chan string, 1)
	s.Go(func(*costack.Task) {
		buf := make([]byte, 8)
		n, _ := c.Read(buf)
		got <- string(buf[:n])
	})
	s.Tick()
	_, err = client.Write([]byte("y"))
	require.NoError(t, err)
	tickUntil(t, s, func() bool { return len(got) == 1 })
	assert.Equal(t, "y", <-got)
}

func TestQueuedReaderCancelledAfterItsWake(t *testing.T) {
	checkFDs(t)
	c, client := pair(t, listen(t))
	s := costack.NewScheduler()
	defer s.Close()
	read := func(got chan<- string) func(*costack.Task) {
		return func(*costack.Task) {
			buf := make([]byte, 8)
			n, _ := c.Read(buf)
			got <- string(buf[:n])
		}
	}
	gotA, gotB, gotC := make(chan string, 1), make(chan string, 1), make(chan string, 1)
	a := s.Go(read(gotA))
	s.Tick() // a waits for data, holding the read lock
	b := s.Go(read(gotB))
	s.Go(read(gotC))
	s.Tick() // b and c queue for the lock
	_, err := client.Write([]byte("a"))
	require.NoError(t, err)
	tickUntil(t, s, a.Done) // a read and unlocked: b (at least) is woken
	b.Cancel()              // before it runs
	tickUntil(t, s, b.Done)
	_, err = client.Write([]byte("c"))
	require.NoError(t, err)
	tickUntil(t, s, func() bool { return len(gotC) == 1 })
	assert.Equal(t, "a", <-gotA)
	assert.Equal(t, "c", <-gotC)
	assert.Empty(t, gotB)
}

package netpoll

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/costack-dev/costack/costack"
)

// runServer serves ln with h on a scheduler driven by Run, sleeping in p
// (or in the default source if p is nil), with the given workers. It
// returns a function that stops Run and closes everything.
func runServer(t *testing.T, p *Poller, ln *Listener, workers int, h Handler) (s *costack.Scheduler, stop func()) {
	t.Helper()
	opts := []costack.SchedulerOption{costack.Workers(workers)}
	if p != nil {
		opts = append(opts, costack.WithEventSource(p))
	}
	s = costack.NewScheduler(opts...)
	Serve(s, ln, h)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				assert.ErrorIs(t, err, context.Canceled)
			case <-time.After(testTimeout):
				t.Fatal("Run did not return")
			}
			ln.Close()
			s.Close()
		})
	}
	t.Cleanup(stop)
	return s, stop
}

// echoClients runs n clients that each send lines and check the echoes.
func echoClients(t *testing.T, addr string, n, lines int) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if !assert.NoError(t, err) {
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(testTimeout))
			r := bufio.NewReader(c)
			for j := range lines {
				want := fmt.Sprintf("%d/%d\n", i, j)
				if _, err := io.WriteString(c, want); !assert.NoError(t, err) {
					return
				}
				got, err := r.ReadString('\n')
				if !assert.NoError(t, err) || !assert.Equal(t, want, got) {
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestRunSleepsInThePoller(t *testing.T) {
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprint("workers=", workers), func(t *testing.T) {
			checkFDs(t)
			p := newPoller(t)
			ln := listenOn(t, p)
			_, stop := runServer(t, p, ln, workers, echoLines)
			echoClients(t, ln.Addr().String(), 20, 20)
			st := p.Stats()
			assert.Positive(t, st.WokenByWait, "Run's goroutine woke tasks from epoll_wait")
			t.Logf("woken by Wait %d, by the poller's goroutine %d", st.WokenByWait, st.WokenByOwn)
			stop()
		})
	}
}

// With the default event source, Run gets its wakes from the poller's
// goroutine (through Interrupt).
func TestRunWithTheDefaultSource(t *testing.T) {
	checkFDs(t)
	ln := listen(t)
	_, stop := runServer(t, nil, ln, 1, echoLines)
	echoClients(t, ln.Addr().String(), 10, 10)
	stop()
}

// A server whose handlers keep Run busy (a task that yields every frame)
// never lets Run sleep: the poller's goroutine must take over, or the
// connections starve.
func TestBusyRunDoesNotStarveConnections(t *testing.T) {
	checkFDs(t)
	p := newPoller(t)
	ln := listenOn(t, p)
	s, stop := runServer(t, p, ln, 1, echoLines)
	for !p.inWait.Load() { // Run has gone to sleep in the poller once
		time.Sleep(time.Millisecond)
	}
	spin := make(chan struct{})
	s.Go(func(t *costack.Task) {
		for {
			select {
			case <-spin:
				return
			default:
				t.Yield()
			}
		}
	})
	echoClients(t, ln.Addr().String(), 5, 10)
	assert.Positive(t, p.Stats().WokenByOwn)
	close(spin)
	stop()
}

// runInBackground runs s.Run in a goroutine; stop cancels it and waits.
func runInBackground(s *costack.Scheduler) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

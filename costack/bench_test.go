package costack

import (
	"iter"
	"testing"
)

//go:noinline
func yieldAtDepth(y *Yielder[int, int], depth, v int) int {
	if depth > 1 {
		return yieldAtDepth(y, depth-1, v)
	}
	return y.Yield(v)
}

func benchmarkResumeYield(b *testing.B, depth int) {
	c := New(func(y *Yielder[int, int], in int) int {
		for {
			in = yieldAtDepth(y, depth, in+1)
		}
	})
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.Resume(1); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_ = c.Close()
}

// BenchmarkResumeYield measures one Resume+Yield round trip with the body
// yielding 2 calls deep; compare with BenchmarkIterPull and BenchmarkChannel.
func BenchmarkResumeYield(b *testing.B) { benchmarkResumeYield(b, 2) }

// BenchmarkResumeYieldDeep10 is the round trip with a 10-deep yield.
func BenchmarkResumeYieldDeep10(b *testing.B) { benchmarkResumeYield(b, 10) }

// BenchmarkIterPull is the baseline: one next+yield round trip of iter.Pull.
func BenchmarkIterPull(b *testing.B) {
	next, stop := iter.Pull(func(yield func(int) bool) {
		for i := 0; yield(i); i++ {
		}
	})
	defer stop()
	b.ReportAllocs()
	for b.Loop() {
		next()
	}
}

// BenchmarkPull is costack.Pull on the same sequence.
func BenchmarkPull(b *testing.B) {
	next, stop := Pull(func(yield func(int) bool) {
		for i := 0; yield(i); i++ {
		}
	})
	defer stop()
	b.ReportAllocs()
	for b.Loop() {
		next()
	}
}

// BenchmarkChannel is the baseline of a goroutine and two unbuffered
// channels playing ping-pong.
func BenchmarkChannel(b *testing.B) {
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
		close(pong)
	}()
	b.ReportAllocs()
	for b.Loop() {
		ping <- 1
		<-pong
	}
	close(ping)
	<-pong
}

//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package engine

import (
	"iter"
	"testing"
)

// Round trips: one Resume and one Yield. "2deep" yields two calls below the
// body; "reloc" resumes alternately from two depths, so that every resume
// relocates the image; baselines: iter.Pull and a channel ping-pong.

func benchRoundTrip(b *testing.B, k Kind, depth int, reloc bool) {
	if k == Native {
		needNative(b)
	}
	var c *Coroutine
	c, err := NewOn(k, func() {
		for {
			yieldAt(c, depth-1)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	c.Resume()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if reloc {
			resumeAt(c, i&1)
		} else {
			resumeAt(c, 0)
		}
	}
	b.StopTimer()
	c.Close()
}

func BenchmarkNative2Deep(b *testing.B)       { benchRoundTrip(b, Native, 2, false) }
func BenchmarkNative2DeepReloc(b *testing.B)  { benchRoundTrip(b, Native, 2, true) }
func BenchmarkNative10Deep(b *testing.B)      { benchRoundTrip(b, Native, 10, false) }
func BenchmarkNative10DeepReloc(b *testing.B) { benchRoundTrip(b, Native, 10, true) }
func BenchmarkPortable2Deep(b *testing.B)     { benchRoundTrip(b, Portable, 2, false) }

//go:noinline
func pullAt(next func() (int, bool), depth int) {
	if depth > 0 {
		pullAt(next, depth-1)
		return
	}
	next()
}

//go:noinline
func seqYieldAt(yield func(int) bool, d int) bool {
	if d > 0 {
		return seqYieldAt(yield, d-1)
	}
	return yield(d)
}

func BenchmarkIterPull2Deep(b *testing.B) {
	next, stop := iter.Pull(func(yield func(int) bool) {
		for seqYieldAt(yield, 1) {
		}
	})
	defer stop()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pullAt(next, 0)
	}
}

func BenchmarkChannelPingPong(b *testing.B) {
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
		close(pong)
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ping <- i
		<-pong
	}
	b.StopTimer()
	close(ping)
	<-pong
}

package netpoll

import (
	"io"
	"log"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newLogger returns a logger writing to w under mu.
func newLogger(w io.Writer, mu *sync.Mutex) *log.Logger {
	return log.New(lockedWriter{w, mu}, "", 0)
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

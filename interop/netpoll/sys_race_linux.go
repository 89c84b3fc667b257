//go:build race

package netpoll

import "golang.org/x/sys/unix"

// With the race detector, reads and writes go through unix.Read and
// unix.Write, which tell it about the buffer and order the I/O (see
// sys_linux.go for the others).
func sysRead(fd int, p []byte) (int, error) { return unix.Read(fd, p) }

func sysWrite(fd int, p []byte) (int, error) { return unix.Write(fd, p) }

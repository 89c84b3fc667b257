//go:build !race

package netpoll

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysRead and sysWrite are read(2) and write(2) on a non-blocking socket,
// made without telling the runtime (unix.RawSyscall): they never block,
// so the runtime need not be ready to hand the P on. Through unix.Read and
// unix.Write, a server making one syscall after another on one goroutine
// (Scheduler.Run's) kept the runtime's monitor retaking its P, waking
// every 20 µs and making threads switch: netbench echo, server context
// switches per round trip 0.12-0.14 with them, 0.04-0.09 without, and 7-9%
// more round trips. With the race detector, unix.Read and unix.Write are
// used instead, for their annotations (sys_race_linux.go).
func sysRead(fd int, p []byte) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

func sysWrite(fd int, p []byte) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

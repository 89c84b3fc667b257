package netpoll

import (
	"io"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/costack-dev/costack/costack"
)

// The calls of a descriptor that make its syscalls: Read, Write, Accept
// (fd_linux.go has the descriptor's state, its op locks and its waits).

// read is one Read: at most len(p) bytes, waiting until some are there.
//
// It is one frame from Conn.Read (inlined) to the task's Wait (the wait
// written out, the syscall and the error wrapping in readOnce, the fewest
// locals: 96 bytes): each suspended reader's image holds it. The unlock
// is deferred, though it costs the frame 32 bytes: a panic out of the wait (a wait
// refused inside interop.Call, or by the engine) or a task closed while it
// waits must not leave the direction locked.
func (c *Conn) read(p []byte) (int, error) {
	drained, err := c.fd.lock(modeRead)
	if err != nil {
		return 0, c.readError(err)
	}
	defer c.fd.unlock(modeRead)
	for {
		// Unless the last read emptied the queue and no edge came
		// since (then wait for one: an edge still in the epoll
		// instance, unharvested, wakes the wait at once).
		if !drained {
			if n, err := c.readOnce(unsafe.SliceData(p), len(p)); n >= 0 {
				return n, err
			}
		}
		drained = false
		if t := costack.CurrentTask(); t != nil {
			t.Wait((*readWaiter)(&c.fd))
		} else {
			c.fd.waitGoroutine(modeRead)
		}
		if err := c.fd.waitErr(modeRead); err != nil {
			return 0, c.readError(err)
		}
	}
}

// readError wraps a read's error: a call with fewer arguments than
// opError's (a smaller spill area in read's frame).
//
//go:noinline
func (c *Conn) readError(err error) error { return c.opError("read", err) }

// readOnce is read's syscall: the count and error to return, or -1 when
// the socket has nothing yet (EAGAIN). It is a frame of its own (never
// inlined) so that its locals are not in the image of a waiting reader,
// and takes the buffer as pointer and length: three words of arguments,
// not four, make the spill area in read's frame 8 bytes smaller.
//
//go:noinline
func (c *Conn) readOnce(ptr *byte, n int) (int, error) {
	d := &c.fd
	p := unsafe.Slice(ptr, min(n, maxRW))
	for {
		if !d.incref() {
			return 0, c.opError("read", errClosed)
		}
		n, err := sysRead(int(d.sysfd), p)
		d.decref()
		switch err {
		case nil:
			if n == 0 && len(p) > 0 {
				return 0, io.EOF
			}
			if n < len(p) {
				d.markDrained()
			}
			return n, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return -1, nil
		default:
			return 0, c.opError("read", os.NewSyscallError("read", err))
		}
	}
}

// write is one Write: all of p, or an error with the count written. Like
// read, it is one frame down to the wait.
func (c *Conn) write(p []byte) (int, error) {
	d := &c.fd
	if _, err := d.lock(modeWrite); err != nil {
		return 0, c.opError("write", err)
	}
	defer d.unlock(modeWrite)
	nn := 0
	for {
		end := min(len(p), nn+maxRW)
		if !d.incref() {
			return nn, c.opError("write", errClosed)
		}
		n, err := sysWrite(int(d.sysfd), p[nn:end])
		d.decref()
		if n > 0 {
			nn += n
		}
		if nn == len(p) {
			return nn, nil
		}
		switch err {
		case nil:
			if n == 0 {
				return nn, c.opError("write", io.ErrUnexpectedEOF)
			}
			continue
		case unix.EINTR:
			continue
		case unix.EAGAIN:
		default:
			return nn, c.opError("write", os.NewSyscallError("write", err))
		}
		if t := costack.CurrentTask(); t != nil {
			t.Wait((*writeWaiter)(d))
		} else {
			d.waitGoroutine(modeWrite)
		}
		if err := d.waitErr(modeWrite); err != nil {
			return nn, c.opError("write", err)
		}
	}
}

// accept is one Accept: a new non-blocking, close-on-exec connection fd
// and its peer's address.
func (d *fdesc) accept() (int, unix.Sockaddr, error) {
	if _, err := d.lock(modeRead); err != nil {
		return -1, nil, err
	}
	defer d.unlock(modeRead)
	for {
		if !d.incref() {
			return -1, nil, errClosed
		}
		nfd, sa, err := unix.Accept4(int(d.sysfd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		d.decref()
		switch err {
		case nil:
			return nfd, sa, nil
		case unix.EINTR, unix.ECONNABORTED:
			// The peer went away before we took it: take the next one.
		case unix.EAGAIN:
			if err := d.wait(modeRead); err != nil {
				return -1, nil, err
			}
		default:
			return -1, nil, os.NewSyscallError("accept4", err)
		}
	}
}

// control runs fn with the fd, unless the descriptor is closed.
func (d *fdesc) control(fn func(fd int) error) error {
	if !d.incref() {
		return errClosed
	}
	defer d.decref()
	return fn(int(d.sysfd))
}

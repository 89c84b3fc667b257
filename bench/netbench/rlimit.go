package main

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// raiseFDLimit raises RLIMIT_NOFILE to at least want descriptors if it
// can: the soft limit up to the hard one, and the hard one too where the
// process may (root, CAP_SYS_RESOURCE; never above fs.nr_open). It returns
// what it did, in words, and the error if the limit stays below want.
func raiseFDLimit(want uint64) (string, error) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return "", err
	}
	if lim.Cur >= want {
		return fmt.Sprintf("RLIMIT_NOFILE %d (enough already)", lim.Cur), nil
	}
	was := lim
	if lim.Max < want {
		raised := unix.Rlimit{Cur: want, Max: want}
		if unix.Setrlimit(unix.RLIMIT_NOFILE, &raised) == nil {
			return fmt.Sprintf("RLIMIT_NOFILE raised with setrlimit from %d (hard %d) to %d", was.Cur, was.Max, want), nil
		}
	}
	lim.Cur = min(lim.Max, want)
	if lim.Cur != was.Cur {
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
			return "", err
		}
	}
	msg := fmt.Sprintf("RLIMIT_NOFILE raised with setrlimit from %d to %d", was.Cur, lim.Cur)
	if lim.Cur == was.Cur {
		msg = fmt.Sprintf("RLIMIT_NOFILE %d, the hard limit", lim.Cur)
	}
	if lim.Cur < want {
		return msg, fmt.Errorf("%s: below the %d needed, and the hard limit cannot be raised (that needs CAP_SYS_RESOURCE)", msg, want)
	}
	return msg, nil
}

// fdLimit reports the current soft RLIMIT_NOFILE.
func fdLimit() uint64 {
	var lim unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &lim)
	return lim.Cur
}

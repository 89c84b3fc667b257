package costack

// The values of the differential tests (see difftest_test.go): what crosses
// a yield, what bodies panic with, and how the trace shows them.

import (
	"errors"
	"fmt"
	"strconv"
)

// payload is the Out type: a value with pointers of several kinds, so that
// values crossing a yield are seen by the GC in transit.
type payload struct {
	N  int
	S  string
	P  *int
	Xs []int
	M  map[string]int
	I  any
}

func mkPayload(n int) payload {
	p := new(int)
	*p = n * 7
	var i any = strconv.Itoa(n)
	if n%2 == 0 {
		i = float64(n) / 2
	}
	return payload{N: n, S: "s" + strconv.Itoa(n), P: p, Xs: []int{n, n + 1, n + 2}, M: map[string]int{"k": n}, I: i}
}

func (p payload) String() string {
	if p.P == nil {
		return fmt.Sprintf("{%d %q nil %v %v %v}", p.N, p.S, p.Xs, p.M, p.I)
	}
	return fmt.Sprintf("{%d %q %d %v %v %v}", p.N, p.S, *p.P, p.Xs, p.M, p.I)
}

type diffPanic struct{ n int }

var errDiffSentinel = errors.New("sentinel")

func panicValue(n int) any {
	switch n % 4 {
	case 0:
		return n
	case 1:
		return "boom" + strconv.Itoa(n)
	case 2:
		return fmt.Errorf("err%d: %w", n, errDiffSentinel)
	default:
		return diffPanic{n}
	}
}

func showValue(v any) string {
	if err, ok := v.(error); ok {
		return fmt.Sprintf("%T(%v is-sentinel=%v)", v, err, errors.Is(err, errDiffSentinel))
	}
	return fmt.Sprintf("%T(%v)", v, v)
}

func showErr(err error) string {
	var pe *PanicError
	switch {
	case err == nil:
		return "nil"
	case err == ErrDead:
		return "ErrDead"
	case err == ErrRunning:
		return "ErrRunning"
	case errors.As(err, &pe):
		return fmt.Sprintf("PanicError(%s unwrap-sentinel=%v)", showValue(pe.Value), errors.Is(err, errDiffSentinel))
	}
	return fmt.Sprintf("%T(%v)", err, err)
}

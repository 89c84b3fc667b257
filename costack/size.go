package costack

import "unsafe"

func sizeofState[In, Out any]() int {
	var s state[In, Out]
	return int(unsafe.Sizeof(s)) + int(unsafe.Sizeof(Coroutine[In, Out]{}))
}

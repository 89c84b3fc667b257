//go:build !(go1.26 && !go1.28 && !wasm)

package engine

import (
	"errors"
	"runtime"
)

// Where the runtime's coro has not been read (other Go versions) the
// portable engine leaves the runtime's thread-lock rule in force (see
// portable_lock.go). On wasm there are no threads to lock.

type runtimeCoro struct{}

func coroOf(func() (struct{}, bool)) *runtimeCoro { return nil }

// lockState is always the zero value: no lock is followed.
type lockState struct{ internal uint32 }

func lockOf() lockState { return lockState{} }

func syncLock(*runtimeCoro) {}

func recordState(*runtimeCoro, lockState) {}

func portableLocks() error {
	if runtime.GOARCH == "wasm" {
		return nil
	}
	return errors.New("not built for " + runtime.Version())
}

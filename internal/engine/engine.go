package engine

import (
	"os"
	"runtime"
	"sync"
)

// Kind names an engine implementation.
type Kind uint8

const (
	// Portable is the engine built on the runtime's coroutine switch.
	Portable Kind = iota
	// Native is the shared-stack copying engine.
	Native
)

func (k Kind) String() string {
	if k == Native {
		return "native"
	}
	return "portable"
}

// engine is one implementation, as registered by its platform files.
type engine struct {
	kind Kind
	// detail, if set, is added to the platform in Engine().
	detail string
	// probe validates every assumption the engine makes about the running
	// program. It runs once, at first use; a non-nil error means the engine
	// must not be used and says why.
	probe func() error
}

// nativeEngine is set by the init of a platform file that has a native
// implementation; nativeUnavailable explains its absence otherwise.
var (
	nativeEngine      *engine
	nativeUnavailable = "no native implementation for " + runtime.GOOS + "/" + runtime.GOARCH
)

var portableEngine = &engine{kind: Portable}

type selection struct {
	active    *engine
	desc      string
	nativeErr error
}

var selectOnce = sync.OnceValue(selectEngine)

// platform names what the engine decision depends on, for Engine().
var platform = runtime.GOOS + "/" + runtime.GOARCH + " " + runtime.Version()

// selectEngine is the one place where the engine is chosen.
func selectEngine() selection {
	var nativeErr error
	if nativeEngine == nil {
		nativeErr = unavailableError(nativeUnavailable)
	} else {
		// The probe runs on a goroutine of its own: what it checks must
		// not depend on the caller's frames (a caller with pending defer
		// records, say, would make it fail for the whole process).
		done := make(chan error)
		go func() { done <- nativeEngine.probe() }()
		nativeErr = <-done
	}
	want := os.Getenv("COSTACK_ENGINE")
	switch {
	case want == "portable":
		return selection{portableEngine, "portable (" + platform + "; COSTACK_ENGINE=portable)", nativeErr}
	case nativeErr == nil && (want == "" || want == "native"):
		desc := "native (" + platform
		if nativeEngine.detail != "" {
			desc += "; " + nativeEngine.detail
		}
		return selection{nativeEngine, desc + ")", nil}
	case want != "" && want != "native":
		return selection{portableEngine, "portable (" + platform + "; unknown COSTACK_ENGINE=" + want + "; native: " + describe(nativeErr) + ")", nativeErr}
	default:
		return selection{portableEngine, "portable (" + platform + "; " + nativeErr.Error() + ")", nativeErr}
	}
}

func describe(err error) string {
	if err == nil {
		return "available"
	}
	return err.Error()
}

type unavailableError string

func (e unavailableError) Error() string { return string(e) }

// Engine describes the engine new coroutines use: it begins with "native" or
// "portable", followed in parentheses by the platform and Go version and, for
// the portable engine, why it was chosen, e.g.
// "portable (linux/amd64 go1.26.8; race detector)".
func Engine() string { return selectOnce().desc }

// Default returns the kind of engine New uses.
func Default() Kind { return selectOnce().active.kind }

// Available reports whether an engine kind can be used in this process, and
// if not, why.
func Available(k Kind) error {
	if k == Portable {
		return nil
	}
	return selectOnce().nativeErr
}

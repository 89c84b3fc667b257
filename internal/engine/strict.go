package engine

import (
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
)

// Strict mode: the portable engine refuses every yield the native engine
// refuses (refusal.go), with the same panic, so that tests run under the
// race detector, with -gcflags=all=-N -l or on another platform (all of
// which run the portable engine) fail where a release build would. It
// costs a walk of the body's frames on every yield.
//
// On the portable engine the body has a goroutine of its own, so that
// goroutine's whole stack, its panics and its defer records are the
// coroutine's: what the native engine judges in the region it copies,
// strict mode judges on the body's goroutine. Where internal/rt mirrors
// the runtime's g (linux on amd64 and arm64, Go 1.26 and 1.27, also under
// -race) every check is exact: the frames are walked physically, by frame
// pointer, as the native engine sees them; a panic or a deferred call run
// by the runtime is g._panic; a range-over-func defer is a record on
// g._defer. Elsewhere the frames are runtime.Callers', which hides
// wrapper frames (reflect.MakeFunc's) and the runtime's deferreturn, and
// the defer records cannot be read: strict mode there refuses reflect.Call
// frames, cgo frames and deferred calls run by a panic or runtime.Goexit,
// and lets the rest through.

// strictMode is set from COSTACK_STRICT at start-up and by SetStrict.
var strictMode atomic.Bool

func init() { strictMode.Store(strictFromEnv(os.Getenv("COSTACK_STRICT"))) }

// strictFromEnv reads COSTACK_STRICT: unset, empty or false (as
// strconv.ParseBool reads it: 0, f, false...) is off; anything else is on,
// so that a value meant to turn it on never leaves it off.
func strictFromEnv(v string) bool {
	if v == "" {
		return false
	}
	on, err := strconv.ParseBool(v)
	return on || err != nil
}

// SetStrict turns strict mode on or off for the whole process: with it on,
// the portable engine refuses, with the native engine's panic, every yield
// that the native engine refuses, so that tests on the portable engine
// (every -race build) fail where a release build would. It is meant for a
// test binary's TestMain, before any coroutine runs, or the environment
// variable COSTACK_STRICT=1 does the same; it changes nothing on the
// native engine, and yields already suspended are not judged again.
func SetStrict(on bool) { strictMode.Store(on) }

// Strict reports whether strict mode is on.
func Strict() bool { return strictMode.Load() }

func strictOn() bool { return strictMode.Load() }

// strictCheck panics with the native engine's refusal if the yield being
// made on the calling goroutine (the body's, on the portable engine) is
// one the native engine would refuse. The checks run in the native
// engine's order (yieldPrepare): the size of the frames, a panic in
// progress, the pending defer records, then each frame.
func strictCheck() {
	if why := strictG(); why != "" {
		panic(why)
	}
	if why := strictFrames(); why != "" {
		panic(why)
	}
}

// The engine's frames that a yield adds below the body's on the portable
// engine (strict mode's own, the switch's), and run, the bottom frame of
// every coroutine (the native engine's entry frame): the body's frames are
// those in between.
const enginePkg = "github.com/costack-dev/costack/internal/engine."

var switchFrames = map[string]bool{
	enginePkg + "framePCs":                   true,
	enginePkg + "callerNames":                true,
	enginePkg + "strictFrames":               true,
	enginePkg + "strictFramesByCallers":      true,
	enginePkg + "strictCheck":                true,
	enginePkg + "(*portable).suspend":        true,
	enginePkg + "portableSuspend":            true,
	enginePkg + "yieldSwitch":                true,
	enginePkg + "YieldOrUnwind":              true,
	enginePkg + "(*Coroutine).Yield":         true,
	enginePkg + "(*Coroutine).YieldOrUnwind": true,
	enginePkg + "(*Coroutine).yieldOrUnwind": true,
}

const runName = enginePkg + "run"

// bodyFrames returns where the body's frames are, [start, end), given the
// names of the frames from the innermost outwards: between the engine's
// switch and run. ok is false if run is not among them.
func bodyFrames(names []string) (start, end int, ok bool) {
	for start < len(names) && switchFrames[names[start]] {
		start++
	}
	for end = start; end < len(names); end++ {
		if names[end] == runName {
			return start, end, true
		}
	}
	return 0, 0, false
}

// bodyFrameNames returns the names of the body's frames (bodyFrames).
func bodyFrameNames(names []string) []string {
	start, end, _ := bodyFrames(names)
	return names[start:end]
}

// physicalName names the function whose code contains the return address
// pc: the physical frame's function, not one inlined into it at pc (which
// is what runtime.FuncForPC(pc-1) names), as the native engine judges.
func physicalName(pc uintptr) string {
	f := runtime.FuncForPC(pc - 1)
	if f == nil {
		return "?"
	}
	if g := runtime.FuncForPC(f.Entry()); g != nil {
		return g.Name()
	}
	return f.Name()
}

// refusalOfFrames returns the refusal of a yield across the named body
// frames, judged by name, or "".
func refusalOfFrames(names []string) string {
	for _, n := range names {
		if why := refusalByName(n); why != "" {
			return why
		}
	}
	return ""
}

// callerNames returns the names of the physical functions of the frames
// above its caller, by runtime.Callers (which hides wrapper frames; an
// inlined call is named by the function it is inlined into).
func callerNames() []string {
	pcs := make([]uintptr, 64)
	for {
		n := runtime.Callers(2, pcs)
		if n < len(pcs) {
			pcs = pcs[:n]
			break
		}
		pcs = make([]uintptr, 2*len(pcs))
	}
	names := make([]string, len(pcs))
	for i, pc := range pcs {
		names[i] = physicalName(pc)
	}
	return names
}

// Panicking, judged by name where g._panic cannot be read: a deferred call
// run by a panic or by runtime.Goexit has that runtime function as its
// caller frame.
func panickingByName(names []string) bool {
	for _, n := range names {
		if n == "runtime.gopanic" || n == "runtime.Goexit" {
			return true
		}
	}
	return false
}

// strictFramesByCallers judges the body by runtime.Callers' frames: a
// panic or runtime.Goexit running the yield's deferred call, and the
// frames refused by name.
func strictFramesByCallers() string {
	body := bodyFrameNames(callerNames())
	if panickingByName(body) {
		return msgPanicking
	}
	return refusalOfFrames(body)
}

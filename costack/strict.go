package costack

import "github.com/costack-dev/costack/internal/engine"

// SetStrict turns strict mode on or off for the whole process. In strict
// mode the portable engine refuses every yield that the native engine
// refuses (see "Refusals" in the package documentation), with the native
// engine's panic, instead of yielding: tests, which run the portable
// engine under -race, with -gcflags=all=-N -l and on platforms without the
// native engine, then fail where a release build would. It costs a walk of
// the body's frames on every yield, so it is the setting for tests, not
// for production. Turn it on in a test binary's TestMain, before any
// coroutine runs:
//
//	func TestMain(m *testing.M) {
//		costack.SetStrict(true)
//		os.Exit(m.Run())
//	}
//
// or set COSTACK_STRICT=1 in the environment, which does the same at
// start-up. It changes nothing on the native engine.
func SetStrict(on bool) { engine.SetStrict(on) }

// Strict reports whether strict mode is on.
func Strict() bool { return engine.Strict() }

package engine

// Strict mode (strict.go): the portable engine refuses exactly what the
// native engine refuses, with the same panic. Each case runs on every
// engine; the native engine refuses whether strict mode is on or not.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withStrict runs f with strict mode set to on, and restores it.
func withStrict(t *testing.T, on bool, f func()) {
	t.Helper()
	was := Strict()
	SetStrict(on)
	defer SetStrict(was)
	f()
}

// strictRefusals are yields the native engine refuses, each with the
// message it refuses them with (a prefix: some name the frame).
var strictRefusals = []struct {
	name, want string
	body       func(c *Coroutine)
}{
	{"DeferredCallDuringPanic", msgPanicking, func(c *Coroutine) {
		defer func() { c.Yield() }()
		panic("first")
	}},
	{"DeferredCallDuringPanicAfterRecover", msgPanicking, func(c *Coroutine) {
		defer func() {
			recover()
			c.Yield()
		}()
		panic("first")
	}},
	{"ReflectCall", msgReflect, func(c *Coroutine) {
		reflect.ValueOf(func() { c.Yield() }).Call(nil)
	}},
	{"ReflectMakeFunc", msgReflect, func(c *Coroutine) {
		var f func()
		reflect.ValueOf(&f).Elem().Set(reflect.MakeFunc(reflect.TypeOf(f), func([]reflect.Value) []reflect.Value {
			c.Yield()
			return nil
		}))
		f()
	}},
	{"RangeFuncDefer", msgRangeFuncDefer, func(c *Coroutine) {
		for range func(yield func(int) bool) { yield(0) } {
			defer func() {}()
			c.Yield()
		}
	}},
}

// strictExact reports whether strict mode judges exactly on this platform
// (rt's goroutine mirror); by runtime.Callers' frames otherwise, which
// miss some of the cases above.
func strictExact() bool {
	return runtime.GOOS == "linux" && (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64") &&
		(strings.HasPrefix(runtime.Version(), "go1.26") || strings.HasPrefix(runtime.Version(), "go1.27"))
}

func TestStrictRefusesWhatNativeRefuses(t *testing.T) {
	for _, k := range kinds() {
		for _, tc := range strictRefusals {
			t.Run(k.String()+"/"+tc.name, func(t *testing.T) {
				withStrict(t, true, func() {
					var c *Coroutine
					c, err := NewOn(k, func() { tc.body(c) })
					require.NoError(t, err)
					o, p := c.Resume()
					if k == Portable && !strictExact() && (tc.name == "ReflectMakeFunc" || tc.name == "RangeFuncDefer") {
						t.Skip("strict mode judges by runtime.Callers here, which cannot see this case")
					}
					require.Equal(t, Panicked, o, "the yield must be refused")
					require.NotNil(t, p)
					assert.True(t, strings.HasPrefix(p.Value.(string), tc.want), "refused with %q, want %q", p.Value, tc.want)
					assert.True(t, c.Finished())
				})
			})
		}
	}
}

// Without strict mode the portable engine yields in every one of those
// cases, and the body goes on when resumed.
func TestPortableWithoutStrictYields(t *testing.T) {
	for _, tc := range strictRefusals {
		t.Run(tc.name, func(t *testing.T) {
			withStrict(t, false, func() {
				var c *Coroutine
				c, err := NewOn(Portable, func() {
					defer func() { _ = recover() }() // the panicking cases' panic
					tc.body(c)
				})
				require.NoError(t, err)
				o, _ := c.Resume()
				require.Equal(t, Yielded, o)
				o, p := c.Resume()
				require.Nil(t, p)
				require.Equal(t, Returned, o)
			})
		})
	}
}

// A yield in a deferred call during runtime.Goexit: refused as a panic
// during the exit, which the engine recovers at the bottom of the body, so
// the exit goes on in the resumer without a word, on both engines.
func TestStrictRefusesYieldDuringGoexit(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.String(), func(t *testing.T) {
			withStrict(t, true, func() {
				var c *Coroutine
				var yieldPanic any
				c, err := NewOn(k, func() {
					defer func() {
						defer func() { yieldPanic = recover() }()
						c.Yield()
					}()
					runtime.Goexit()
				})
				require.NoError(t, err)
				returned := make(chan bool)
				go func() {
					ok := false
					defer func() { returned <- ok }()
					c.Resume()
					ok = true
				}()
				assert.False(t, <-returned, "the exit goes on in the resumer")
				assert.True(t, c.Finished())
				require.NotNil(t, yieldPanic, "the yield is refused")
				assert.True(t, strings.HasPrefix(yieldPanic.(string), msgPanicking), "%v", yieldPanic)
			})
		})
	}
}

// What the native engine supports, strict mode lets through: deferred
// calls run at a normal return (open-coded, or by runtime.deferreturn),
// loop defers pending across the yield, a
// panic in progress outside the coroutine (in its resumer), a recovered
// panic, nested coroutines.
func TestStrictAllowsWhatNativeAllows(t *testing.T) {
	cases := map[string]func(c *Coroutine){
		"OpenCodedDeferOnReturn": func(c *Coroutine) {
			func() {
				defer func() { c.Yield() }()
			}()
		},
		"DeferredCallRunByDeferreturn": func(c *Coroutine) {
			// A defer in a loop is not open-coded: runtime.deferreturn
			// runs it at the return, with a _panic of its own that it does
			// not link into g._panic (Go 1.26, 1.27).
			for range 1 {
				defer func() { c.Yield() }()
			}
		},
		"PendingLoopDefers": func(c *Coroutine) {
			for range 3 {
				defer func() {}()
			}
			c.Yield()
		},
		"AfterRecoveredPanic": func(c *Coroutine) {
			func() {
				defer func() { recover() }()
				panic("done with")
			}()
			c.Yield()
		},
		"RangeFuncWithoutDefer": func(c *Coroutine) {
			for range func(yield func(int) bool) { yield(0) } {
				c.Yield()
			}
		},
	}
	for _, k := range kinds() {
		for name, body := range cases {
			t.Run(k.String()+"/"+name, func(t *testing.T) {
				withStrict(t, true, func() {
					var c *Coroutine
					c, err := NewOn(k, func() { body(c) })
					require.NoError(t, err)
					o, p := c.Resume()
					require.Nil(t, p)
					require.Equal(t, Yielded, o)
					o, p = c.Resume()
					require.Nil(t, p)
					require.Equal(t, Returned, o)
				})
			})
		}
	}
	t.Run("ResumedDuringResumersPanic", func(t *testing.T) {
		for _, k := range kinds() {
			withStrict(t, true, func() {
				var c *Coroutine
				c, err := NewOn(k, func() { c.Yield() })
				require.NoError(t, err)
				func() {
					defer func() {
						r := recover()
						o, p := c.Resume()
						assert.Nil(t, p, "%v", k)
						assert.Equal(t, Yielded, o, "%v", k)
						assert.Equal(t, "resumer", r)
					}()
					panic("resumer")
				}()
				o, _ := c.Resume()
				assert.Equal(t, Returned, o)
			})
		}
	})
}

func TestStrictProbe(t *testing.T) {
	if !strictExact() {
		t.Skip("no rt goroutine mirror on ", runtime.GOOS, "/", runtime.GOARCH, " ", runtime.Version())
	}
	assert.True(t, strictMirror(), "strict mode's goroutine mirror must check out here")
}

func TestStrictFromEnv(t *testing.T) {
	for v, want := range map[string]bool{"": false, "0": false, "false": false, "1": true, "true": true, "yes": true, "on": true} {
		assert.Equal(t, want, strictFromEnv(v), "COSTACK_STRICT=%q", v)
	}
}

// COSTACK_STRICT=1 in the environment turns strict mode on at start-up:
// checked in a child process.
func TestStrictEnvTurnsItOn(t *testing.T) {
	if os.Getenv("COSTACK_STRICT_CHILD") != "" {
		fmt.Println("STRICT", Strict())
		return
	}
	for v, want := range map[string]string{"1": "STRICT true", "0": "STRICT false"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestStrictEnvTurnsItOn$")
		cmd.Env = append(os.Environ(), "COSTACK_STRICT_CHILD=1", "COSTACK_STRICT="+v)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			// Not started: under qemu-user without binfmt_misc, say.
			t.Skip("cannot re-execute the test binary: ", err)
		}
		require.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), want, "COSTACK_STRICT=%s", v)
	}
}

//go:build go1.26 && !go1.28 && !wasm

package engine

// Thread locking across switches (portable_lock.go), on every engine: lock
// state follows control. These are the regression tests of issue 16's
// first finding: each of them ended the program on the portable engine
// ("coro: OS thread locking must match locking at coroutine creation")
// before the engine synced the runtime's coro.

import (
	"debug/dwarf"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// onFreshGoroutine runs f on a goroutine of its own, which leaves its
// thread unlocked (so that the runtime keeps the thread), and waits.
func onFreshGoroutine(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			for lockedOSThread() {
				runtime.UnlockOSThread()
			}
		}()
		f()
	}()
	<-done
}

// lockDepth returns the calling goroutine's LockOSThread count, and its M.
func lockDepth() (uint32, unsafe.Pointer) {
	_ = portableLocks()
	s := currentLock()
	return s.ext, s.mp
}

func TestPortableLockProbe(t *testing.T) {
	require.NoError(t, portableLocks(), "the thread lock probe must pass on %s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	assert.NotZero(t, mLockedExtOff)
}

// A body that locks its thread and yields: the resumer holds the lock
// after the yield (it is the same goroutine on the native engine); the
// body continues on that thread whoever resumes it while the lock is held
// (here the same goroutine), and unlocking in the body unlocks the
// resumer.
func TestLockInBodyAcrossYields(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.String(), func(t *testing.T) {
			onFreshGoroutine(t, func() {
				var c *Coroutine
				var mLocked, mAfter unsafe.Pointer
				var depthInBody uint32
				c, err := NewOn(k, func() {
					runtime.LockOSThread()
					depthInBody, mLocked = lockDepth()
					c.Yield()
					_, mAfter = lockDepth()
					runtime.UnlockOSThread()
					c.Yield()
				})
				require.NoError(t, err)
				require.False(t, lockedOSThread())
				o, _ := c.Resume()
				require.Equal(t, Yielded, o)
				assert.Equal(t, uint32(1), depthInBody)
				assert.True(t, lockedOSThread(), "the body's lock is the resumer's after the yield")
				depth, m := lockDepth()
				assert.Equal(t, uint32(1), depth)
				assert.Equal(t, mLocked, m, "the resumer is on the thread the body locked")
				o, _ = c.Resume()
				require.Equal(t, Yielded, o)
				assert.Equal(t, mLocked, mAfter, "the body continues on its locked thread")
				assert.False(t, lockedOSThread(), "the body's unlock unlocks the resumer")
				o, p := c.Resume()
				require.Nil(t, p)
				require.Equal(t, Returned, o)
			})
		})
	}
}

// The second shape: a coroutine first resumed on a locked
// goroutine, later from an unlocked one, then from a locked one again. The
// body runs on the resumer's thread while the resumer is locked, and is not
// locked when the resumer is not.
func TestResumeFromLockedThenUnlocked(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.String(), func(t *testing.T) {
			type seen struct {
				locked bool
				m      unsafe.Pointer
				depth  uint32
			}
			var c *Coroutine
			var log []seen
			note := func() {
				d, m := lockDepth()
				log = append(log, seen{lockedOSThread(), m, d})
			}
			c, err := NewOn(k, func() {
				for range 3 {
					note()
					c.Yield()
				}
				note()
			})
			require.NoError(t, err)
			var m1, m3 unsafe.Pointer
			onFreshGoroutine(t, func() {
				runtime.LockOSThread()
				runtime.LockOSThread()
				_, m1 = lockDepth()
				o, _ := c.Resume()
				require.Equal(t, Yielded, o)
				d, m := lockDepth()
				assert.Equal(t, uint32(2), d)
				assert.Equal(t, m1, m)
			})
			onFreshGoroutine(t, func() {
				o, _ := c.Resume()
				require.Equal(t, Yielded, o)
				assert.False(t, lockedOSThread())
			})
			onFreshGoroutine(t, func() {
				runtime.LockOSThread()
				_, m3 = lockDepth()
				o, _ := c.Resume()
				require.Equal(t, Yielded, o)
			})
			o, p := c.Resume() // from the test's goroutine, unlocked
			require.Nil(t, p)
			require.Equal(t, Returned, o)
			require.Len(t, log, 4)
			assert.Equal(t, seen{true, m1, 2}, log[0], "first resumed on a thread locked twice")
			assert.False(t, log[1].locked, "then resumed unlocked")
			assert.Equal(t, seen{true, m3, 1}, log[2], "then on a thread locked once")
			assert.False(t, log[3].locked)
		})
	}
}

// A resumer locked twice whose body unlocks once, locks three times, and
// ends: the counts add up as on one goroutine.
func TestLockCountsFollowControl(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.String(), func(t *testing.T) {
			onFreshGoroutine(t, func() {
				var c *Coroutine
				c, err := NewOn(k, func() {
					runtime.UnlockOSThread()
					c.Yield()
					for range 3 {
						runtime.LockOSThread()
					}
					c.Yield()
					// Ends holding them.
				})
				require.NoError(t, err)
				runtime.LockOSThread()
				runtime.LockOSThread()
				_, m := lockDepth()
				c.Resume()
				d, m2 := lockDepth()
				assert.Equal(t, uint32(1), d)
				assert.Equal(t, m, m2)
				c.Resume()
				d, m2 = lockDepth()
				assert.Equal(t, uint32(4), d)
				assert.Equal(t, m, m2)
				o, _ := c.Resume()
				assert.Equal(t, Returned, o)
				d, m2 = lockDepth()
				assert.Equal(t, uint32(4), d, "a body that ends locked leaves its resumer locked")
				assert.Equal(t, m, m2)
			})
		})
	}
}

// Close from an unlocked goroutine of a body suspended holding a lock
// (taken while another goroutine resumed it): its deferred unlock runs on
// the closer, which ends unlocked, and so does the goroutine that resumed
// it, which still holds the lock the body took on it.
func TestCloseBodyHoldingLock(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.String(), func(t *testing.T) {
			var c *Coroutine
			unlocked := false
			c, err := NewOn(k, func() {
				runtime.LockOSThread()
				defer func() {
					runtime.UnlockOSThread()
					unlocked = true
				}()
				c.Yield()
			})
			require.NoError(t, err)
			onFreshGoroutine(t, func() {
				c.Resume()
				assert.True(t, lockedOSThread())
			})
			onFreshGoroutine(t, func() {
				_, p := c.Close()
				assert.Nil(t, p)
				assert.True(t, unlocked)
				assert.False(t, lockedOSThread())
			})
		})
	}
}

// Nested coroutines, each resumed from a locked goroutine by the one
// outside it: every body runs on the locked thread.
func TestNestedResumeOnLockedThread(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.String(), func(t *testing.T) {
			onFreshGoroutine(t, func() {
				runtime.LockOSThread()
				_, m := lockDepth()
				var inner, outer *Coroutine
				var ms []unsafe.Pointer
				inner, _ = NewOn(k, func() {
					for {
						_, mi := lockDepth()
						ms = append(ms, mi)
						YieldOrUnwind(inner)
					}
				})
				outer, _ = NewOn(k, func() {
					for {
						inner.Resume()
						_, mo := lockDepth()
						ms = append(ms, mo)
						YieldOrUnwind(outer)
					}
				})
				for range 3 {
					o, _ := outer.Resume()
					require.Equal(t, Yielded, o)
				}
				_, p := outer.Close()
				assert.Nil(t, p)
				_, p = inner.Close()
				assert.Nil(t, p)
				require.Len(t, ms, 6)
				for _, mi := range ms {
					assert.Equal(t, m, mi)
				}
			})
		})
	}
}

// raceBuild is set by race_test.go under the race detector.
var raceBuild bool

// buildDWARFProbe builds testdata/dwarfprobe with the toolchain and
// settings of this test (go test strips the test binary's own DWARF) into
// dir, or skips the test.
func buildDWARFProbe(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("reads an ELF binary's DWARF")
	}
	exe := filepath.Join(t.TempDir(), "dwarfprobe")
	args := []string{"build", "-o", exe}
	if raceBuild {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./testdata/dwarfprobe")...)
	cmd.Env = append(os.Environ(), "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Skipf("cannot build testdata/dwarfprobe: %v: %s", err, out)
	}
	return exe
}

// dwarfMembers returns the member offsets of the named struct type in the
// DWARF of the program exe.
func dwarfMembers(t *testing.T, exe, typeName string) map[string]int64 {
	t.Helper()
	f, err := elf.Open(exe)
	require.NoError(t, err)
	defer f.Close()
	d, err := f.DWARF()
	require.NoError(t, err)
	r := d.Reader()
	for {
		e, err := r.Next()
		require.NoError(t, err)
		if e == nil {
			t.Fatalf("no %s in the DWARF", typeName)
		}
		if e.Tag == dwarf.TagCompileUnit {
			continue
		}
		if e.Tag != dwarf.TagStructType || e.Val(dwarf.AttrName) != typeName {
			if e.Children {
				r.SkipChildren()
			}
			continue
		}
		members := map[string]int64{}
		for {
			m, err := r.Next()
			require.NoError(t, err)
			if m == nil || m.Tag == 0 {
				return members
			}
			name, _ := m.Val(dwarf.AttrName).(string)
			off, _ := m.Val(dwarf.AttrDataMemberLoc).(int64)
			members[name] = off
		}
	}
}

// The layouts the probe found or assumed are the runtime's, as its DWARF
// says.
func TestLockMirrorMatchesDWARF(t *testing.T) {
	require.NoError(t, portableLocks())
	exe := buildDWARFProbe(t)
	m := dwarfMembers(t, exe, "runtime.m")
	assert.Equal(t, m["lockedExt"], int64(mLockedExtOff))
	assert.Equal(t, m["lockedInt"], int64(mLockedExtOff)+4)
	c := dwarfMembers(t, exe, "runtime.coro")
	assert.Equal(t, map[string]int64{
		"gp":        int64(unsafe.Offsetof(runtimeCoro{}.gp)),
		"f":         int64(unsafe.Offsetof(runtimeCoro{}.f)),
		"mp":        int64(unsafe.Offsetof(runtimeCoro{}.mp)),
		"lockedExt": int64(unsafe.Offsetof(runtimeCoro{}.lockedExt)),
		"lockedInt": int64(unsafe.Offsetof(runtimeCoro{}.lockedInt)),
	}, c)
}

// Round trips on the portable engine from an unlocked and from a locked
// goroutine: the locked one pays syncLock's reads of the M's counts (and
// the runtime's hand-off of the thread) on every switch. Compare the two
// in one run.
func BenchmarkPortableLockState(b *testing.B) {
	for _, locked := range []bool{false, true} {
		b.Run(map[bool]string{false: "unlocked", true: "locked"}[locked], func(b *testing.B) {
			done := make(chan struct{})
			go func() {
				defer close(done)
				if locked {
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
				}
				var c *Coroutine
				c, _ = NewOn(Portable, func() {
					for {
						YieldOrUnwind(c)
					}
				})
				c.Resume()
				b.ResetTimer()
				for range b.N {
					c.Resume()
				}
				b.StopTimer()
				c.Close()
			}()
			<-done
		})
	}
}

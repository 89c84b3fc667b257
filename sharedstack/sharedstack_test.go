package sharedstack_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/costack-dev/costack/sharedstack"
)

// kinds are the engines available in this process.
func kinds(t *testing.T) []sharedstack.Kind {
	ks := []sharedstack.Kind{sharedstack.Portable}
	if err := sharedstack.Available(sharedstack.Native); err == nil {
		ks = append(ks, sharedstack.Native)
	} else {
		t.Logf("native engine unavailable: %v", err)
	}
	return ks
}

func TestEngineNamesTheDefault(t *testing.T) {
	desc := sharedstack.Engine()
	assert.True(t, strings.HasPrefix(desc, sharedstack.Default().String()+" ("), "%q", desc)
	assert.Contains(t, desc, runtime.GOOS+"/"+runtime.GOARCH)
	assert.NoError(t, sharedstack.Available(sharedstack.Default()))
}

//go:noinline
func countUp(c **sharedstack.Coroutine, n int, out *[]int) {
	for i := range n {
		*out = append(*out, i)
		(*c).Yield()
	}
}

func TestResumeYieldReturn(t *testing.T) {
	for _, k := range kinds(t) {
		t.Run(k.String(), func(t *testing.T) {
			var got []int
			var c *sharedstack.Coroutine
			c, err := sharedstack.NewOn(k, func() { countUp(&c, 3, &got) })
			require.NoError(t, err)
			assert.Equal(t, sharedstack.Fresh, c.Phase())
			for i := range 3 {
				o, p := c.Resume()
				require.Nil(t, p)
				require.Equal(t, sharedstack.Yielded, o, "resume %d", i)
				assert.Equal(t, sharedstack.Suspended, c.Phase())
				assert.Equal(t, i+1, len(got))
			}
			o, p := c.Resume()
			assert.Nil(t, p)
			assert.Equal(t, sharedstack.Returned, o)
			assert.Equal(t, sharedstack.Finished, c.Phase())
			o, _ = c.Resume()
			assert.Equal(t, sharedstack.Busy, o, "a finished coroutine cannot be resumed")
			assert.Equal(t, []int{0, 1, 2}, got)
		})
	}
}

func TestCloseRunsDeferredCalls(t *testing.T) {
	for _, k := range kinds(t) {
		t.Run(k.String(), func(t *testing.T) {
			var events []string
			var c *sharedstack.Coroutine
			c, err := sharedstack.NewOn(k, func() {
				defer func() { events = append(events, "deferred") }()
				c.Yield()
				events = append(events, "resumed") // never: Close unwinds the yield
			})
			require.NoError(t, err)
			o, _ := c.Resume()
			require.Equal(t, sharedstack.Yielded, o)
			o, p := c.Close()
			assert.Nil(t, p)
			assert.Equal(t, sharedstack.Returned, o)
			assert.Equal(t, []string{"deferred"}, events)
			assert.Equal(t, sharedstack.Finished, c.Phase())
			o, _ = c.Close()
			assert.Equal(t, sharedstack.Busy, o, "a second Close changes nothing")
		})
	}
}

func TestPanicIsReturned(t *testing.T) {
	for _, k := range kinds(t) {
		t.Run(k.String(), func(t *testing.T) {
			c, err := sharedstack.NewOn(k, func() { panic("boom") })
			require.NoError(t, err)
			o, p := c.Resume()
			assert.Equal(t, sharedstack.Panicked, o)
			require.NotNil(t, p)
			assert.Equal(t, "boom", p.Value)
			assert.Contains(t, string(p.Stack), "sharedstack_test.TestPanicIsReturned")
		})
	}
}

func TestFramesShowTheBodyOnly(t *testing.T) {
	for _, k := range kinds(t) {
		t.Run(k.String(), func(t *testing.T) {
			var got []int
			var c *sharedstack.Coroutine
			c, err := sharedstack.NewOn(k, func() { countUp(&c, 2, &got) })
			require.NoError(t, err)
			_, ok := c.Frames()
			assert.False(t, ok, "a fresh coroutine has no frames")
			o, _ := c.Resume()
			require.Equal(t, sharedstack.Yielded, o)
			fs, ok := c.Frames()
			require.True(t, ok)
			var names []string
			for _, f := range fs {
				names = append(names, f.Function)
			}
			require.NotEmpty(t, names)
			assert.Equal(t, "github.com/costack-dev/costack/sharedstack_test.countUp", names[0], "innermost: %v", names)
			assert.True(t, strings.HasPrefix(names[len(names)-1], "github.com/costack-dev/costack/sharedstack_test.TestFramesShowTheBodyOnly.func"), "outermost: %v", names)
			for _, n := range names {
				assert.NotContains(t, n, "internal/engine.", "an engine frame: %v", names)
				assert.NotContains(t, n, "sharedstack.(", "a frame of this package: %v", names)
			}
			assert.Greater(t, c.Footprint(), 0)
			if k == sharedstack.Native {
				assert.Greater(t, c.ImageSize(), 0, "a suspended native coroutine has an image")
			}
			o, _ = c.Close()
			assert.Equal(t, sharedstack.Returned, o)
		})
	}
}

func TestYieldOutsideTheBodyPanics(t *testing.T) {
	for _, k := range kinds(t) {
		t.Run(k.String(), func(t *testing.T) {
			c, err := sharedstack.NewOn(k, func() {})
			require.NoError(t, err)
			assert.Panics(t, c.Yield, "a yield from a goroutine that does not run the body")
			o, _ := c.Resume()
			assert.Equal(t, sharedstack.Returned, o)
		})
	}
}

func TestNewRejectsNil(t *testing.T) {
	assert.PanicsWithValue(t, "sharedstack: New with a nil body", func() { sharedstack.New(nil) })
}

func TestReadStatsCountsImages(t *testing.T) {
	if sharedstack.Available(sharedstack.Native) != nil {
		t.Skip("native engine unavailable")
	}
	var cs []*sharedstack.Coroutine
	before := sharedstack.ReadStats().ImageBlocks
	for range 8 {
		var c *sharedstack.Coroutine
		c, _ = sharedstack.NewOn(sharedstack.Native, func() { c.Yield() })
		o, _ := c.Resume()
		require.Equal(t, sharedstack.Yielded, o)
		cs = append(cs, c)
	}
	assert.GreaterOrEqual(t, sharedstack.ReadStats().ImageBlocks-before, int64(8), "eight suspended images")
	for _, c := range cs {
		c.Close()
	}
}

package engine

import (
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEngineSelectionFollowsEnv(t *testing.T) {
	t.Setenv("COSTACK_ENGINE", "portable")
	sel := selectEngine()
	assert.Equal(t, Portable, sel.active.kind)
	assert.Equal(t, "portable ("+platform+"; COSTACK_ENGINE=portable)", sel.desc)

	t.Setenv("COSTACK_ENGINE", "bogus")
	sel = selectEngine()
	assert.Equal(t, Portable, sel.active.kind)
	assert.Contains(t, sel.desc, "unknown COSTACK_ENGINE=bogus")

	t.Setenv("COSTACK_ENGINE", "native")
	sel = selectEngine()
	if sel.nativeErr != nil {
		// An unavailable engine is reported, not a crash.
		assert.Equal(t, Portable, sel.active.kind)
		assert.True(t, strings.HasPrefix(sel.desc, "portable ("), sel.desc)
		assert.Contains(t, sel.desc, sel.nativeErr.Error())
	} else {
		assert.Equal(t, Native, sel.active.kind)
		assert.True(t, strings.HasPrefix(sel.desc, "native ("), sel.desc)
	}
	t.Log("native:", describe(sel.nativeErr))
}

func TestEngineString(t *testing.T) {
	e := Engine()
	assert.True(t, strings.HasPrefix(e, Default().String()+" ("+runtime.GOOS+"/"+runtime.GOARCH+" "+runtime.Version()), e)
	assert.NoError(t, Available(Portable))
}

// kinds returns the engines available in this process.
func kinds() []Kind {
	ks := []Kind{Portable}
	if Available(Native) == nil {
		ks = append(ks, Native)
	}
	return ks
}

func TestResumeYieldClose(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.String(), func(t *testing.T) {
			var log []string
			c, err := NewOn(k, func() {
				defer func() { log = append(log, "deferred") }()
				log = append(log, "start")
			})
			require.NoError(t, err)
			assert.False(t, c.Started())
			o, p := c.Resume()
			assert.Equal(t, Returned, o)
			assert.Nil(t, p)
			assert.True(t, c.Finished())
			assert.Equal(t, []string{"start", "deferred"}, log)
			o, p = c.Resume()
			assert.Equal(t, Busy, o, "a finished coroutine is not resumed")
			assert.Nil(t, p)
		})
	}
}

func TestYieldAndCloseUnwinds(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.String(), func(t *testing.T) {
			var c *Coroutine
			var log []string
			c, err := NewOn(k, func() {
				defer func() { log = append(log, "deferred") }()
				for i := 0; ; i++ {
					log = append(log, "step")
					if c.Yield() {
						c.Unwind()
					}
				}
			})
			require.NoError(t, err)
			for range 3 {
				o, p := c.Resume()
				require.Nil(t, p)
				require.Equal(t, Yielded, o)
			}
			assert.Nil(t, closeP(c))
			assert.True(t, c.Finished())
			assert.Equal(t, []string{"step", "step", "step", "deferred"}, log)
			assert.Nil(t, closeP(c), "closing twice")
		})
	}
}

func TestPanicIsReturned(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.String(), func(t *testing.T) {
			c, err := NewOn(k, func() { panic("boom") })
			require.NoError(t, err)
			o, p := c.Resume()
			assert.Equal(t, Panicked, o)
			require.NotNil(t, p)
			assert.Equal(t, "boom", p.Value)
			assert.Contains(t, string(p.Stack), "engine.TestPanicIsReturned")
		})
	}
}

func TestCloseFreshNeverRuns(t *testing.T) {
	c := New(func() { t.Error("body ran") })
	assert.Nil(t, closeP(c))
	assert.True(t, c.Finished())
	assert.Positive(t, c.Footprint())
}

func TestNilBodyPanics(t *testing.T) {
	assert.Panics(t, func() { New(nil) })
}

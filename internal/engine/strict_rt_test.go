//go:build linux && (amd64 || arm64) && go1.26 && !go1.28

package engine

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Strict mode without rt's goroutine mirror (as on other platforms, or if
// its probe failed) judges by runtime.Callers' frames: it still refuses
// the yields it can see, and lets the ones it cannot see through.
func TestStrictByCallersOnly(t *testing.T) {
	was := strictMirror
	strictMirror = func() bool { return false }
	defer func() { strictMirror = was }()
	sees := map[string]bool{
		"DeferredCallDuringPanic":             true,
		"DeferredCallDuringPanicAfterRecover": true,
		"ReflectCall":                         true,
		"ReflectMakeFunc":                     false, // its frames are wrappers, hidden
		"RangeFuncDefer":                      false, // the defer records cannot be read
	}
	for _, tc := range strictRefusals {
		t.Run(tc.name, func(t *testing.T) {
			withStrict(t, true, func() {
				var c *Coroutine
				c, err := NewOn(Portable, func() {
					defer func() {
						if r := recover(); r != nil && r != "first" {
							panic(r)
						}
					}()
					tc.body(c)
				})
				require.NoError(t, err)
				o, p := c.Resume()
				if !sees[tc.name] {
					require.Equal(t, Yielded, o)
					c.Resume()
					return
				}
				require.Equal(t, Panicked, o)
				assert.True(t, strings.HasPrefix(p.Value.(string), tc.want), "%v", p.Value)
			})
		})
	}
}

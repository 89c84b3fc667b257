//go:build linux && (amd64 || arm64) && go1.26 && !go1.28 && !race

package engine

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Strict mode judges a frame without Go stack maps by its record, as the
// native engine does: an assembly function is refused, a Go function not.
// (No yield can be made across foreign assembly in a test, which would
// need assembly calling back into Go.)
func TestStrictNoMapsRefusal(t *testing.T) {
	why := noMapsRefusal(yieldSwitchPC()+1, "yieldSwitch") // the engine's assembly

	assert.True(t, strings.HasPrefix(why, msgNoMaps), "%q", why)
	assert.Empty(t, noMapsRefusal(reflect.ValueOf(physicalName).Pointer()+1, "physicalName"))
}

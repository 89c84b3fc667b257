package sharedstack

import (
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// Frames cuts this package's frames by name: the prefix must be this
// package's path, which a move of the package would change.
func TestPkgPrefixIsThisPackage(t *testing.T) {
	name := runtime.FuncForPC(reflect.ValueOf((*owner).Run).Pointer()).Name()
	if !strings.HasPrefix(name, pkgPrefix) {
		t.Fatalf("owner.Run is %q, not under %q", name, pkgPrefix)
	}
}

package costack

// The refusal table: each yield the package documentation lists under
// "Refusals", on every engine, with strict mode off and on, with the exact
// message. Keep doc.go's list in step with this table
// (TestRefusalsDocumented checks the messages it quotes).
//
// Two refusals are pinned elsewhere: a yield inside a cgo callback by
// interop/internal/cgotest (package costack builds no C), a frame without
// Go stack maps by internal/engine's TestStrictNoMapsRefusal (no test can put
// foreign assembly between a body and its yield). The 1 GB limit is not
// exercised: it takes a gigabyte of stack.

import (
	"os"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/costack-dev/costack/internal/engine"
)

// The refusals' messages (prefixes: some name the frame).
const (
	refusedPanicking = "costack: Yield while a panic is in progress in the coroutine"
	refusedReflect   = "costack: Yield inside reflect.Call or reflect.MakeFunc"
	refusedRangeFunc = "costack: Yield with a pending range-over-func defer"
)

var refusalCases = []struct {
	name string
	msg  string
	// byCallers: strict mode sees it without internal/rt's mirrors too.
	byCallers bool
	body      func(y *Yielder[int, int], events *[]string) int
}{
	{"DeferredCallDuringPanic", refusedPanicking, true, func(y *Yielder[int, int], events *[]string) int {
		defer func() {
			r := recover()
			*events = append(*events, "resumed with "+strconv.Itoa(y.Yield(1)))
			panic(r)
		}()
		panic("boom")
	}},
	{"DeferredCallDuringPanicAfterRecover", refusedPanicking, true, func(y *Yielder[int, int], events *[]string) (out int) {
		defer func() {
			_ = recover()
			out = y.Yield(1)
			*events = append(*events, "resumed with "+strconv.Itoa(out))
		}()
		panic("boom")
	}},
	{"ReflectCall", refusedReflect, true, func(y *Yielder[int, int], events *[]string) int {
		res := reflect.ValueOf(func() int {
			in := y.Yield(1)
			*events = append(*events, "resumed with "+strconv.Itoa(in))
			return in
		}).Call(nil)
		return int(res[0].Int())
	}},
	{"ReflectMakeFunc", refusedReflect, false, func(y *Yielder[int, int], events *[]string) int {
		var fn func() int
		reflect.ValueOf(&fn).Elem().Set(reflect.MakeFunc(reflect.TypeOf(fn), func([]reflect.Value) []reflect.Value {
			in := y.Yield(1)
			*events = append(*events, "resumed with "+strconv.Itoa(in))
			return []reflect.Value{reflect.ValueOf(in)}
		}))
		return fn()
	}},
	{"PendingRangeFuncDefer", refusedRangeFunc, false, func(y *Yielder[int, int], events *[]string) (out int) {
		for range func(yield func() bool) { yield() } {
			defer func() { *events = append(*events, "range defer") }()
			out = y.Yield(1)
			*events = append(*events, "resumed with "+strconv.Itoa(out))
		}
		return out
	}},
}

// strictSeesAll reports whether strict mode checks every refusal here
// (internal/rt mirrors the runtime); elsewhere it judges by
// runtime.Callers' frames.
func strictSeesAll() bool {
	v := runtime.Version()
	return runtime.GOOS == "linux" && (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64") &&
		(strings.HasPrefix(v, "go1.26") || strings.HasPrefix(v, "go1.27"))
}

func TestRefusals(t *testing.T) {
	for _, k := range misuseEngines() {
		for _, strict := range []bool{false, true} {
			for _, tc := range refusalCases {
				name := k.String() + "/" + tc.name
				if strict {
					name = k.String() + "-strict/" + tc.name
				}
				t.Run(name, func(t *testing.T) {
					was := Strict()
					SetStrict(strict)
					defer SetStrict(was)
					refused := k == engine.Native || strict
					if refused && k == engine.Portable && !tc.byCallers && !strictSeesAll() {
						t.Skip("strict mode judges by runtime.Callers here, which cannot see this case")
					}
					var events []string
					c := mustNewOn(t, k, func(y *Yielder[int, int], in int) int { return tc.body(y, &events) })
					out, done, err := c.Resume(0)
					if refused {
						var pe *PanicError
						require.ErrorAs(t, err, &pe, "the yield must be refused")
						msg, _ := pe.Value.(string)
						assert.True(t, strings.HasPrefix(msg, tc.msg), "refused with %q, want %q", pe.Value, tc.msg)
						assert.True(t, strings.HasSuffix(msg, "is not supported on the native engine") || strings.Contains(msg, "is not supported on the native engine ("), "%q", msg)
						assert.True(t, done)
						assert.Zero(t, out)
						assert.Equal(t, Dead, c.Status())
						for _, e := range events {
							assert.NotContains(t, e, "resumed", "a refused yield does not return")
						}
						return
					}
					// An ordinary yield: the body goes on when resumed.
					require.NoError(t, err)
					require.False(t, done)
					assert.Equal(t, 1, out)
					_, done, err = c.Resume(5)
					assert.True(t, done)
					assert.Contains(t, events, "resumed with 5")
					if tc.name == "DeferredCallDuringPanic" {
						// The panic goes on after the yield.
						var pe *PanicError
						require.ErrorAs(t, err, &pe)
						assert.Equal(t, "boom", pe.Value)
					} else {
						require.NoError(t, err)
					}
				})
			}
		}
	}
}

// A yield in a deferred call during runtime.Goexit, where it is refused,
// is a panic during the exit: recovered at the bottom of the body, the
// exit goes on and the resuming goroutine exits without a word. Where it
// is not, the coroutine yields, and the exit goes on when it is resumed.
func TestRefusalDuringGoexit(t *testing.T) {
	for _, k := range misuseEngines() {
		for _, strict := range []bool{false, true} {
			t.Run(k.String()+map[bool]string{true: "-strict"}[strict], func(t *testing.T) {
				was := Strict()
				SetStrict(strict)
				defer SetStrict(was)
				var yieldPanic any
				resumed := false
				c := mustNewOn(t, k, func(y *Yielder[int, int], in int) int {
					defer func() {
						defer func() { yieldPanic = recover() }()
						y.Yield(1)
						resumed = true
					}()
					runtime.Goexit()
					return 0
				})
				returned := onGoroutine(func() { c.Resume(0) })
				if k == engine.Native || strict {
					assert.False(t, returned, "the exit goes on in the resumer")
					assert.True(t, strings.HasPrefix(yieldPanic.(string), refusedPanicking), "%v", yieldPanic)
					assert.Equal(t, Dead, c.Status())
					return
				}
				require.True(t, returned, "the coroutine yields")
				assert.Equal(t, Suspended, c.Status())
				assert.False(t, onGoroutine(func() { c.Resume(5) }), "the exit goes on in the second resumer")
				assert.True(t, resumed)
				assert.Equal(t, Dead, c.Status())
			})
		}
	}
}

// Every message doc.go's "Refusals" section quotes is a refusal's: the
// table's here, or the two pinned elsewhere.
func TestRefusalsDocumented(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	text := string(doc)
	i := strings.Index(text, "// # Refusals")
	require.GreaterOrEqual(t, i, 0, "doc.go has no Refusals section")
	section := regexp.MustCompile(`\n//\s*`).ReplaceAllString(text[i:], " ")
	known := []string{
		refusedPanicking, refusedReflect, refusedRangeFunc,
		"costack: Yield across a frame without Go stack maps",
		"costack: Yield of a coroutine whose frames take more than 1 GB",
		"costack: Yield inside a cgo callback is not supported on the native engine, nor on the portable engine",
	}
	quoted := regexp.MustCompile(`"(Yield [^"]+)"`).FindAllStringSubmatch(section, -1)
	require.Len(t, quoted, len(known), "doc.go quotes %d refusals: %q", len(quoted), quoted)
	for _, q := range quoted {
		found := false
		for _, m := range known {
			found = found || strings.HasPrefix(m, "costack: "+q[1])
		}
		assert.True(t, found, "doc.go quotes %q, which no refusal says", q[1])
	}
}

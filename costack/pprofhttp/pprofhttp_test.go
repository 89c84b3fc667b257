package pprofhttp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/costack-dev/costack/costack"
	"github.com/costack-dev/costack/costack/pprofhttp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

//go:noinline
func waitHere(y *costack.Yielder[struct{}, int]) { y.Yield(1) }

func get(t *testing.T, url string) (string, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.Header.Get("Content-Type"), b
}

// The handler serves the process's profile of suspended coroutines: a
// protobuf profile that pprof parses, with every suspended coroutine
// counted at its stack; as text with ?debug=1.
func TestHandler(t *testing.T) {
	const n = 12
	var cs []*costack.Coroutine[struct{}, int]
	for range n {
		c := costack.New(func(y *costack.Yielder[struct{}, int], _ struct{}) int { waitHere(y); return 0 })
		_, _, err := c.Resume(struct{}{})
		require.NoError(t, err)
		cs = append(cs, c)
	}
	defer func() {
		for _, c := range cs {
			assert.NoError(t, c.Close())
		}
	}()
	mux := http.NewServeMux()
	pprofhttp.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctype, body := get(t, srv.URL+pprofhttp.Path)
	assert.Equal(t, "application/octet-stream", ctype)
	p, err := profile.ParseData(body)
	require.NoError(t, err)
	require.NoError(t, p.CheckValid())
	assert.Equal(t, "coroutines", p.SampleType[0].Type)
	var here int64
	for _, s := range p.Sample {
		for _, l := range s.Location {
			if strings.HasSuffix(l.Line[0].Function.Name, ".waitHere") {
				here += s.Value[0]
			}
		}
	}
	assert.EqualValues(t, n, here)

	ctype, body = get(t, srv.URL+pprofhttp.Path+"?debug=1")
	assert.True(t, strings.HasPrefix(ctype, "text/plain"), ctype)
	text := string(body)
	at := strings.Index(text, "\n12 coroutines:\n")
	require.GreaterOrEqual(t, at, 0, text)
	assert.Contains(t, text[at:], "\tgithub.com/costack-dev/costack/costack/pprofhttp_test.waitHere\n")
	assert.Contains(t, text, "pprofhttp_test.go:")
}

// The example mounts the handler next to net/http/pprof's.
func Example() {
	mux := http.NewServeMux()
	pprofhttp.Register(mux) // GET /debug/pprof/costack: go tool pprof reads it
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + pprofhttp.Path + "?debug=1")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	io.Copy(os.Stdout, io.LimitReader(resp.Body, int64(len("costack profile:"))))
	// Output: costack profile:
}

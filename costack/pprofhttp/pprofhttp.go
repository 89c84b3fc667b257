// Package pprofhttp serves costack's profile of suspended coroutines
// (costack.WriteProfile) over HTTP, next to net/http/pprof's profiles, so
// that a running program can be asked where each of its coroutines waits:
//
//	go tool pprof -top http://localhost:6060/debug/pprof/costack
//
// It is a package of its own so that package costack does not import
// net/http.
package pprofhttp

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/google/pprof/profile"

	"github.com/costack-dev/costack/costack"
)

// Path is where Register mounts the handler: beside net/http/pprof's
// profiles, under /debug/pprof/.
const Path = "/debug/pprof/costack"

// Handler returns a handler that writes costack.WriteProfile: the profile
// in pprof's protobuf format, or with ?debug=1 as text (the profile's
// samples, one line a stack, most common first), as net/http/pprof's
// handlers do.
func Handler() http.Handler { return http.HandlerFunc(serve) }

// Register mounts Handler at Path on mux.
func Register(mux *http.ServeMux) { mux.Handle(Path, Handler()) }

func serve(w http.ResponseWriter, r *http.Request) {
	var b bytes.Buffer
	if err := costack.WriteProfile(&b); err != nil {
		http.Error(w, "costack: profile: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.FormValue("debug") == "" || r.FormValue("debug") == "0" {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="costack"`)
		_, _ = w.Write(b.Bytes())
		return
	}
	p, err := profile.Parse(&b)
	if err != nil {
		http.Error(w, "costack: profile: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	total := int64(0)
	for _, s := range p.Sample {
		total += s.Value[0]
	}
	fmt.Fprintf(w, "costack profile: %d suspended coroutines, %d distinct stacks\n", total, len(p.Sample))
	for _, s := range p.Sample {
		fmt.Fprintf(w, "\n%d coroutines:\n", s.Value[0])
		for _, l := range s.Location {
			for _, line := range l.Line {
				fmt.Fprintf(w, "\t%s\n\t\t%s:%d\n", line.Function.Name, line.Function.Filename, line.Line)
			}
		}
	}
}

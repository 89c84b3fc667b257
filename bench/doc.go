// Package bench holds costack's benchmarks.
//
// The side-by-side report — costack on the native and on the portable
// engine, iter.Pull and goroutines with channels, as one table with ratios
// and PNG charts — is a command:
//
//	go run ./bench/cmd/costack-bench          # full report, a few minutes
//	go run ./bench/cmd/costack-bench -quick   # under a minute
//
// It writes the table to stdout, progress to stderr, PNG charts and the
// table (report.txt) into ./costack-report (-out) and, with -json FILE,
// every value as JSON; -from FILE re-renders a saved run, -best shows the
// fastest timed run of each cell instead of the median, the steadier figure
// on a busy machine, and -only runs some of the report's sections (the core
// table and the families of rows in bench/internal/report/section_*.go).
//
// The network rows (idle connections and echo, costack's interop/netpoll
// against a goroutine per connection and gnet v2) are measured by
// bench/netbench, a module of its own so that the library does not depend
// on gnet; the report's "net" section runs it (go run), and it runs alone
// too: cd bench/netbench && go run . (one JSON object on stdout).
//
// The same workloads (package bench/internal/workload) are also go test
// benchmarks in this package, for benchstat. The costack engine is chosen
// per process, so compare the engines with two runs:
//
//	COSTACK_ENGINE=native   go test -run '^$' -bench . -count 10 ./bench > native.txt
//	COSTACK_ENGINE=portable go test -run '^$' -bench . -count 10 ./bench > portable.txt
//	benchstat native.txt portable.txt
//
// Sub-benchmark names are key=value pairs (impl=costack|iter.Pull|goroutine,
// depth=, n=), so benchstat can also compare the implementations within one
// run: benchstat -col /impl native.txt.
package bench

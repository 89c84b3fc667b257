// Command costack-bench prints the side-by-side benchmark report of costack
// (native and portable engines), iter.Pull and goroutines with channels:
// resume/yield round trips, relocation, memory per suspended instance,
// create+resume+Close, a game-loop tick and capacity within a memory budget.
//
//	go run ./bench/cmd/costack-bench            # full report (a few minutes)
//	go run ./bench/cmd/costack-bench -quick     # under a minute
//	go run ./bench/cmd/costack-bench -json results.json -out costack-report
//	go run ./bench/cmd/costack-bench -from results.json -best   # re-render, fastest runs
//
// Run with -h for every flag. Each measurement runs in a fresh process: the
// command re-executes itself with COSTACK_ENGINE set for the costack
// columns (a column whose engine is unavailable shows n/a and the reason).
// Charts are written as PNG into -out (default ./costack-report); -json FILE
// writes every value (medians and fastest runs) as JSON, -json - to stdout
// with the table on stderr.
package main

import (
	"os"

	"github.com/costack-dev/costack/bench/internal/report"
)

func main() {
	os.Exit(report.Main(os.Args[1:], os.Stdout, os.Stderr))
}

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/costack-dev/costack/costack"
)

// The child protocol of the costack-bench report (bench/internal/report,
// child.go and section.go: ChildFlag, resultPrefix, exitSkipped), so that
// the report's "net" section runs this command for each of its probes:
// the report passes -costack-bench-child=<task JSON> and reads the line
// that starts with the result prefix. These three must agree with the
// report's.
const (
	reportChildFlag   = "-costack-bench-child"
	reportResultPref  = "costack-bench-result: "
	reportExitSkipped = 3
)

// Report child tasks and their parameters.
const (
	taskIdle = "netbench-idle"
	taskEcho = "netbench-echo"
)

// ReportParams are a probe's parameters.
type ReportParams struct {
	Impl     string `json:"impl"`
	N        int    `json:"n,omitempty"`         // idle: connections
	Conns    int    `json:"conns,omitempty"`     // echo: connections
	Msg      int    `json:"msg,omitempty"`       // echo: message bytes
	TimeMs   int    `json:"time_ms,omitempty"`   // echo: measured duration
	WarmupMs int    `json:"warmup_ms,omitempty"` // echo: warm-up
}

func isReportChild(args []string) bool {
	return len(args) > 0 && strings.HasPrefix(args[0], reportChildFlag+"=")
}

// reportChild runs one probe for the report and prints its result.
func reportChild(args []string, stdout, stderr io.Writer) int {
	var t struct {
		Task   string       `json:"task"`
		Params ReportParams `json:"params"`
	}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(args[0], reportChildFlag+"=")), &t); err != nil {
		fmt.Fprintln(stderr, "netbench: bad child task:", err)
		return 2
	}
	p := t.Params
	values := map[string]float64{}
	var err error
	switch t.Task {
	case taskIdle:
		if _, lerr := raiseFDLimit(uint64(p.N) + 1000); lerr != nil {
			fmt.Fprintf(stderr, "idle N=%d needs %d descriptors: %v\n", p.N, p.N+1000, lerr)
			return reportExitSkipped
		}
		var m, base mem
		m, base, _, err = idleRun(p.Impl, p.N, 20000)
		if err == nil {
			values["rss_per"] = float64(m.RSS-base.RSS) / float64(p.N)
			values["go_per"] = float64((m.Heap+m.Stack)-(base.Heap+base.Stack)) / float64(p.N)
		}
	case taskEcho:
		if _, lerr := raiseFDLimit(uint64(p.Conns) + 1000); lerr != nil {
			fmt.Fprintf(stderr, "echo with %d connections: %v\n", p.Conns, lerr)
			return reportExitSkipped
		}
		cfg := config{echoConns: p.Conns, msg: p.Msg,
			echoTime: time.Duration(p.TimeMs) * time.Millisecond, warmup: time.Duration(p.WarmupMs) * time.Millisecond}
		var rate float64
		var p99 time.Duration
		rate, p99, _, err = echoRun(p.Impl, cfg)
		if err == nil {
			values["rate"] = rate
			values["p99_us"] = float64(p99) / float64(time.Microsecond)
		}
	default:
		err = fmt.Errorf("unknown task %q", t.Task)
	}
	if err != nil {
		fmt.Fprintln(stderr, "netbench:", err)
		return 1
	}
	b, _ := json.Marshal(map[string]any{"engine": costack.Engine(), "values": values})
	fmt.Fprintf(stdout, "%s%s\n", reportResultPref, b)
	return 0
}

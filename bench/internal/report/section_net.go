package report

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// The network rows of issue 19, measured by bench/netbench: a module of
// its own (gnet v2 is its dependency, not the library's), so its probes run
// that command (go run) instead of this binary. Each probe is one server in
// a fresh process of netbench's, with netbench's clients over 127.0.0.1.
func init() {
	cmd := func(ctx context.Context) ([]string, error) { return netbenchCommand(ctx) }
	s := &Section{
		Name:  "net",
		Title: "Network servers over loopback: costack netpoll tasks, goroutine per connection (package net), gnet v2",
		Columns: []Column{
			{Name: "costack", Command: cmd},
			{Name: "net", Command: cmd},
			{Name: "gnet", Command: cmd},
		},
		Ratios: [][2]string{{"costack", "net"}, {"costack", "gnet"}},
		Notes: []string{
			"costack: interop/netpoll, a task per connection, Scheduler.Run sleeping in the Poller (one worker); net: a goroutine per connection; gnet: v2.9.7, one event loop per CPU",
			"idle: N connections open, each handler parked in Read (costack and net run one echo loop with a 128-byte buffer); the server process's RSS growth per connection after runtime.GC and debug.FreeOSMemory, and its Go heap+stacks growth",
			"echo: each connection a client goroutine in netbench's process making 64-byte round trips back to back; clients and server share the cores",
			"netbench raises RLIMIT_NOFILE with setrlimit (the soft limit up to the hard one, the hard one too where the process may); a row whose descriptors cannot be had is n/a, with the reason",
			"targets (issue 19): idle RSS per connection <= 0.25x net's and no more than gnet's; echo round trips/s >= 0.8x net's",
		},
	}
	impls := []string{"costack", "net", "gnet"}
	idleNs := func(cfg Config) []int {
		if cfg.Quick {
			return []int{1000}
		}
		return []int{10000, 100000}
	}
	echo := func(cfg Config) (conns, ms, warmup int) {
		if cfg.Quick {
			return 50, 300, 100
		}
		return 1000, 5000, 1000
	}
	s.Plan = func(cfg Config) []Probe {
		var ps []Probe
		for _, n := range idleNs(cfg) {
			for _, impl := range impls {
				ps = append(ps, Probe{
					ID: fmt.Sprintf("idle/%d/%s", n, impl), Column: impl, Task: "netbench-idle",
					Desc:   fmt.Sprintf("net: idle N=%d %s", n, impl),
					Params: map[string]any{"impl": impl, "n": n},
					Need:   int64(n) * 16 << 10, // both ends, kernel buffers included
				})
			}
		}
		conns, ms, warmup := echo(cfg)
		for _, impl := range impls {
			ps = append(ps, Probe{
				ID: "echo/" + impl, Column: impl, Task: "netbench-echo",
				Desc:   fmt.Sprintf("net: echo %d conns %s", conns, impl),
				Params: map[string]any{"impl": impl, "conns": conns, "msg": 64, "time_ms": ms, "warmup_ms": warmup},
			})
		}
		return ps
	}
	s.Rows = func(cfg Config, res Results) []Row {
		var rows []Row
		for _, n := range idleNs(cfg) {
			id := func(col string) string { return fmt.Sprintf("idle/%d/%s", n, col) }
			p := fmt.Sprintf("N=%d", n)
			rows = append(rows,
				s.Row("idle RSS/conn", p, float64(n), "B", "lower", res.Cell(id, "rss_per")),
				s.Row("idle Go heap+stack/conn", p, float64(n), "B", "lower", res.Cell(id, "go_per")))
		}
		conns, _, _ := echo(cfg)
		id := func(col string) string { return "echo/" + col }
		p := fmt.Sprintf("%d conns", conns)
		return append(rows,
			s.Row("echo round trips", p, float64(conns), "1/s", "higher", res.Cell(id, "rate")),
			s.Row("echo p99 latency", p, float64(conns), "µs", "lower", res.Cell(id, "p99_us")))
	}
	registerSection(s)
}

var (
	netbenchOnce sync.Once
	netbenchArgv []string
	netbenchErr  error
)

// netbenchCommand returns the command line that runs bench/netbench from
// the source tree the report runs in: the report finds
// the tree through the go command (go env GOMOD), so it must run inside
// the costack checkout, as `go run ./bench/cmd/costack-bench` does. It
// builds netbench and returns the binary's path.
func netbenchCommand(ctx context.Context) ([]string, error) {
	netbenchOnce.Do(func() {
		gobin, err := exec.LookPath("go")
		if err != nil {
			netbenchErr = fmt.Errorf("no go command to run bench/netbench: %w", err)
			return
		}
		out, err := exec.CommandContext(ctx, gobin, "env", "GOMOD").Output()
		if err != nil {
			netbenchErr = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		gomod := strings.TrimSpace(string(out))
		if gomod == "" || gomod == os.DevNull {
			netbenchErr = errors.New("not inside the costack module: run the report from its checkout")
			return
		}
		dir := filepath.Join(filepath.Dir(gomod), "bench", "netbench")
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
			netbenchErr = fmt.Errorf("bench/netbench not found: %w", err)
			return
		}
		// Build once, up front, so that the first probe is not timed
		// against a compile (and a build error names the column), and
		// run the binary itself: go run would turn netbench's exit code
		// for a skipped row (a descriptor limit) into 1, an error. The
		// binary goes to the user's cache, one file overwritten by every
		// report.
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		bin := filepath.Join(cache, "costack-bench", "netbench")
		if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
			netbenchErr = fmt.Errorf("building bench/netbench: %w", err)
			return
		}
		build := exec.CommandContext(ctx, gobin, "-C", dir, "build", "-o", bin, ".")
		if msg, err := build.CombinedOutput(); err != nil {
			netbenchErr = fmt.Errorf("building bench/netbench: %v: %s", err, msg)
			return
		}
		netbenchArgv = []string{bin}
	})
	return netbenchArgv, netbenchErr
}

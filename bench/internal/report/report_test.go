package report_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/costack-dev/costack/bench/internal/report"
)

func TestMain(m *testing.M) {
	// The report re-executes this test binary for every measurement.
	if report.IsChild(os.Args[1:]) {
		os.Exit(report.ChildMain(os.Args[1:], os.Stdout, os.Stderr))
	}
	goleak.VerifyTestMain(m)
}

// TestQuickReport runs the whole report, in -quick mode with even smaller
// sizes, and checks its structure, not its numbers.
func TestQuickReport(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "charts")
	jsonPath := filepath.Join(dir, "report.json")
	ns := []int{300, 3000}
	var stdout, stderr bytes.Buffer
	// Every section but the test binary's own (TestSection).
	only := slices.DeleteFunc(report.SectionNames(), func(s string) bool { return s == "selftest" })
	code := report.Main([]string{
		"-quick", "-n", "300,3000", "-budget", "24MB", "-time", "2ms", "-runs", "1",
		"-out", out, "-json", jsonPath, "-only", strings.Join(only, ","),
	}, &stdout, &stderr)
	t.Logf("stderr:\n%s", stderr.String())
	t.Logf("stdout:\n%s", stdout.String())
	require.Equal(t, 0, code, "exit code")

	var rep report.Report
	b, err := os.ReadFile(jsonPath)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &rep))
	assert.Empty(t, rep.Errors)
	assert.NotEmpty(t, rep.Machine.CPU)
	assert.Positive(t, rep.Machine.Cores)
	assert.Equal(t, ns, rep.N)
	require.Contains(t, rep.Engines, report.ColPortable)
	assert.True(t, strings.HasPrefix(rep.Engines[report.ColPortable], "portable"), rep.Engines[report.ColPortable])
	nativeOK := strings.HasPrefix(rep.Engines[report.ColNative], "native")

	// Every row is present, in order.
	type id struct{ c, p string }
	var want []id
	for _, d := range report.Depths {
		want = append(want, id{report.CaseRoundTrip, fmt.Sprintf("depth %d", d)})
	}
	want = append(want, id{report.CaseReloc, report.ParamRelocNone}, id{report.CaseReloc, report.ParamRelocGor}, id{report.CaseReloc, report.ParamRelocDeep}, id{report.CaseCreate, "depth 1"})
	for _, c := range []string{report.CaseRSS, report.CaseFootprint, report.CaseGoMem, report.CaseTick} {
		for _, n := range ns {
			want = append(want, id{c, fmt.Sprintf("N=%d", n)})
		}
	}
	want = append(want, id{report.CaseCapacity, report.FormatBytes(24 << 20)})
	var got []id
	for _, r := range rep.Rows {
		got = append(got, id{r.Case, r.Param})
	}
	require.Equal(t, want, got)

	for _, r := range rep.Rows {
		name := r.Case + " " + r.Param
		for _, col := range report.Columns {
			_, has := r.Values[col]
			_, na := r.NA[col]
			assert.True(t, has != na, "%s %s: exactly one of value and n/a", name, col)
		}
		if !nativeOK {
			assert.Contains(t, r.NA[report.ColNative], "unavailable", name)
		}
		costackOnly := r.Case == report.CaseFootprint
		for _, col := range []string{report.ColPortable, report.ColIterPull, report.ColGoroutine} {
			if costackOnly && col != report.ColPortable {
				assert.Contains(t, r.NA, col, name)
				continue
			}
			assert.Contains(t, r.Values, col, name)
			assert.Greater(t, r.Values[col], 0.0, "%s %s", name, col)
		}
		if strings.HasPrefix(r.Unit, "ns/") {
			for col, v := range r.Values {
				if assert.Contains(t, r.Best, col, name) {
					assert.LessOrEqual(t, r.Best[col], v, "%s %s: best <= median", name, col)
				}
			}
		}
		if !costackOnly {
			for _, base := range []string{report.ColIterPull, report.ColGoroutine} {
				assert.Contains(t, r.Ratios, report.RatioKey(report.ColPortable, base), name)
				if nativeOK {
					assert.Contains(t, r.Ratios, report.RatioKey(report.ColNative, base), name)
				}
			}
		}
	}

	// The table has a header, a line per row and the ratio columns.
	table := stdout.String()
	for _, s := range []string{"machine:", "engine:", rep.Machine.Go, "nat/Pull", "port/gor", "charts:"} {
		assert.Contains(t, table, s)
	}
	for _, r := range rep.Rows {
		assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(r.Case)+`\s+`+regexp.QuoteMeta(r.Param)+`\s`, table)
	}

	// -from re-renders a saved report without measuring.
	out2 := filepath.Join(dir, "again")
	var stdout2 bytes.Buffer
	require.Equal(t, 0, report.Main([]string{"-from", jsonPath, "-out", out2}, &stdout2, &stderr))
	upToCharts := func(s string) string {
		i := strings.Index(s, "\ncharts:")
		require.GreaterOrEqual(t, i, 0)
		return s[:i]
	}
	assert.Equal(t, upToCharts(table), upToCharts(stdout2.String()))

	// -best shows the fastest runs, with ratios recomputed.
	var stdout3 bytes.Buffer
	require.Equal(t, 0, report.Main([]string{"-from", jsonPath, "-best", "-out", out2}, &stdout3, &stderr))
	assert.Contains(t, stdout3.String(), "timing: fastest of")
	best := rep.BestOf()
	assert.Equal(t, report.StatBest, best.Stat)
	for i, r := range best.Rows {
		for col, v := range r.Values {
			assert.LessOrEqual(t, v, rep.Rows[i].Values[col], "%s %s %s", r.Case, r.Param, col)
		}
		for k, v := range r.Ratios {
			assert.Positive(t, v, k)
		}
	}

	// Charts are PNGs.
	for _, f := range report.Charts {
		fh, err := os.Open(filepath.Join(out2, f))
		require.NoError(t, err)
		_, err = png.Decode(fh)
		fh.Close()
		require.NoError(t, err, f)
		fh, err = os.Open(filepath.Join(out, f))
		require.NoError(t, err)
		img, err := png.Decode(fh)
		fh.Close()
		require.NoError(t, err, f)
		assert.Greater(t, img.Bounds().Dx(), 100, f)
	}
}

func TestJSONToStdout(t *testing.T) {
	// -json - moves the table to stderr; checked on the report writer alone
	// with a tiny hand-made report.
	rep := &report.Report{
		Columns: report.Columns,
		Engines: map[string]string{},
		Rows: []report.Row{{Case: report.CaseRoundTrip, Param: "depth 1", X: 1, Unit: "ns/op", Better: "lower",
			Values: map[string]float64{report.ColIterPull: 50, report.ColGoroutine: 200, report.ColPortable: 100},
			NA:     map[string]string{report.ColNative: "engine unavailable"},
			Ratios: map[string]float64{"portable/iter.Pull": 2, "portable/goroutine": 0.5}}},
	}
	var stdout, stderr bytes.Buffer
	require.NoError(t, rep.Write(report.Config{Out: t.TempDir(), JSON: "-"}, &stdout, &stderr))
	var back report.Report
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &back))
	assert.Len(t, back.Rows, 1)
	assert.Contains(t, stderr.String(), "2.00x")
	assert.Contains(t, stderr.String(), "0.50x")
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"2GB": 2 << 30, "512MiB": 512 << 20, "64M": 64 << 20, "1000": 1000, "1.5k": 1536} {
		got, err := report.ParseBytes(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "x", "-1GB", "GB"} {
		_, err := report.ParseBytes(in)
		assert.Error(t, err, in)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-n", "10,x"},
		{"-n", "0"},
		{"-budget", "lots"},
		{"-nope"},
		{"extra"},
	} {
		var stdout, stderr bytes.Buffer
		assert.Equal(t, 2, report.Main(args, &stdout, &stderr), "%q", args)
		assert.Empty(t, stdout.String(), "%q", args)
		assert.NotEmpty(t, stderr.String(), "%q", args)
	}
	var stdout, stderr bytes.Buffer
	assert.Equal(t, 0, report.Main([]string{"-h"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "-budget")
}

func TestBadChild(t *testing.T) {
	var stdout, stderr bytes.Buffer
	assert.Equal(t, 2, report.ChildMain([]string{report.ChildFlag + "={"}, &stdout, &stderr))
	assert.Equal(t, 1, report.ChildMain([]string{report.ChildFlag + `={"task":"timing","impl":"fibers"}`}, &stdout, &stderr))
	assert.Equal(t, 1, report.ChildMain([]string{report.ChildFlag + `={"task":"dance","impl":"goroutine"}`}, &stdout, &stderr))
	assert.Empty(t, stdout.String())
}

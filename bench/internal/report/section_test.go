package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A section of the test binary only: two columns of this binary, one that
// cannot be built, and a probe that fails; TestSection runs it alone.
func init() {
	registerChildTask("selftest", func(params json.RawMessage) (map[string]float64, error) {
		var p struct{ X float64 }
		if err := json.Unmarshal(params, &p); err != nil {
			return nil, err
		}
		if p.X < 0 {
			return nil, errors.New("negative x")
		}
		vals := map[string]float64{"x2": 2 * p.X}
		timed(vals, "op", func(n int) {
			for range n {
				p.X++
			}
		}, 0, 3)
		return vals, nil
	})
	s := &Section{Name: "selftest", Title: "Self-test section", Ratios: [][2]string{{"a", "b"}},
		Columns: []Column{{Name: "a"}, {Name: "b", Engine: "portable"},
			{Name: "broken", Command: func(context.Context) ([]string, error) { return nil, errors.New("no toolchain") }}},
		Notes:  []string{"a note under the table"},
		Charts: []ChartSpec{{File: "selftest.png", Title: "self", X: "x", Y: "y", Cases: []string{"double"}, LogY: true}},
	}
	s.Plan = func(Config) []Probe {
		var ps []Probe
		for i, col := range []string{"a", "b", "broken"} {
			ps = append(ps, Probe{ID: col, Column: col, Desc: "selftest " + col, Task: "selftest", Params: map[string]float64{"X": float64(i + 1)}})
		}
		return append(ps, Probe{ID: "fail", Column: "a", Desc: "selftest fail", Task: "selftest", Params: map[string]float64{"X": -1}})
	}
	s.Rows = func(_ Config, res Results) []Row {
		id := func(col string) string { return col }
		return []Row{
			s.Row("double", "x", 1, "x", "higher", res.Cell(id, "x2")),
			s.TimedRow("op", "increment", 0, "ns/op", res, id, "op"),
			s.Row("failing", "x", 0, "x", "higher", res.Cell(func(string) string { return "fail" }, "x2")),
		}
	}
	registerSection(s)
}

func TestSection(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := Main([]string{"-only", "selftest", "-quick", "-out", dir, "-json", filepath.Join(dir, "r.json")}, &stdout, &stderr)
	t.Logf("stderr:\n%s\nstdout:\n%s", stderr.String(), stdout.String())
	require.Equal(t, 1, code, "a failed probe makes the report fail")
	b, err := os.ReadFile(filepath.Join(dir, "r.json"))
	require.NoError(t, err)
	var rep Report
	require.NoError(t, json.Unmarshal(b, &rep))
	assert.Empty(t, rep.Rows, "the core table was not asked for")
	require.Len(t, rep.Sections, 1)
	sr := rep.Sections[0]
	assert.Equal(t, []string{"a", "b", "broken"}, sr.Columns)
	require.Len(t, sr.Rows, 3)
	double := sr.Rows[0]
	assert.Equal(t, map[string]float64{"a": 2, "b": 4}, double.Values)
	assert.Contains(t, double.NA["broken"], "no toolchain")
	assert.InDelta(t, 0.5, double.Ratios["a/b"], 1e-9)
	op := sr.Rows[1]
	for _, col := range []string{"a", "b"} {
		assert.Positive(t, op.Values[col])
		assert.LessOrEqual(t, op.Best[col], op.Values[col])
	}
	assert.Contains(t, sr.Rows[2].NA["a"], "negative x")
	assert.Len(t, rep.Errors, 1)

	table := stdout.String()
	for _, want := range []string{"Self-test section", "a note under the table", "a/b", "0.50x", "broken: cannot build: no toolchain"} {
		assert.Contains(t, table, want)
	}
	saved, err := os.ReadFile(filepath.Join(dir, TableFile))
	require.NoError(t, err)
	assert.Contains(t, string(saved), "Self-test section", "the table is written next to the charts")
	assert.FileExists(t, filepath.Join(dir, "selftest.png"))

	// -best re-renders from the JSON with the fastest runs.
	var best bytes.Buffer
	require.Equal(t, 0, Main([]string{"-from", filepath.Join(dir, "r.json"), "-best", "-out", t.TempDir()}, &best, &stderr))
	assert.True(t, strings.Contains(best.String(), "increment"), best.String())

	_, err = parseOnly("core,nonsense")
	assert.ErrorContains(t, err, fmt.Sprintf("%q", "nonsense"))
}

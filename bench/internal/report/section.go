package report

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// A Section is a family of rows beside the core table (round trips, memory,
// tick, capacity): its own columns, child measurements, notes and charts.
// Each lives in a file of its own (section_*.go) and registers itself with
// registerSection from an init function, so that a new family of rows is a
// new file.
type Section struct {
	// Name identifies the section (-only) and its JSON; Title heads its
	// table.
	Name, Title string
	// Columns are the section's columns, in order.
	Columns []Column
	// Ratios are the ratio columns: column over baseline.
	Ratios [][2]string
	// Plan lists the child measurements for cfg. A probe whose column is
	// an engine that is not available in this process is not run.
	Plan func(cfg Config) []Probe
	// Rows builds the section's rows from the results of its probes.
	Rows func(cfg Config, res Results) []Row
	// Notes are printed under the section's table.
	Notes []string
	// Charts are drawn from the section's rows.
	Charts []ChartSpec
}

// A Column is one column of a section, and how its children run.
type Column struct {
	Name string
	// Engine is COSTACK_ENGINE for the column's children ("" leaves it
	// alone); a column whose engine is unavailable is n/a.
	Engine string
	// Command, if set, returns the command line of an external program
	// that speaks the child protocol (ChildFlag, resultPrefix): a
	// measurement in another module, such as one with dependencies the
	// library must not have. It is called once per report; nil runs this
	// binary.
	Command func(ctx context.Context) ([]string, error)
}

// A Probe is one child measurement of a section.
type Probe struct {
	// ID identifies the probe's result within the section.
	ID string
	// Column is the column whose process kind runs it.
	Column string
	// Desc is its progress line.
	Desc string
	// Task names the child task (registerChildTask) and Params are its
	// parameters, passed as JSON.
	Task   string
	Params any
	// Need is the memory it is expected to take (as step.need).
	Need int64
}

// Results are the values the probes of a section returned.
type Results struct {
	values map[string]map[string]float64
	na     map[string]string
}

// Value returns value key of probe id, or why there is none.
func (r Results) Value(id, key string) (float64, string) {
	if why := r.na[id]; why != "" {
		return 0, why
	}
	vs, ok := r.values[id]
	if !ok {
		return 0, "not measured"
	}
	v, ok := vs[key]
	if !ok {
		return 0, "no value " + key
	}
	return v, ""
}

// Cell is Value as a row cell getter (see Section.Row).
func (r Results) Cell(id func(col string) string, key string) func(col string) (float64, string) {
	return func(col string) (float64, string) { return r.Value(id(col), key) }
}

// Row builds a row of section s: get returns each column's value or why it
// has none. Ratios follow s.Ratios.
func (s *Section) Row(c, p string, x float64, unit, better string, get func(col string) (float64, string)) Row {
	r := Row{Case: c, Param: p, X: x, Unit: unit, Better: better,
		Values: map[string]float64{}, NA: map[string]string{}}
	for _, col := range s.Columns {
		v, why := get(col.Name)
		if why != "" {
			r.NA[col.Name] = why
			continue
		}
		r.Values[col.Name] = v
	}
	r.Ratios = ratiosOf(s.Ratios, r.Values)
	return r
}

// SectionReport is a section's part of a Report.
type SectionReport struct {
	Name    string   `json:"name"`
	Title   string   `json:"title"`
	Columns []string `json:"columns"`
	Ratios  []string `json:"ratios"`
	Rows    []Row    `json:"rows"`
	Notes   []string `json:"notes,omitempty"`
}

var sections []*Section

// registerSection adds s to every report, in the order of registration
// (file name order, as Go runs init functions).
func registerSection(s *Section) {
	if s.Name == "" || s.Name == coreSection || slices.ContainsFunc(sections, func(o *Section) bool { return o.Name == s.Name }) {
		panic("report: bad or duplicate section name " + s.Name)
	}
	sections = append(sections, s)
}

// coreSection is the name of the core table for -only.
const coreSection = "core"

// SectionNames lists the names -only accepts.
func SectionNames() []string {
	names := []string{coreSection}
	for _, s := range sections {
		names = append(names, s.Name)
	}
	return names
}

// childTasks are the child tasks of sections, by name.
var childTasks = map[string]func(params json.RawMessage) (map[string]float64, error){}

// registerChildTask makes fn the child task name: it runs in a fresh
// process with the probe's Params and returns named values.
func registerChildTask(name string, fn func(params json.RawMessage) (map[string]float64, error)) {
	if _, dup := childTasks[name]; dup || name == "" {
		panic("report: bad or duplicate child task " + name)
	}
	childTasks[name] = fn
}

// ratiosOf computes ratio columns of values.
func ratiosOf(pairs [][2]string, values map[string]float64) map[string]float64 {
	m := map[string]float64{}
	for _, p := range pairs {
		a, ok1 := values[p[0]]
		b, ok2 := values[p[1]]
		if ok1 && ok2 && b != 0 {
			m[RatioKey(p[0], p[1])] = a / b
		}
	}
	return m
}

// selected reports whether -only (a set, empty for all) includes name.
func selected(only map[string]bool, name string) bool { return len(only) == 0 || only[name] }

// parseOnly parses -only.
func parseOnly(s string) (map[string]bool, error) {
	if s == "" {
		return nil, nil
	}
	only := map[string]bool{}
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		if !slices.Contains(SectionNames(), n) {
			names := SectionNames()
			sort.Strings(names)
			return nil, fmt.Errorf("unknown section %q (sections: %s)", n, strings.Join(names, ", "))
		}
		only[n] = true
	}
	return only, nil
}

// sectionPlan is a section being measured: its probes' results as they
// come in.
type sectionPlan struct {
	s   *Section
	res Results
}

// planSections returns the selected sections and the steps that measure
// them. na maps an unavailable costack engine's column name (native,
// portable) to why: columns with that engine are n/a.
func planSections(ctx context.Context, cfg Config, na map[string]string) ([]*sectionPlan, []step, error) {
	var plans []*sectionPlan
	var steps []step
	for _, s := range sections {
		if !selected(cfg.Only, s.Name) {
			continue
		}
		p := &sectionPlan{s: s, res: Results{values: map[string]map[string]float64{}, na: map[string]string{}}}
		plans = append(plans, p)
		argvs := map[string][]string{}
		for _, col := range s.Columns {
			if col.Command == nil {
				continue
			}
			argv, err := col.Command(ctx)
			if err != nil {
				// The column is n/a, not the report.
				argvs[col.Name] = nil
				p.res.na["column:"+col.Name] = "cannot build: " + firstLine(err)
				continue
			}
			argvs[col.Name] = argv
		}
		for _, pr := range s.Plan(cfg) {
			col := s.column(pr.Column)
			if col == nil {
				return nil, nil, fmt.Errorf("section %s: probe %s has unknown column %q", s.Name, pr.ID, pr.Column)
			}
			if why := p.res.na["column:"+col.Name]; why != "" {
				p.res.na[pr.ID] = why
				continue
			}
			if why := na[engineColumn(col.Engine)]; col.Engine != "" && why != "" {
				p.res.na[pr.ID] = why
				continue
			}
			params, err := json.Marshal(pr.Params)
			if err != nil {
				return nil, nil, fmt.Errorf("section %s: probe %s: %w", s.Name, pr.ID, err)
			}
			id := pr.ID
			steps = append(steps, step{
				desc: pr.Desc,
				k:    kind{name: col.Name, engine: col.Engine},
				t:    task{Task: pr.Task, Params: params},
				argv: argvs[col.Name],
				need: pr.Need,
				store: func(r *childResult, err error) {
					if err != nil {
						p.res.na[id] = naReason(err)
						return
					}
					p.res.values[id] = r.Values
				},
			})
		}
	}
	return plans, steps, nil
}

// engineColumn is the core column of a COSTACK_ENGINE value.
func engineColumn(engine string) string {
	if engine == "portable" {
		return ColPortable
	}
	return ColNative
}

func (s *Section) column(name string) *Column {
	for i := range s.Columns {
		if s.Columns[i].Name == name {
			return &s.Columns[i]
		}
	}
	return nil
}

// buildSections turns the measured sections into their reports.
func buildSections(cfg Config, plans []*sectionPlan) []SectionReport {
	var out []SectionReport
	for _, p := range plans {
		sr := SectionReport{Name: p.s.Name, Title: p.s.Title, Notes: p.s.Notes}
		for _, c := range p.s.Columns {
			sr.Columns = append(sr.Columns, c.Name)
		}
		for _, r := range p.s.Ratios {
			sr.Ratios = append(sr.Ratios, RatioKey(r[0], r[1]))
		}
		sr.Rows = p.s.Rows(cfg, p.res)
		out = append(out, sr)
	}
	return out
}

// TimedRow is Row for a timing value: key is the median a probe returned
// and key+"/best" its fastest run (see timed), which goes into Row.Best.
func (s *Section) TimedRow(c, p string, x float64, unit string, res Results, id func(col string) string, key string) Row {
	r := s.Row(c, p, x, unit, "lower", res.Cell(id, key))
	r.Best = map[string]float64{}
	for col := range r.Values {
		if v, why := res.Value(id(col), key+"/best"); why == "" {
			r.Best[col] = v
		}
	}
	return r
}

// timed measures op (see measure) into vals as key and key+"/best".
func timed(vals map[string]float64, key string, op func(n int), target time.Duration, runs int) {
	vals[key], vals[key+"/best"] = measure(op, target, runs)
}

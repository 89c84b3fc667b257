package report

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/costack-dev/costack/bench/internal/workload"
)

// ratioHeaders are the short table headers of ratioPairs.
var ratioHeaders = []string{"nat/Pull", "nat/gor", "port/Pull", "port/gor"}

// WriteTable prints the header and the aligned table of r to w.
func (r *Report) WriteTable(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "costack-bench  %s\n", r.Date.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "machine:  %s, %d cores (GOMAXPROCS %d), %s %s/%s; load average %.1f at start, %.1f at end\n",
		m.CPU, m.Cores, m.GOMAXPROCS, m.Go, m.GOOS, m.GOARCH, m.LoadStart, m.LoadEnd)
	for _, col := range []string{ColNative, ColPortable} {
		fmt.Fprintf(w, "engine:   %-9s = %s\n", col, or(r.Engines[col], "unknown"))
	}
	stat := "median"
	if r.Stat == StatBest {
		stat = "fastest"
	}
	fmt.Fprintf(w, "settings: N = %s; budget %s; timing: %s of %d rounds × %d runs of %v; every measurement in a fresh process\n",
		joinInts(r.N), FormatBytes(r.Budget), stat, r.Rounds, r.Runs, r.Target)
	fmt.Fprintln(w)

	head := append([]string{"case", "param", "unit"}, Columns...)
	head = append(head, ratioHeaders...)
	rows := [][]string{head}
	for _, row := range r.Rows {
		cells := []string{row.Case, row.Param, row.Unit}
		for _, col := range Columns {
			v, ok := row.Values[col]
			switch {
			case !ok:
				cells = append(cells, "n/a")
			case row.Case == CaseCapacity && r.CapacityStops[col] != "":
				cells = append(cells, "≥"+formatValue(v))
			default:
				cells = append(cells, formatValue(v))
			}
		}
		for _, p := range ratioPairs {
			if v, ok := row.Ratios[RatioKey(p[0], p[1])]; ok {
				cells = append(cells, fmt.Sprintf("%.2fx", v))
			} else {
				cells = append(cells, "n/a")
			}
		}
		rows = append(rows, cells)
	}
	if len(r.Rows) > 0 {
		writeGrid(w, rows)

		fmt.Fprintln(w)
		fmt.Fprintln(w, "Ratios: nat = costack native engine, port = costack portable engine, Pull = iter.Pull, gor = goroutines+channels;")
		fmt.Fprintln(w, "a ratio is costack's value divided by the baseline's. Below 1x costack is faster / smaller; for capacity")
		fmt.Fprintln(w, "(more is better) above 1x means more instances fit.")
		fmt.Fprintln(w, "round trip: one resume + the yield that ends it, body yielding that many calls deep. 64 in turn: 64 instances")
		fmt.Fprintf(w, "(yielding %d calls deep) resumed one after the other from the same place (control), or each resume from\n", workload.RelocDepth)
		fmt.Fprintln(w, "another goroutine / call depth than the last, which makes the native engine relocate. Memory, tick and capacity:")
		fmt.Fprintln(w, "every instance runs a game entity (three float locals, one integration step per resume, yielding one call below")
		fmt.Fprintln(w, "its body). RSS = resident-set growth (includes off-heap memory) per suspended instance; Footprint = costack's own")
		fmt.Fprintln(w, "accounting; Go heap+stack = runtime.MemStats HeapAlloc+StackInuse growth. tick: every entity resumed once per tick.")
		if r.Stat == StatBest {
			fmt.Fprintln(w, "Times are the fastest timed run of each cell (-best); -json has the medians too.")
		} else {
			fmt.Fprintln(w, "Times are medians; -best shows the fastest run instead, and -json has both.")
		}
		writeNA(w, Columns, r.Rows)
		for _, col := range Columns {
			if s := r.CapacityStops[col]; s != "" {
				fmt.Fprintf(w, "capacity %s stopped early (%s): ≥ is a lower bound\n", col, s)
			}
		}
		if l := max(m.LoadStart, m.LoadEnd); m.Cores > 0 && l > float64(m.Cores) {
			fmt.Fprintf(w, "note: load average %.1f > %d cores: other programs competed for the CPU, so the times are noisy.\n", l, m.Cores)
		}
	}
	for _, sr := range r.Sections {
		sr.writeTable(w)
	}
	for _, e := range r.Errors {
		fmt.Fprintln(w, "error:", e)
	}
}

// writeTable prints a section's table, its notes and its n/a reasons.
func (sr *SectionReport) writeTable(w io.Writer) {
	fmt.Fprintf(w, "\n%s\n\n", sr.Title)
	head := append([]string{"case", "param", "unit"}, sr.Columns...)
	head = append(head, sr.Ratios...)
	grid := [][]string{head}
	for _, row := range sr.Rows {
		cells := []string{row.Case, row.Param, row.Unit}
		for _, col := range sr.Columns {
			if v, ok := row.Values[col]; ok {
				cells = append(cells, formatValue(v))
			} else {
				cells = append(cells, "n/a")
			}
		}
		for _, k := range sr.Ratios {
			if v, ok := row.Ratios[k]; ok {
				cells = append(cells, fmt.Sprintf("%.2fx", v))
			} else {
				cells = append(cells, "n/a")
			}
		}
		grid = append(grid, cells)
	}
	writeGrid(w, grid)
	if len(sr.Notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range sr.Notes {
			fmt.Fprintln(w, n)
		}
	}
	writeNA(w, sr.Columns, sr.Rows)
}

// writeGrid prints rows of cells aligned, the first row as a header with a
// rule under it; the first three columns left-aligned, the others right.
func writeGrid(w io.Writer, rows [][]string) {
	widths := make([]int, len(rows[0]))
	for _, cells := range rows {
		for i, c := range cells {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for ri, cells := range rows {
		var b strings.Builder
		for i, c := range cells {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if i < 3 {
				b.WriteString(c + pad)
			} else {
				b.WriteString(pad + c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
		if ri == 0 {
			total := 2 * (len(widths) - 1)
			for _, x := range widths {
				total += x
			}
			fmt.Fprintln(w, strings.Repeat("-", total))
		}
	}
}

// writeNA prints the n/a reasons of rows: once per column and reason, with
// the cases it covers unless it covers them all.
func writeNA(w io.Writer, columns []string, rows []Row) {
	notes := map[string][]string{}
	var order []string
	for _, row := range rows {
		for _, col := range columns {
			why, ok := row.NA[col]
			if !ok {
				continue
			}
			key := col + ": " + why
			if _, seen := notes[key]; !seen {
				order = append(order, key)
			}
			notes[key] = append(notes[key], row.Case)
		}
	}
	if len(order) == 0 {
		return
	}
	fmt.Fprintln(w, "n/a:")
	for _, key := range order {
		if len(notes[key]) == len(rows) {
			fmt.Fprintf(w, "  %s\n", key)
			continue
		}
		cases := slices.Compact(notes[key])
		fmt.Fprintf(w, "  %s (%s)\n", key, strings.Join(cases, ", "))
	}
}

func formatValue(v float64) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0"
	case a < 10:
		return fmt.Sprintf("%.2f", v)
	case a < 1000:
		return fmt.Sprintf("%.1f", v)
	default:
		return groupThousands(fmt.Sprintf("%.0f", v))
	}
}

func groupThousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func joinInts(n []int) string {
	s := make([]string, len(n))
	for i, v := range n {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ", ")
}

package report

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Chart file names, written into the -out directory.
const (
	ChartMemory    = "bytes-per-instance.png"
	ChartRoundTrip = "round-trip-vs-depth.png"
	ChartTick      = "tick-vs-n.png"
)

// Charts lists the chart files WriteCharts writes for the core table.
var Charts = []string{ChartMemory, ChartRoundTrip, ChartTick}

var colColors = map[string]color.Color{
	ColNative:    color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	ColPortable:  color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	ColIterPull:  color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	ColGoroutine: color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
}

// ChartSpec is one chart: a line per column and case, from the rows of
// its table whose case is in Cases and whose X is positive.
type ChartSpec struct {
	File, Title, X, Y string
	// Cases are the row cases drawn; lines of cases after the first are
	// dashed and their legend entry is the column plus the case.
	Cases []string
	// LogX and LogY put an axis on a log scale; XTicks, if set, are the
	// only ticks of the X axis.
	LogX, LogY bool
	XTicks     []float64
	// CountX labels X ticks as counts (1k, 10M).
	CountX bool
}

// coreCharts are the charts of the core table.
var coreCharts = []ChartSpec{
	// Bytes on a log axis: native's few hundred bytes and the baselines'
	// few thousand are both readable.
	{File: ChartMemory, Title: "Bytes per suspended instance (RSS growth; dashed: costack Footprint)", X: "N (instances)", Y: "bytes (log scale)",
		Cases: []string{CaseRSS, CaseFootprint}, LogX: true, LogY: true, CountX: true},
	{File: ChartRoundTrip, Title: "Resume+yield round trip", X: "call depth of the yield", Y: "ns per round trip",
		Cases: []string{CaseRoundTrip}, LogX: true, XTicks: depthsF()},
	{File: ChartTick, Title: "Game-loop tick", X: "N (entities)", Y: "ns per entity per tick",
		Cases: []string{CaseTick}, LogX: true, CountX: true},
}

func depthsF() []float64 {
	var f []float64
	for _, d := range Depths {
		f = append(f, float64(d))
	}
	return f
}

// caption is the line under every chart's title: where and when it was
// measured.
func (r *Report) caption() string {
	m := r.Machine
	eng := r.Engines[ColNative]
	if eng == "" {
		eng = r.Engines[ColPortable]
	}
	return fmt.Sprintf("%s, %d cores, %s %s/%s; %s; %s", m.CPU, m.Cores, m.Go, m.GOOS, m.GOARCH, eng, r.Date.Format("2006-01-02 15:04 MST"))
}

// WriteCharts writes the PNG charts of r (the core table's and the
// sections') into dir (created if needed) and returns their paths.
func (r *Report) WriteCharts(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	draw := func(spec ChartSpec, columns []string, rows []Row) error {
		path := filepath.Join(dir, spec.File)
		drawn, err := drawChart(spec, r.caption(), columns, rows, path)
		if err != nil {
			return err
		}
		if drawn {
			files = append(files, path)
		}
		return nil
	}
	if len(r.Rows) > 0 {
		for _, spec := range coreCharts {
			if err := draw(spec, Columns, r.Rows); err != nil {
				return nil, err
			}
		}
	}
	for _, sr := range r.Sections {
		s := sectionNamed(sr.Name)
		if s == nil {
			continue // a saved report of a section this binary does not have
		}
		for _, spec := range s.Charts {
			if err := draw(spec, sr.Columns, sr.Rows); err != nil {
				return nil, err
			}
		}
	}
	return files, nil
}

func sectionNamed(name string) *Section {
	for _, s := range sections {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// palette colours columns by position: the core columns' colours first.
var palette = []color.Color{
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
	color.RGBA{R: 0xe3, G: 0x77, B: 0xc2, A: 0xff},
}

func colourOf(col string, i int) color.Color {
	if c, ok := colColors[col]; ok {
		return c
	}
	return palette[(i+4)%len(palette)]
}

// drawChart draws spec from rows into path; drawn is false (and no file is
// written) when no row has data for it.
func drawChart(spec ChartSpec, caption string, columns []string, rows []Row, path string) (drawn bool, err error) {
	p := plot.New()
	p.Title.Text = spec.Title + "\n" + caption
	p.Title.TextStyle.Font.Size = vg.Points(11)
	p.X.Label.Text = spec.X
	p.Y.Label.Text = spec.Y
	p.Y.Tick.Marker = plainTicks{}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	entries := 0
	minY, maxY := math.Inf(1), math.Inf(-1)
	for ci, c := range spec.Cases {
		for i, col := range columns {
			var pts plotter.XYs
			for _, row := range rows {
				if row.Case != c {
					continue
				}
				if v, ok := row.Values[col]; ok && row.X > 0 && (v > 0 || !spec.LogY) {
					pts = append(pts, plotter.XY{X: row.X, Y: v})
					minY, maxY = math.Min(minY, v), math.Max(maxY, v)
				}
			}
			if len(pts) == 0 {
				continue
			}
			line, points, err := plotter.NewLinePoints(pts)
			if err != nil {
				return false, fmt.Errorf("chart %s: %w", spec.File, err)
			}
			line.Color = colourOf(col, i)
			line.Width = vg.Points(1.5)
			points.Color = line.Color
			points.Shape = draw.CircleGlyph{}
			name := col
			if ci > 0 {
				line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
				name = col + " " + c
			}
			p.Add(line, points)
			p.Legend.Add(name, line, points)
			entries++
		}
	}
	if entries == 0 {
		return false, nil
	}
	p.Legend.Padding = vg.Points(2)
	p.Legend.XOffs = vg.Points(8)
	if spec.LogY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
		// Head room for the legend: a factor on a log axis.
		p.Y.Min, p.Y.Max = minY/2, maxY*math.Pow(4, 1+0.3*float64(entries))
	} else {
		p.Y.Min = 0
		p.Y.Max *= 1 + 0.1*float64(entries)
	}
	if spec.LogX {
		if p.X.Min >= p.X.Max {
			p.X.Min, p.X.Max = p.X.Min/2, p.X.Max*2
		}
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = logTicks{}
		if spec.CountX {
			p.X.Tick.Marker = countTicks{}
		}
	}
	if len(spec.XTicks) > 0 {
		var ts plot.ConstantTicks
		for _, x := range spec.XTicks {
			ts = append(ts, plot.Tick{Value: x, Label: strconv.FormatFloat(x, 'g', -1, 64)})
		}
		p.X.Tick.Marker = ts
	}
	if err := p.Save(8*vg.Inch, 5*vg.Inch, path); err != nil {
		return false, fmt.Errorf("chart %s: %w", spec.File, err)
	}
	return true, nil
}

// logTicks are log-scale ticks at 1, 2 and 5 times each power of ten, with
// plain labels: more ticks than plot.LogTicks gives, so values can be read.
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log10(min)); math.Pow(10, e) <= max; e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v < min || v > max {
				continue
			}
			ts = append(ts, plot.Tick{Value: v, Label: humanCount(v)})
		}
	}
	return ts
}

// countTicks are log-scale ticks labelled 1k, 10k, 1M.
type countTicks struct{}

func (countTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.LogTicks{Prec: -1}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = humanCount(ts[i].Value)
		}
	}
	return ts
}

func humanCount(v float64) string {
	switch {
	case v >= 1e9:
		return strconv.FormatFloat(v/1e9, 'g', -1, 64) + "G"
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', -1, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'g', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// plainTicks are the default ticks labelled without needless decimals.
type plainTicks struct{}

func (plainTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = strconv.FormatFloat(ts[i].Value, 'f', -1, 64)
		}
	}
	return ts
}

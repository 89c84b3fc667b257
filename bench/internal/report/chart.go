package report

import (
	"fmt"
	"image/color"
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

// Charts lists the chart files WriteCharts writes.
var Charts = []string{ChartMemory, ChartRoundTrip, ChartTick}

var colColors = map[string]color.Color{
	ColNative:    color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	ColPortable:  color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	ColIterPull:  color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	ColGoroutine: color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
}

// WriteCharts writes the PNG charts of r into dir (created if needed) and
// returns their paths.
func (r *Report) WriteCharts(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	specs := []struct {
		file, title, x, y string
		cases             []string
		logX              bool
	}{
		// Only the memory chart has a second case, drawn dashed.
		{ChartMemory, "Bytes per suspended instance (RSS growth; dashed: costack Footprint)", "N (instances)", "bytes", []string{CaseRSS, CaseFootprint}, true},
		{ChartRoundTrip, "Resume+yield round trip", "call depth of the yield", "ns per round trip", []string{CaseRoundTrip}, true},
		{ChartTick, "Game-loop tick", "N (entities)", "ns per entity per tick", []string{CaseTick}, true},
	}
	var files []string
	for _, s := range specs {
		p := plot.New()
		p.Title.Text = s.title
		p.X.Label.Text = s.x
		p.Y.Label.Text = s.y
		p.Y.Min = 0
		p.Y.Tick.Marker = plainTicks{}
		p.Legend.Top = true
		p.Legend.Left = true
		p.Add(plotter.NewGrid())
		hasData, entries := false, 0
		for ci, c := range s.cases {
			for _, col := range Columns {
				var pts plotter.XYs
				for _, row := range r.Rows {
					if row.Case != c {
						continue
					}
					if v, ok := row.Values[col]; ok && row.X > 0 {
						pts = append(pts, plotter.XY{X: row.X, Y: v})
					}
				}
				if len(pts) == 0 {
					continue
				}
				line, points, err := plotter.NewLinePoints(pts)
				if err != nil {
					return nil, fmt.Errorf("chart %s: %w", s.file, err)
				}
				line.Color = colColors[col]
				line.Width = vg.Points(1.5)
				points.Color = colColors[col]
				points.Shape = draw.CircleGlyph{}
				name := col
				if ci > 0 {
					line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
					name = col + " Footprint"
				}
				p.Add(line, points)
				p.Legend.Add(name, line, points)
				hasData = true
				entries++
			}
		}
		// Head room for the legend, which sits in the top left corner.
		p.Y.Max *= 1 + 0.1*float64(entries)
		p.Legend.Padding = vg.Points(2)
		p.Legend.XOffs = vg.Points(8)
		if s.logX && hasData {
			// A log axis needs a range of positive values.
			if p.X.Min >= p.X.Max {
				p.X.Min, p.X.Max = p.X.Min/2, p.X.Max*2
			}
			p.X.Scale = plot.LogScale{}
			p.X.Tick.Marker = countTicks{}
			if s.file == ChartRoundTrip {
				var ts plot.ConstantTicks
				for _, d := range Depths {
					ts = append(ts, plot.Tick{Value: float64(d), Label: strconv.Itoa(d)})
				}
				p.X.Tick.Marker = ts
			}
		}
		path := filepath.Join(dir, s.file)
		if err := p.Save(8*vg.Inch, 5*vg.Inch, path); err != nil {
			return nil, fmt.Errorf("chart %s: %w", s.file, err)
		}
		files = append(files, path)
	}
	return files, nil
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

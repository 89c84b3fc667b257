// Package pngcheck tells whether a screenshot shows a picture: enough
// pixels that are not the background, in enough colours.
package pngcheck

import (
	"fmt"
	"image"
	"image/png"
	"os"
)

// Result describes an image's content.
type Result struct {
	Pixels     int     // width × height
	Foreground float64 // the fraction of pixels unlike the most common colour
	Colours    int     // distinct colours
}

// Analyze reads the content of img.
func Analyze(img image.Image) Result {
	b := img.Bounds()
	counts := map[uint32]int{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			counts[(r>>8)<<16|(g>>8)<<8|bl>>8]++
		}
	}
	most := 0
	for _, c := range counts {
		most = max(most, c)
	}
	n := b.Dx() * b.Dy()
	r := Result{Pixels: n, Colours: len(counts)}
	if n > 0 {
		r.Foreground = float64(n-most) / float64(n)
	}
	return r
}

// Check returns an error unless img has at least minForeground of its
// pixels unlike the background and at least minColours colours.
func Check(img image.Image, minForeground float64, minColours int) (Result, error) {
	r := Analyze(img)
	if r.Pixels == 0 {
		return r, fmt.Errorf("empty image")
	}
	if r.Foreground < minForeground || r.Colours < minColours {
		return r, fmt.Errorf("looks blank: %.2f%% foreground (want >= %.2f%%), %d colours (want >= %d)",
			100*r.Foreground, 100*minForeground, r.Colours, minColours)
	}
	return r, nil
}

// CheckFile is Check of a PNG file.
func CheckFile(path string, minForeground float64, minColours int) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return Result{}, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", path, err)
	}
	return Check(img, minForeground, minColours)
}

// Command pngcheck fails unless a PNG shows a picture (see package
// pngcheck): CI runs it on the example's screenshot.
//
//	go run ./cmd/pngcheck out.png
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/costack-dev/costack/examples/ebiten/pngcheck"
)

func main() {
	fg := flag.Float64("foreground", 0.01, "least fraction of pixels unlike the background")
	colours := flag.Int("colours", 64, "least number of distinct colours")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: pngcheck [-foreground f] [-colours n] file.png")
		os.Exit(2)
	}
	r, err := pngcheck.CheckFile(flag.Arg(0), *fg, *colours)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pngcheck:", err)
		os.Exit(1)
	}
	fmt.Printf("pngcheck: %s: %dpx, %.1f%% foreground, %d colours: ok\n", flag.Arg(0), r.Pixels, 100*r.Foreground, r.Colours)
}

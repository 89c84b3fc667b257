package pngcheck

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCheck(t *testing.T) {
	blank := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for i := range blank.Pix {
		blank.Pix[i] = 0x20
	}
	_, err := Check(blank, 0.01, 8)
	assert.ErrorContains(t, err, "looks blank")

	drawn := image.NewRGBA(image.Rect(0, 0, 64, 48))
	copy(drawn.Pix, blank.Pix)
	for i := range 200 {
		drawn.Set(i%64, i/64*3, color.RGBA{uint8(i), uint8(255 - i), 128, 255})
	}
	r, err := Check(drawn, 0.01, 8)
	require.NoError(t, err)
	assert.Equal(t, 64*48, r.Pixels)
	assert.Greater(t, r.Colours, 100)

	_, err = Check(image.NewRGBA(image.Rect(0, 0, 0, 0)), 0.01, 1)
	assert.Error(t, err)

	path := filepath.Join(t.TempDir(), "x.png")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, png.Encode(f, drawn))
	require.NoError(t, f.Close())
	_, err = CheckFile(path, 0.01, 8)
	assert.NoError(t, err)
	_, err = CheckFile(filepath.Join(t.TempDir(), "missing.png"), 0.01, 8)
	assert.Error(t, err)
}

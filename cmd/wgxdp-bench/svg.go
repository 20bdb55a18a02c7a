package main

import (
	"fmt"
	"html"
	"math"
	"os"
	"slices"
	"strings"
)

// writeSVG draws ChaCha20-Poly1305 throughput (GB/s) against packet size
// (log scale) from the seal and open results: one line per variant, solid
// for Seal and dashed for Open. It is hand-written SVG, so that the tool
// needs no plotting library.
func writeSVG(path string, rs []result, variants []string) error {
	const (
		width, height            = 760, 440
		left, right, top, bottom = 70, 170, 40, 60
	)
	var sizes []int
	maxY := 0.0
	for _, r := range rs {
		if r.Op != "seal" && r.Op != "open" {
			continue
		}
		if !slices.Contains(sizes, r.Size) {
			sizes = append(sizes, r.Size)
		}
		maxY = math.Max(maxY, r.GBPerSec)
	}
	if len(sizes) == 0 || maxY == 0 {
		return fmt.Errorf("svg: no seal or open results to draw")
	}
	maxY = niceCeil(maxY)
	lo, hi := math.Log2(float64(sizes[0])), math.Log2(float64(sizes[len(sizes)-1]))
	if hi == lo {
		lo, hi = lo-1, hi+1
	}
	plotW, plotH := float64(width-left-right), float64(height-top-bottom)
	x := func(size int) float64 { return left + (math.Log2(float64(size))-lo)/(hi-lo)*plotW }
	y := func(v float64) float64 { return top + plotH - v/maxY*plotH }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15">ChaCha20-Poly1305 throughput, one core (solid: Seal, dashed: Open)</text>`+"\n", left)
	for i := 0; i <= 5; i++ { // y grid
		v := maxY * float64(i) / 5
		fmt.Fprintf(&b, `<line x1="%d" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, left+plotW, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%.2f</text>`+"\n", left-6, y(v)+4, v)
	}
	for _, s := range sizes { // x ticks
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%.1f" stroke="#eee"/>`+"\n", x(s), x(s), top, top+plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%d</text>`+"\n", x(s), top+plotH+18, s)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">packet size (bytes, log scale)</text>`+"\n", left+plotW/2, height-15)
	fmt.Fprintf(&b, `<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">GB/s</text>`+"\n", top+plotH/2)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%.1f" fill="none" stroke="#444"/>`+"\n", left, top, plotW, plotH)

	palette := []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"}
	for i, v := range variants {
		color := palette[i%len(palette)]
		for _, op := range []string{"seal", "open"} {
			var pts []string
			for _, r := range rs {
				if r.Op == op && r.Variant == v && r.GBPerSec > 0 {
					pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(r.Size), y(r.GBPerSec)))
				}
			}
			dash := ""
			if op == "open" {
				dash = ` stroke-dasharray="6 4"`
			}
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(pts, " "), color, dash)
		}
		ly := top + 10 + 20*i
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="%s" stroke-width="2"/>`+"\n", left+plotW+12, left+plotW+36, ly, ly, color)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`+"\n", left+plotW+42, ly+4, html.EscapeString(v))
	}
	b.WriteString("</svg>\n")
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

package render

import (
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// canvas builds an SVG document by hand. Every number goes through num, so
// the same drawing always yields the same bytes.
type canvas struct {
	b    strings.Builder
	w, h float64
}

func newCanvas(w, h float64, title string) *canvas {
	c := &canvas{w: w, h: h}
	c.b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	c.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" font-family="sans-serif" font-size="12">`+"\n",
		num(w), num(h), num(w), num(h))
	c.printf("<title>%s</title>\n", esc(title))
	c.rect(0, 0, w, h, `fill="#ffffff"`)
	c.text(w/2, 24, "middle", `font-size="16" font-weight="bold"`, title)
	return c
}

func (c *canvas) printf(format string, args ...any) {
	fmt.Fprintf(&c.b, format, args...)
}

func (c *canvas) line(x1, y1, x2, y2 float64, attrs string) {
	c.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s"%s/>`+"\n", num(x1), num(y1), num(x2), num(y2), sp(attrs))
}

func (c *canvas) rect(x, y, w, h float64, attrs string) {
	c.printf(`<rect x="%s" y="%s" width="%s" height="%s"%s/>`+"\n", num(x), num(y), num(math.Max(w, 0)), num(math.Max(h, 0)), sp(attrs))
}

// text draws s with its anchor ("start", "middle" or "end") at (x, y).
func (c *canvas) text(x, y float64, anchor, attrs, s string) {
	c.printf(`<text x="%s" y="%s" text-anchor="%s"%s>%s</text>`+"\n", num(x), num(y), anchor, sp(attrs), esc(s))
}

// rotatedText draws s turned by deg degrees about (x, y).
func (c *canvas) rotatedText(x, y, deg float64, anchor, attrs, s string) {
	c.printf(`<text x="%s" y="%s" text-anchor="%s" transform="rotate(%s %s %s)"%s>%s</text>`+"\n",
		num(x), num(y), anchor, num(deg), num(x), num(y), sp(attrs), esc(s))
}

func (c *canvas) polyline(xs, ys []float64, attrs string) {
	var pts strings.Builder
	for i := range xs {
		if i > 0 {
			pts.WriteByte(' ')
		}
		pts.WriteString(num(xs[i]))
		pts.WriteByte(',')
		pts.WriteString(num(ys[i]))
	}
	c.printf(`<polyline points="%s" fill="none"%s/>`+"\n", pts.String(), sp(attrs))
}

func (c *canvas) bytes() []byte {
	c.b.WriteString("</svg>\n")
	return []byte(c.b.String())
}

// sp puts a space before extra attributes, if any.
func sp(attrs string) string {
	if attrs == "" {
		return ""
	}
	return " " + attrs
}

// num formats a coordinate with at most two decimals.
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	v = math.Round(v*100) / 100
	if v == 0 {
		v = 0 // no "-0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func esc(s string) string {
	var b strings.Builder
	// EscapeText only fails on a failing writer; a strings.Builder never fails.
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// axis is a linear scale over [lo, hi] with evenly spaced, round ticks.
type axis struct {
	lo, hi, step float64
	ticks        []float64
}

// niceAxis returns an axis covering [lo, hi] with about n ticks at round
// values (1, 2 or 5 times a power of ten).
func niceAxis(lo, hi float64, n int) axis {
	if math.IsNaN(lo) || math.IsInf(lo, 0) {
		lo = 0
	}
	if math.IsNaN(hi) || math.IsInf(hi, 0) || hi < lo {
		hi = lo
	}
	if hi == lo {
		if lo == 0 {
			hi = 1
		} else {
			hi = lo + math.Abs(lo)
		}
	}
	step := niceNum(niceNum(hi-lo, false)/float64(max(n-1, 1)), true)
	a := axis{lo: math.Floor(lo/step) * step, hi: math.Ceil(hi/step) * step, step: step}
	count := int(math.Round((a.hi - a.lo) / step))
	for i := 0; i <= count; i++ {
		a.ticks = append(a.ticks, a.lo+float64(i)*step)
	}
	return a
}

// niceNum is Heckbert's "nice number": a round number close to x.
func niceNum(x float64, round bool) float64 {
	exp := math.Floor(math.Log10(x))
	f := x / math.Pow(10, exp)
	var nf float64
	switch {
	case round && f < 1.5, !round && f <= 1:
		nf = 1
	case round && f < 3, !round && f <= 2:
		nf = 2
	case round && f < 7, !round && f <= 5:
		nf = 5
	default:
		nf = 10
	}
	return nf * math.Pow(10, exp)
}

// scale maps v on the axis to the pixel range [p0, p1].
func (a axis) scale(v, p0, p1 float64) float64 {
	return p0 + (v-a.lo)/(a.hi-a.lo)*(p1-p0)
}

// label formats a tick value, with as many decimals as the step needs and
// k or M for large round values.
func (a axis) label(v float64) string {
	big := math.Max(math.Abs(a.lo), math.Abs(a.hi))
	switch {
	case big >= 1e6 && a.step >= 1e5:
		return trimNum(v/1e6, a.step/1e6) + "M"
	case big >= 1e4 && a.step >= 1e3:
		return trimNum(v/1e3, a.step/1e3) + "k"
	}
	return trimNum(v, a.step)
}

func trimNum(v, step float64) string {
	dec := 0
	if step < 1 {
		dec = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	s := strconv.FormatFloat(v, 'f', dec, 64)
	if s == "-0" {
		s = "0"
	}
	return s
}

package render

import (
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Colours and sizes shared by the plots.
const (
	plotW      = 760.0
	barColour  = "#4c78a8"
	lineColour = "#e45756"
	markColour = "#54a24b"
	axisAttrs  = `stroke="#333333" stroke-width="1"`
	gridAttrs  = `stroke="#dddddd" stroke-width="1"`
	mutedAttrs = `fill="#666666"`
	haloAttrs  = `stroke="#ffffff" stroke-width="3" paint-order="stroke"` // keeps a label legible over bars
)

// frame is a plot area inside a canvas.
type frame struct {
	c                        *canvas
	left, top, right, bottom float64
}

// xAxis draws the bottom axis with its ticks, tick labels and label.
func (f frame) xAxis(a axis, label string) {
	f.c.line(f.left, f.bottom, f.right, f.bottom, axisAttrs)
	for _, t := range a.ticks {
		x := a.scale(t, f.left, f.right)
		f.c.line(x, f.bottom, x, f.bottom+5, axisAttrs)
		f.c.text(x, f.bottom+18, "middle", "", a.label(t))
	}
	f.c.text((f.left+f.right)/2, f.bottom+40, "middle", "", label)
}

// yAxis draws the left axis with horizontal grid lines at its ticks.
func (f frame) yAxis(a axis, label string) {
	for _, t := range a.ticks {
		y := a.scale(t, f.bottom, f.top)
		if t != a.lo {
			f.c.line(f.left, y, f.right, y, gridAttrs)
		}
		f.c.line(f.left-5, y, f.left, y, axisAttrs)
		f.c.text(f.left-8, y+4, "end", "", a.label(t))
	}
	f.c.line(f.left, f.top, f.left, f.bottom, axisAttrs)
	f.c.rotatedText(f.left-52, (f.top+f.bottom)/2, -90, "middle", "", label)
}

// rightAxis draws a second vertical axis on the right, in colour.
func (f frame) rightAxis(a axis, label, colour string) {
	attrs := `fill="` + colour + `"`
	f.c.line(f.right, f.top, f.right, f.bottom, axisAttrs)
	for _, t := range a.ticks {
		y := a.scale(t, f.bottom, f.top)
		f.c.line(f.right, y, f.right+5, y, axisAttrs)
		f.c.text(f.right+8, y+4, "start", attrs, a.label(t))
	}
	f.c.rotatedText(f.right+48, (f.top+f.bottom)/2, 90, "middle", attrs, label)
}

func (f frame) empty(msg string) {
	f.c.text((f.left+f.right)/2, (f.top+f.bottom)/2, "middle", `font-size="14" `+mutedAttrs, msg)
}

// marker is a labelled vertical line on a distribution plot.
type marker struct {
	name  string
	value float64
}

// latencyPlot draws a latency distribution: a histogram of the samples
// (left axis), their cumulative share (right axis) and dashed lines at the
// given percentiles.
// total is how many samples the run measured, if more than it kept.
func latencyPlot(title, what string, samples []float64, total int, marks []marker) []byte {
	vals := finite(samples)
	slices.Sort(vals)
	unit, div := "ms", 1.0
	if len(vals) > 0 && vals[len(vals)-1] >= 10_000 {
		unit, div = "s", 1000
	}
	heading := fmt.Sprintf("%s (%d samples)", title, len(vals))
	if total > len(vals) {
		heading = fmt.Sprintf("%s (%d samples of %d)", title, len(vals), total)
	}
	c := newCanvas(plotW, 420, heading)
	f := frame{c: c, left: 80, top: 50, right: plotW - 80, bottom: 420 - 60}
	hi := 0.0
	if len(vals) > 0 {
		hi = vals[len(vals)-1] / div
	}
	for _, m := range marks {
		hi = math.Max(hi, m.value/div)
	}
	lo := 0.0
	if len(vals) > 0 {
		lo = math.Min(0, vals[0]/div)
	}
	xa := niceAxis(lo, hi, 8)
	xLabel := fmt.Sprintf("%s (%s)", what, unit)
	if len(vals) == 0 {
		f.yAxis(niceAxis(0, 1, 5), "samples")
		f.xAxis(xa, xLabel)
		f.empty("no samples")
		return c.bytes()
	}

	// Bins: a whole number of bins per tick interval, about sqrt(n) in all.
	intervals := len(xa.ticks) - 1
	perTick := int(math.Round(math.Sqrt(float64(len(vals))) / float64(intervals)))
	perTick = min(max(perTick, 1), 60/intervals)
	nbins := max(intervals*perTick, 1)
	width := (xa.hi - xa.lo) / float64(nbins)
	counts := make([]int, nbins)
	for _, v := range vals {
		i := int(math.Floor((v/div - xa.lo) / width))
		counts[min(max(i, 0), nbins-1)]++
	}
	ya := niceAxis(0, float64(slices.Max(counts)), 6)
	f.yAxis(ya, "samples")

	for i, n := range counts {
		if n == 0 {
			continue
		}
		x0 := xa.scale(xa.lo+float64(i)*width, f.left, f.right)
		x1 := xa.scale(xa.lo+float64(i+1)*width, f.left, f.right)
		y := ya.scale(float64(n), f.bottom, f.top)
		c.rect(x0+0.5, y, x1-x0-1, f.bottom-y, `fill="`+barColour+`"`)
	}

	// Cumulative share at each bin's right edge.
	pa := niceAxis(0, 100, 5)
	xs := []float64{f.left}
	ys := []float64{f.bottom}
	cum := 0
	for i, n := range counts {
		cum += n
		xs = append(xs, xa.scale(xa.lo+float64(i+1)*width, f.left, f.right))
		ys = append(ys, pa.scale(100*float64(cum)/float64(len(vals)), f.bottom, f.top))
	}
	c.polyline(xs, ys, `stroke="`+lineColour+`" stroke-width="2"`)
	f.rightAxis(pa, "cumulative share of samples (%)", lineColour)

	for i, m := range marks {
		v := m.value / div
		if math.IsNaN(v) || math.IsInf(v, 0) || (v == 0 && vals[0] > 0) {
			continue // not a figure the run measured
		}
		x := xa.scale(v, f.left, f.right)
		c.line(x, f.top, x, f.bottom, `stroke="`+markColour+`" stroke-width="1.5" stroke-dasharray="5,4"`)
		anchor, dx := "start", 4.0
		if x > (f.left+f.right)/2 {
			anchor, dx = "end", -4
		}
		c.text(x+dx, f.top+14+float64(i)*14, anchor, `fill="`+markColour+`" `+haloAttrs,
			fmt.Sprintf("%s %s %s", m.name, short(v), unit))
	}
	f.xAxis(xa, xLabel)
	return c.bytes()
}

// messagesPlot draws one bar per node, named, with the mean as a line.
func messagesPlot(counts []int, names []string) []byte {
	total := 0
	for _, n := range counts {
		total += n
	}
	h := 460.0
	c := newCanvas(plotW, h, fmt.Sprintf("Messages per node (%d nodes, %d messages)", len(counts), total))
	f := frame{c: c, left: 80, top: 50, right: plotW - 30, bottom: h - 110}
	if len(counts) == 0 {
		f.yAxis(niceAxis(0, 1, 5), "messages")
		f.c.line(f.left, f.bottom, f.right, f.bottom, axisAttrs)
		f.c.text((f.left+f.right)/2, h-30, "middle", "", "node")
		f.empty("no nodes")
		return c.bytes()
	}
	ya := niceAxis(0, float64(slices.Max(counts)), 6)
	f.yAxis(ya, "messages")
	slot := (f.right - f.left) / float64(len(counts))
	gap := 0.0
	if slot >= 4 {
		gap = slot * 0.2
	}
	every := (len(counts) + 59) / 60 // at most 60 names under the axis
	for i, n := range counts {
		x := f.left + float64(i)*slot
		y := ya.scale(float64(n), f.bottom, f.top)
		c.rect(x+gap/2, y, slot-gap, f.bottom-y, `fill="`+barColour+`"`)
		if i%every == 0 {
			cx := x + slot/2
			c.line(cx, f.bottom, cx, f.bottom+4, axisAttrs)
			c.rotatedText(cx+3, f.bottom+10, -60, "end", `font-size="10"`, nodeName(names, i, len(counts)))
		}
	}
	c.line(f.left, f.bottom, f.right, f.bottom, axisAttrs)
	mean := float64(total) / float64(len(counts))
	y := ya.scale(mean, f.bottom, f.top)
	c.line(f.left, y, f.right, y, `stroke="`+lineColour+`" stroke-width="1.5" stroke-dasharray="6,4"`)
	c.text(f.right-4, y-5, "end", `fill="`+lineColour+`" `+haloAttrs, "mean "+short(mean))
	c.text((f.left+f.right)/2, h-30, "middle", "", "node")
	return c.bytes()
}

// nodeName is the i-th node's name, or a placeholder if the report does not
// name every node.
func nodeName(names []string, i, n int) string {
	if len(names) == n && names[i] != "" {
		return names[i]
	}
	return "#" + strconv.Itoa(i)
}

// bytesPlot draws the bytes on the wire per record and per reconciliation
// difference as two horizontal bars, with the duplicate-suppression ratio.
func bytesPlot(perRecord, perDiff, dupSuppression float64) []byte {
	h := 230.0
	c := newCanvas(plotW, h, "Bytes on the wire")
	f := frame{c: c, left: 200, top: 45, right: plotW - 90, bottom: h - 80}
	rows := []struct {
		label string
		v     float64
	}{{"per record", perRecord}, {"per reconciliation difference", perDiff}}
	hi := 0.0
	for _, r := range rows {
		if !math.IsNaN(r.v) && !math.IsInf(r.v, 0) {
			hi = math.Max(hi, r.v)
		}
	}
	xa := niceAxis(0, hi, 6)
	for _, t := range xa.ticks[1:] {
		x := xa.scale(t, f.left, f.right)
		c.line(x, f.top, x, f.bottom, gridAttrs)
	}
	band := (f.bottom - f.top) / float64(len(rows))
	for i, r := range rows {
		y := f.top + float64(i)*band
		c.text(f.left-8, y+band/2+4, "end", "", r.label)
		v := r.v
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			c.text(f.left+6, y+band/2+4, "start", mutedAttrs, "n/a")
			continue
		}
		x := xa.scale(v, f.left, f.right)
		c.rect(f.left, y+band*0.2, x-f.left, band*0.6, `fill="`+barColour+`"`)
		c.text(x+6, y+band/2+4, "start", "", short(v)+" B")
	}
	c.line(f.left, f.top, f.left, f.bottom, axisAttrs)
	f.xAxis(xa, "bytes")
	c.text(f.left, h-10, "start", mutedAttrs,
		"duplicate suppression (assertions per unique indicator): "+strconv.FormatFloat(dupSuppression, 'f', 2, 64))
	return c.bytes()
}

// finite returns a copy of xs without NaNs and infinities.
func finite(xs []float64) []float64 {
	out := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			out = append(out, x)
		}
	}
	return out
}

// short formats a figure for a label: no decimals from 100 on, one below.
func short(v float64) string {
	if math.Abs(v) >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

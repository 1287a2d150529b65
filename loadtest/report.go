package loadtest

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes results as indented JSON: one object for a single run,
// a list for a sweep.
func WriteJSON(w io.Writer, results []*Result, sweep bool) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	var v any = results
	if !sweep && len(results) == 1 {
		v = results[0]
	}
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// CSVHeader lists the columns WriteCSV writes.
var CSVHeader = []string{
	"mode", "concurrency", "target_rate_rps", "scheduled", "requests", "successes", "duration_s",
	"throughput_rps", "success_rps", "latency_min_ms", "latency_mean_ms", "latency_p50_ms",
	"latency_p90_ms", "latency_p99_ms", "latency_p999_ms", "latency_max_ms", "errors",
}

// WriteCSV writes one row per result under CSVHeader. The errors column
// holds "key=count" pairs joined by ';', sorted by key.
func WriteCSV(w io.Writer, results []*Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, r := range results {
		row := []string{
			r.Mode, strconv.Itoa(r.Concurrency), f(r.TargetRateRPS), strconv.FormatInt(r.Scheduled, 10),
			strconv.FormatInt(r.Requests, 10), strconv.FormatInt(r.Successes, 10), f(r.DurationS),
			f(r.ThroughputRPS), f(r.SuccessRPS), f(r.LatencyMS.Min), f(r.LatencyMS.Mean),
			f(r.LatencyMS.P50), f(r.LatencyMS.P90), f(r.LatencyMS.P99), f(r.LatencyMS.P999),
			f(r.LatencyMS.Max), FormatErrors(r.Errors, "=", ";"),
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// FormatErrors joins an errors map as key<kv>count pairs sorted by key.
func FormatErrors(m map[string]int64, kv, sep string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + kv + strconv.FormatInt(m[k], 10)
	}
	return strings.Join(parts, sep)
}

// WriteTable writes a human-readable table, one row per result.
func WriteTable(w io.Writer, results []*Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\tconc\trate/s\trequests\tthroughput/s\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tmax ms\terrors\t")
	for _, r := range results {
		conc, rate := "-", "-"
		if r.Concurrency > 0 {
			conc = strconv.Itoa(r.Concurrency)
		}
		if r.TargetRateRPS > 0 {
			rate = strconv.FormatFloat(r.TargetRateRPS, 'g', 6, 64)
		}
		errs := FormatErrors(r.Errors, ":", " ")
		if errs == "" {
			errs = "0"
		}
		l := r.LatencyMS
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.1f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%s\t\n",
			r.Mode, conc, rate, r.Requests, r.ThroughputRPS, l.P50, l.P90, l.P99, l.P999, l.Max, errs)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

// plot geometry
const (
	plotW, plotH                       = 760, 460
	marginL, marginR, marginT, marginB = 70, 150, 40, 50
)

var plotSeries = []struct {
	name, color string
	get         func(Latency) float64
}{
	{"p50", "#1f77b4", func(l Latency) float64 { return l.P50 }},
	{"p90", "#2ca02c", func(l Latency) float64 { return l.P90 }},
	{"p99", "#d62728", func(l Latency) float64 { return l.P99 }},
	{"p99.9", "#9467bd", func(l Latency) float64 { return l.P999 }},
}

// WriteSVG writes a latency-against-throughput chart as a standalone SVG
// document: one polyline per percentile, one point per result, in the
// order given.
func WriteSVG(w io.Writer, title string, results []*Result) error {
	var b strings.Builder
	xMax, yMax := 0.0, 0.0
	for _, r := range results {
		xMax = math.Max(xMax, r.ThroughputRPS)
		for _, s := range plotSeries {
			yMax = math.Max(yMax, s.get(r.LatencyMS))
		}
	}
	xTicks, xTop := niceTicks(xMax)
	yTicks, yTop := niceTicks(yMax)
	iw, ih := float64(plotW-marginL-marginR), float64(plotH-marginT-marginB)
	px := func(v float64) float64 { return float64(marginL) + v/xTop*iw }
	py := func(v float64) float64 { return float64(marginT) + ih - v/yTop*ih }

	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", plotW, plotH, plotW, plotH)
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="white"/>`+"\n", plotW, plotH)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" text-anchor="middle">%s</text>`+"\n", plotW/2, html.EscapeString(title))
	for _, v := range xTicks {
		x := px(v)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", x, marginT, x, plotH-marginB)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x, plotH-marginB+16, fmtTick(v))
	}
	for _, v := range yTicks {
		y := py(v)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", marginL, y, plotW-marginR, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", marginL-6, y+4, fmtTick(v))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.0f" height="%.0f" fill="none" stroke="#333"/>`+"\n", marginL, marginT, iw, ih)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">throughput (requests/s)</text>`+"\n", float64(marginL)+iw/2, plotH-12)
	fmt.Fprintf(&b, `<text x="16" y="%.1f" text-anchor="middle" transform="rotate(-90 16 %.1f)">latency (ms)</text>`+"\n", float64(marginT)+ih/2, float64(marginT)+ih/2)
	for si, s := range plotSeries {
		pts := make([]string, len(results))
		for i, r := range results {
			pts[i] = fmt.Sprintf("%.1f,%.1f", px(r.ThroughputRPS), py(s.get(r.LatencyMS)))
		}
		fmt.Fprintf(&b, `<polyline class="series-%s" fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", s.name, s.color, strings.Join(pts, " "))
		for _, r := range results {
			fmt.Fprintf(&b, `<circle class="point-%s" cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s: %.1f req/s, %s %.3f ms</title></circle>`+"\n",
				s.name, px(r.ThroughputRPS), py(s.get(r.LatencyMS)), s.color, html.EscapeString(runLabel(r)), r.ThroughputRPS, s.name, s.get(r.LatencyMS))
		}
		ly := marginT + 10 + si*20
		lx := plotW - marginR + 15
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/><text x="%d" y="%d">%s</text>`+"\n", lx, ly, lx+20, ly, s.color, lx+26, ly+4, s.name)
	}
	b.WriteString("</svg>\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write svg: %w", err)
	}
	return nil
}

// WritePlotHTML writes one self-contained HTML page holding the SVG chart
// and the results table.
func WritePlotHTML(w io.Writer, title string, results []*Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n", html.EscapeString(title))
	b.WriteString("<style>body{font-family:sans-serif;margin:20px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}</style>\n</head>\n<body>\n")
	if err := WriteSVG(&b, title, results); err != nil {
		return err
	}
	b.WriteString("<table>\n<tr><th>run</th><th>requests</th><th>throughput/s</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th>errors</th></tr>\n")
	for _, r := range results {
		l := r.LatencyMS
		fmt.Fprintf(&b, "<tr><td>%s</td><td>%d</td><td>%.1f</td><td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%s</td></tr>\n",
			html.EscapeString(runLabel(r)), r.Requests, r.ThroughputRPS, l.P50, l.P90, l.P99, l.P999, l.Max, html.EscapeString(FormatErrors(r.Errors, ":", " ")))
	}
	b.WriteString("</table>\n</body>\n</html>\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write plot: %w", err)
	}
	return nil
}

func runLabel(r *Result) string {
	if r.Mode == "open" {
		return fmt.Sprintf("rate=%g/s", r.TargetRateRPS)
	}
	return fmt.Sprintf("c=%d", r.Concurrency)
}

// niceTicks returns about five round tick values from 0 covering max, and
// the top of the axis.
func niceTicks(max float64) ([]float64, float64) {
	if !(max > 0) || math.IsInf(max, 0) {
		return []float64{0, 1}, 1
	}
	raw := max / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	top := math.Ceil(max/step) * step
	if top < max*1.02 {
		top += step
	}
	var ticks []float64
	for v := 0.0; v <= top+step/2; v += step {
		ticks = append(ticks, v)
	}
	return ticks, top
}

func fmtTick(v float64) string {
	return strconv.FormatFloat(v, 'g', 4, 64)
}

package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// report prints, per mode, one markdown row per library: the medians over
// rounds of its own figures, and the medians over rounds of its ratio to the
// baseline measured in the same round.
func report(w io.Writer, results map[string]map[string][]sample, modes []string, rows, rounds int, began time.Time, load0, load1 string) {
	fmt.Fprintf(w, "- Date: %s UTC, %d rows of `wide`, %d rounds\n", began.Format("2006-01-02 15:04"), rows, rounds)
	fmt.Fprintf(w, "- Machine: %s, %d CPUs, %s %s/%s\n", cpuModel(), runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "- Load average (1, 5, 15 min): %s at the start, %s at the end\n\n", load0, load1)
	for _, mode := range modes {
		base := results[mode][baseline]
		fmt.Fprintf(w, "%s (ratios: median over rounds of library / %s in the same round)\n\n", mode, baseline)
		fmt.Fprintln(w, "| library | ms | rows/s | wall × | CPU × | peak RSS MB | RSS × | live heap MB | heap × |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
		for _, l := range libs {
			ss := results[mode][l.name]
			if len(ss) == 0 {
				continue
			}
			wall := med(ss, func(s sample) float64 { return float64(s.WallNS) })
			heap := med(ss, func(s sample) float64 { return float64(s.Heap) })
			rss := med(ss, func(s sample) float64 { return float64(s.RSSKB) })
			heapX := "–"
			if mode == "held" {
				heapX = fmt.Sprintf("%.2f", ratio(ss, base, func(s sample) float64 { return float64(s.Heap) }))
			}
			fmt.Fprintf(w, "| %s | %.0f | %.2f M | %.2f | %.2f | %.1f | %.2f | %.1f | %s |\n",
				l.name, wall/1e6, float64(rows)/(wall/1e9)/1e6,
				ratio(ss, base, func(s sample) float64 { return float64(s.WallNS) }),
				ratio(ss, base, func(s sample) float64 { return float64(s.CPUNS) }),
				rss/1024, ratio(ss, base, func(s sample) float64 { return float64(s.RSSKB) }),
				heap/(1<<20), heapX)
		}
		fmt.Fprintln(w)
	}
}

func med(ss []sample, f func(sample) float64) float64 {
	xs := make([]float64, len(ss))
	for i, s := range ss {
		xs[i] = f(s)
	}
	return median(xs)
}

// ratio is the median over rounds of f(a[r]) / f(b[r]).
func ratio(a, b []sample, f func(sample) float64) float64 {
	xs := make([]float64, 0, len(a))
	for r := range a {
		if r < len(b) && f(b[r]) != 0 {
			xs = append(xs, f(a[r])/f(b[r]))
		}
	}
	if len(xs) == 0 {
		return 0
	}
	return median(xs)
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

package bench

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// PeakRSSKiB returns this process's peak resident set size in KiB (VmHWM of
// /proc/self/status, the figure getrusage reports as ru_maxrss), or 0 where
// it cannot be read.
func PeakRSSKiB() int64 { return statusField("VmHWM:") }

// RSSKiB returns this process's current resident set size in KiB (VmRSS).
func RSSKiB() int64 { return statusField("VmRSS:") }

func statusField(name string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name); ok {
			v, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return v
		}
	}
	return 0
}

// CPUModel returns the "model name" of the first processor in
// /proc/cpuinfo, or "unknown".
func CPUModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// LoadAverage returns the 1-, 5- and 15-minute load averages of
// /proc/loadavg (zeros where unreadable).
func LoadAverage() [3]float64 {
	var out [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return out
	}
	f := strings.Fields(string(b))
	for i := 0; i < 3 && i < len(f); i++ {
		out[i], _ = strconv.ParseFloat(f[i], 64)
	}
	return out
}

package bench

import (
	"math"
	"slices"
	"time"
)

// Plan says how a case is timed: Warmup untimed calls (TorchScript's
// profiling executor specialises a graph on its first calls of each input
// shape, so every shape is warmed before timing), then Reps repetitions,
// each running calls until RepSeconds have passed and at least MinCalls
// calls were made. third_party/tools/bench_python.py times the Python side
// the same way.
type Plan struct {
	Warmup     int     `json:"warmup"`
	Reps       int     `json:"reps"`
	RepSeconds float64 `json:"rep_seconds"`
	MinCalls   int     `json:"min_calls"`
}

// Rep is one timed repetition: how many calls it made, how long it took in
// all, and each call's latency in seconds.
type Rep struct {
	Calls     int       `json:"calls"`
	Seconds   float64   `json:"seconds"`
	Latencies []float64 `json:"latencies,omitempty"`
}

// Measure times call according to p and returns the repetitions. It stops
// at the first error.
func Measure(p Plan, call func() error) ([]Rep, error) {
	for range p.Warmup {
		if err := call(); err != nil {
			return nil, err
		}
	}
	timed := func() (float64, error) {
		t0 := time.Now()
		err := call()
		return time.Since(t0).Seconds(), err
	}
	reps := make([]Rep, 0, p.Reps)
	for range p.Reps {
		r, err := RunRep(p, timed)
		if err != nil {
			return nil, err
		}
		reps = append(reps, r)
	}
	return reps, nil
}

// RunRep runs one repetition of p: calls until p.RepSeconds have passed
// and at least p.MinCalls (at least one) were made. call returns the
// latency to record, usually its own duration (a staged call returns the
// duration of the stage under study); Seconds is the repetition's wall time.
func RunRep(p Plan, call func() (float64, error)) (Rep, error) {
	minCalls := max(p.MinCalls, 1)
	var lat []float64
	start := time.Now()
	for {
		l, err := call()
		if err != nil {
			return Rep{}, err
		}
		lat = append(lat, l)
		if len(lat) >= minCalls && time.Since(start).Seconds() >= p.RepSeconds {
			break
		}
	}
	return Rep{Calls: len(lat), Seconds: time.Since(start).Seconds(), Latencies: lat}, nil
}

// Rates returns, per repetition, units*calls/seconds: the throughput of each
// repetition when one call handles units items.
func Rates(reps []Rep, units float64) []float64 {
	out := make([]float64, len(reps))
	for i, r := range reps {
		out[i] = units * float64(r.Calls) / r.Seconds
	}
	return out
}

// MeanLatencies returns each repetition's mean call latency in seconds.
func MeanLatencies(reps []Rep) []float64 {
	out := make([]float64, len(reps))
	for i, r := range reps {
		out[i] = Mean(r.Latencies)
	}
	return out
}

// AllLatencies pools the call latencies of every repetition.
func AllLatencies(reps []Rep) []float64 {
	var out []float64
	for _, r := range reps {
		out = append(out, r.Latencies...)
	}
	return out
}

// Summary is the median and spread of a sample.
type Summary struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Q1     float64 `json:"q1"`
	Q3     float64 `json:"q3"`
}

// Summarize returns the median, extremes and quartiles of xs.
func Summarize(xs []float64) Summary {
	if len(xs) == 0 {
		return Summary{}
	}
	return Summary{N: len(xs), Median: Quantile(xs, 0.5), Min: slices.Min(xs), Max: slices.Max(xs),
		Q1: Quantile(xs, 0.25), Q3: Quantile(xs, 0.75)}
}

// Quantile returns the q-quantile of xs with linear interpolation between
// order statistics (numpy's default method); NaN for an empty sample.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// Median returns the median of xs.
func Median(xs []float64) float64 { return Quantile(xs, 0.5) }

// Mean returns the arithmetic mean of xs (NaN when empty).
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

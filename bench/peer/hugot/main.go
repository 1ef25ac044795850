//go:build ORT

// Command hugotcell is the peer contender of hfbench (`make bench`): hugot's
// text-classification pipeline with its ONNX Runtime backend, run on the
// benchmark model exported to ONNX. It serves hfbench's cell protocol
// (bench/cmd/hfbench/worker.go, serveCell) for the end-to-end phase only:
//
//	hugotcell -job JOB.json -result OUT.json
//
// It lives in a Go module of its own (bench/peer/hugot/go.mod), so that
// hfpipe's go.mod does not take in hugot and its dependencies, and builds
// only with the ORT tag and libtokenizers.a on the linker path; `make
// bench-peer` (bench/peer/setup.sh) builds the library, fetches ONNX Runtime
// and builds this command into bench/tmp/peer.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/knights-analytics/hugot"
	"github.com/knights-analytics/hugot/options"
	"github.com/knights-analytics/hugot/pipelines"

	"github.com/hfpipe/hfpipe/bench"
)

// job is hfbench's cell job for the peer: the fields of its Go cell job
// that apply, and where the ONNX model and ONNX Runtime's library are.
type job struct {
	Model       string     `json:"model"`   // the model folder: tokenizer.json, config.json
	ONNX        string     `json:"onnx"`    // the ONNX file, inside Model
	ORTLibrary  string     `json:"ort_lib"` // libonnxruntime.so
	Threads     int        `json:"threads"` // ONNX Runtime intra-op threads
	BS          int        `json:"bs"`      // texts per call
	Texts       []string   `json:"texts"`   // a multiple of BS; call k takes batch k mod (len/BS)
	Plan        bench.Plan `json:"plan"`    // warm-up calls and repetitions
	RewarmBelow float64    `json:"rewarm_below"`
}

// result is what hfbench reads back (its peerResult).
type result struct {
	Contender         string       `json:"contender"`
	Threads           int          `json:"threads"`
	LoadSeconds       float64      `json:"load_seconds"`
	FirstCallSeconds  float64      `json:"first_call_seconds"`
	SecondCallSeconds float64      `json:"second_call_seconds"`
	E2E               []bench.Rep  `json:"e2e"`
	PeakRSSKiB        int64        `json:"peak_rss_kb"`
	FirstResults      []labelScore `json:"first_results"`
}

// labelScore is one text's top class, as pipeline.Result encodes it.
type labelScore struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

func main() {
	jobPath := flag.String("job", "", "the cell job (JSON) hfbench wrote")
	resultPath := flag.String("result", "", "where to write the result (JSON)")
	classify := flag.Bool("classify", false, "classify the job's texts in batches of its batch size (the last may be shorter), write {\"results\": [...]} and exit, without the cell protocol")
	flag.Parse()
	if *jobPath == "" || *resultPath == "" {
		fmt.Fprintln(os.Stderr, "usage: hugotcell [-classify] -job JOB.json -result OUT.json (hfbench starts it; see bench/cmd/hfbench)")
		os.Exit(2)
	}
	if err := run(*jobPath, *resultPath, *classify, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "hugotcell:", err)
		os.Exit(1)
	}
}

func run(jobPath, resultPath string, classify bool, in io.Reader, out io.Writer) error {
	data, err := os.ReadFile(jobPath)
	if err != nil {
		return err
	}
	var j job
	if err := json.Unmarshal(data, &j); err != nil {
		return fmt.Errorf("%s: %w", jobPath, err)
	}
	if j.BS < 1 || len(j.Texts) == 0 || !classify && len(j.Texts)%j.BS != 0 {
		return fmt.Errorf("%d texts is not a positive multiple of batch size %d", len(j.Texts), j.BS)
	}
	if j.Threads < 1 {
		return fmt.Errorf("threads %d: want at least 1", j.Threads)
	}
	if filepath.Dir(j.ONNX) != filepath.Clean(j.Model) {
		return fmt.Errorf("the ONNX file %s must lie in the model folder %s (hugot loads it from there)", j.ONNX, j.Model)
	}

	t0 := time.Now()
	// hugot finds the library by folder and file name (libonnxruntime.so).
	session, err := hugot.NewORTSession(
		options.WithOnnxLibraryPath(filepath.Dir(j.ORTLibrary)),
		options.WithIntraOpNumThreads(j.Threads),
		options.WithInterOpNumThreads(1),
	)
	if err != nil {
		return fmt.Errorf("ONNX Runtime session (library %s): %w", j.ORTLibrary, err)
	}
	defer session.Destroy()
	// Softmax: hugot's text classification applies a sigmoid to the
	// logits unless told otherwise; transformers' pipeline (and hfpipe's)
	// take the softmax of a single-label head.
	p, err := hugot.NewPipeline(session, hugot.TextClassificationConfig{
		ModelPath:    j.Model,
		OnnxFilename: filepath.Base(j.ONNX),
		Name:         "bench",
		Options:      []hugot.TextClassificationOption{pipelines.WithSoftmax(), pipelines.WithSingleLabel()},
	})
	if err != nil {
		return fmt.Errorf("hugot pipeline on %s: %w", j.ONNX, err)
	}
	s := &server{job: j, p: p, last: map[string]float64{},
		res: &result{Contender: "hugot v0.6.1 (ONNX Runtime)", Threads: j.Threads, LoadSeconds: time.Since(t0).Seconds()}}
	for i := 0; i < len(j.Texts); i += j.BS {
		s.batches = append(s.batches, j.Texts[i:min(i+j.BS, len(j.Texts))])
	}
	if classify {
		var all []labelScore
		for _, b := range s.batches {
			r, err := s.runBatch(b)
			if err != nil {
				return err
			}
			all = append(all, r...)
		}
		raw, err := json.Marshal(map[string]any{"results": all})
		if err != nil {
			return err
		}
		return os.WriteFile(resultPath, raw, 0o644)
	}
	fmt.Fprintln(out, "ready")
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		var err error
		switch {
		case f[0] == "warm" && len(f) == 2 && f[1] == "e2e":
			for range j.Plan.Warmup {
				if _, err = s.call(); err != nil {
					break
				}
			}
		case f[0] == "rep" && len(f) == 2 && f[1] == "e2e":
			err = s.rep()
		case f[0] == "mark":
			s.res.PeakRSSKiB = bench.PeakRSSKiB()
		case f[0] == "done":
			raw, err := json.Marshal(s.res)
			if err == nil {
				err = os.WriteFile(resultPath, raw, 0o644)
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(out, "ok")
			return nil
		default:
			err = fmt.Errorf("unknown command %q (hugotcell times the e2e phase only)", sc.Text())
		}
		if err != nil {
			fmt.Fprintln(out, "error:", strings.ReplaceAll(err.Error(), "\n", " "))
			return err
		}
		fmt.Fprintln(out, "ok")
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return errors.New("stdin closed before done")
}

type server struct {
	job     job
	p       *pipelines.TextClassificationPipeline
	batches [][]string
	k       int
	last    map[string]float64
	res     *result
}

// runBatch classifies one batch and returns each text's top class.
func (s *server) runBatch(batch []string) ([]labelScore, error) {
	o, err := s.p.RunPipeline(batch)
	if err != nil {
		return nil, err
	}
	if len(o.ClassificationOutputs) != len(batch) {
		return nil, fmt.Errorf("hugot returned %d results for %d texts", len(o.ClassificationOutputs), len(batch))
	}
	out := make([]labelScore, len(batch))
	for i, r := range o.ClassificationOutputs {
		if len(r) == 0 {
			return nil, fmt.Errorf("hugot returned no class for text %d", i)
		}
		out[i] = labelScore{Label: r[0].Label, Score: float64(r[0].Score)}
	}
	return out, nil
}

// call makes one timed end-to-end call and returns its latency.
func (s *server) call() (float64, error) {
	batch := s.batches[s.k%len(s.batches)]
	first := s.k == 0
	s.k++
	t0 := time.Now()
	out, err := s.runBatch(batch)
	lat := time.Since(t0).Seconds()
	if err != nil {
		return 0, err
	}
	if s.k == 2 {
		s.res.SecondCallSeconds = lat
	}
	if first {
		s.res.FirstCallSeconds = lat
		s.res.FirstResults = out
	}
	s.last["e2e"] = lat
	return lat, nil
}

func (s *server) rep() error {
	if s.last["e2e"] < s.job.RewarmBelow {
		if _, err := s.call(); err != nil {
			return err
		}
	}
	r, err := bench.RunRep(s.job.Plan, s.call)
	if err != nil {
		return err
	}
	s.res.E2E = append(s.res.E2E, r)
	return nil
}

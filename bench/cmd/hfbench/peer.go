package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hfpipe/hfpipe/bench"
	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/hfpipe/hfpipe/pipeline"
)

// The peer contender: hugot (github.com/knights-analytics/hugot) with its
// ONNX Runtime backend, in a Go module of its own (bench/peer/hugot) that
// `make bench-peer` (bench/peer/setup.sh) builds into bench/tmp/peer
// together with libtokenizers.a and ONNX Runtime's library. Its process
// (hugotcell) speaks the cell protocol's e2e phase and takes its turns with
// hfpipe's and Python's processes.

// peerProc is the peer's process name in a cell.
const peerProc = "hugot"

// onnxFile is the benchmark model's ONNX export, in the model folder
// (hugot loads the tokenizer, config and graph from one folder).
const onnxFile = "model.onnx"

// peerSetup is where the peer's pieces are.
type peerSetup struct {
	bin, ortLib, onnx string
	info              *peerInfo
}

// peerInfo describes the peer in the report.
type peerInfo struct {
	Name       string `json:"name"`
	ORT        string `json:"ort"`         // "onnxruntime 1.23.2"
	ONNXExport string `json:"onnx_export"` // export_onnx.py's metadata, as written
}

// peerJob is hugotcell's job (bench/peer/hugot/main.go).
type peerJob struct {
	Model       string     `json:"model"`
	ONNX        string     `json:"onnx"`
	ORTLibrary  string     `json:"ort_lib"`
	Threads     int        `json:"threads"`
	BS          int        `json:"bs"`
	Texts       []string   `json:"texts"`
	Plan        bench.Plan `json:"plan"`
	RewarmBelow float64    `json:"rewarm_below"`
}

// peerResult is hugotcell's result.
type peerResult struct {
	Contender         string            `json:"contender"`
	Threads           int               `json:"threads"`
	LoadSeconds       float64           `json:"load_seconds"`
	FirstCallSeconds  float64           `json:"first_call_seconds"`
	SecondCallSeconds float64           `json:"second_call_seconds"`
	E2E               []bench.Rep       `json:"e2e"`
	PeakRSSKiB        int64             `json:"peak_rss_kb"`
	FirstResults      []pipeline.Result `json:"first_results"`
}

func (p *peerResult) rate(bs int) bench.Summary {
	return bench.Summarize(bench.Rates(p.E2E, float64(bs)))
}

// ensurePeer checks what make bench-peer builds and exports the model to
// ONNX when its export is missing or stale.
func ensurePeer(dir, model string) (*peerSetup, error) {
	p := &peerSetup{bin: filepath.Join(dir, "hugotcell"), ortLib: filepath.Join(dir, "lib", "libonnxruntime.so"), onnx: filepath.Join(model, onnxFile)}
	for _, f := range []string{p.bin, p.ortLib} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("peer: %w: run `make bench-peer` (builds hugot with ONNX Runtime into %s), or pass -peer none to run without the peer", err, dir)
		}
	}
	ver, err := os.ReadFile(filepath.Join(dir, "ort-version"))
	if err != nil {
		return nil, fmt.Errorf("peer: %w: run `make bench-peer` again", err)
	}
	if err := ensureONNX(model, p.onnx); err != nil {
		return nil, err
	}
	meta, err := os.ReadFile(p.onnx + ".json")
	if err != nil {
		return nil, fmt.Errorf("peer: %w", err)
	}
	p.info = &peerInfo{Name: "hugot v0.6.1", ORT: strings.TrimSpace(string(ver)), ONNXExport: strings.Join(strings.Fields(string(meta)), " ")}
	return p, nil
}

// ensureONNX exports the model folder's classifier to ONNX
// (bench/peer/export_onnx.py) unless out is there with a stamp naming the
// same model build and the same exporter source.
func ensureONNX(model, out string) error {
	script := filepath.Join(testenv.RepoRoot(), "bench", "peer", "export_onnx.py")
	src, err := os.ReadFile(script)
	if err != nil {
		return fmt.Errorf("peer: %w", err)
	}
	modelStamp, err := os.ReadFile(filepath.Join(model, ".complete"))
	if err != nil {
		return fmt.Errorf("peer: %w (the model folder is not a finished benchmark model)", err)
	}
	sum := sha256.Sum256(append(append([]byte{}, modelStamp...), src...))
	key := hex.EncodeToString(sum[:])[:16]
	stamp := out + ".stamp"
	if b, err := os.ReadFile(stamp); err == nil && strings.TrimSpace(string(b)) == key {
		if _, err := os.Stat(out); err == nil {
			return nil
		}
	}
	py, err := testenv.PythonPath()
	if err != nil {
		return err
	}
	logf("peer: exporting %s to ONNX (bench/peer/export_onnx.py)", model)
	cmd := exec.Command(py, script, "--model", model, "--out", out)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.Env = append(os.Environ(), "HF_HUB_OFFLINE=1", "TRANSFORMERS_OFFLINE=1")
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("peer: ONNX export: %w", err)
	}
	return os.WriteFile(stamp, []byte(key+"\n"), 0o644)
}

// peerRate is the peer's end-to-end throughput; false without a peer run.
func (c *cellOut) peerRate() (bench.Summary, bool) {
	if c.Peer == nil || len(c.Peer.E2E) == 0 {
		return bench.Summary{}, false
	}
	return c.Peer.rate(c.BS), true
}

// peerRatio is hfpipe's (native) end-to-end throughput over hugot's.
func (c *cellOut) peerRatio() (float64, bool) {
	p, ok := c.peerRate()
	if !ok {
		return math.NaN(), false
	}
	return c.goRate().Median / p.Median, true
}

// peerAgreement compares the first batch's results of hfpipe (native) and
// hugot: labels equal and the largest |Δscore|.
func (c *cellOut) peerAgreement() (same, n int, maxDiff float64) {
	if c.Peer == nil {
		return
	}
	a := compare(c.Go.FirstResults, c.Peer.FirstResults)
	return a.SameLabels, a.N, a.MaxDiff
}

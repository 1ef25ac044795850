package hf_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/internal/testenv"
)

// rssBytes is the process's resident set size (/proc/self/statm).
func rssBytes(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm here")
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// TestNativeLoadHelper is the child process of TestNativeLoadCost: it loads
// the model in HFPIPE_LOAD_MODEL natively, runs one pass (which touches
// every weight), and prints its load time and RSS growth as JSON.
func TestNativeLoadHelper(t *testing.T) {
	dir := os.Getenv("HFPIPE_LOAD_MODEL")
	if dir == "" {
		t.Skip("child of TestNativeLoadCost")
	}
	ctx := context.Background()
	tok, err := hf.AutoTokenizer.FromPretrained(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := tok.EncodeBatch(ctx, []string{"warm up the tokenizer and libtorch"}, tokenizer.Options{Padding: tokenizer.PadLongest})
	if err != nil {
		t.Fatal(err)
	}
	before := rssBytes(t)
	t0 := time.Now()
	m, err := hf.AutoModel.FromPretrained(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	load := time.Since(t0)
	afterLoad := rssBytes(t)
	out, err := m.Forward(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	afterPass := rssBytes(t)
	b, _ := json.Marshal(map[string]any{"load_seconds": load.Seconds(), "rss_load": afterLoad - before, "rss_pass": afterPass - before})
	fmt.Printf("LOADCOST %s\n", b)
	m.Close()
}

// TestNativeLoadCost: loading the real all-MiniLM-L6-v2 natively costs no
// more memory than its file plus 100 MB (the weights stay in the file's
// pages, which even a forward pass only maps in), and takes no longer than
// transformers' from_pretrained of the same folder, measured in this run.
func TestNativeLoadCost(t *testing.T) {
	if testing.Short() || os.Getenv("HFPIPE_LOAD_MODEL") != "" {
		t.Skip("needs Python for the comparison")
	}
	dir := strings.TrimSpace(string(testenv.RunPython(t, "minilm_reference.py", "--print-path")))
	st, err := os.Stat(dir + "/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	var py struct {
		Min float64 `json:"min"`
	}
	if err := json.Unmarshal(testenv.RunPython(t, "load_time.py", "--model", dir), &py); err != nil {
		t.Fatal(err)
	}
	best := struct {
		Load    float64 `json:"load_seconds"`
		RSSLoad int64   `json:"rss_load"`
		RSSPass int64   `json:"rss_pass"`
	}{Load: 1e9}
	for i := 0; i < 3; i++ { // the fastest of three fresh processes, as Python's best of three
		cmd := exec.Command(os.Args[0], "-test.run=^TestNativeLoadHelper$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "HFPIPE_LOAD_MODEL="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		_, after, ok := strings.Cut(string(out), "LOADCOST ")
		if !ok {
			t.Fatalf("child printed no result:\n%s", out)
		}
		var r = best
		if err := json.Unmarshal([]byte(strings.SplitN(after, "\n", 2)[0]), &r); err != nil {
			t.Fatal(err)
		}
		if r.Load < best.Load {
			best = r
		}
	}
	size := st.Size()
	fmt.Printf("native-load: model=all-MiniLM-L6-v2 file=%d MB load=%.1f ms (transformers from_pretrained %.1f ms, ratio %.2f) rss+load=%d MB rss+pass=%d MB\n",
		size>>20, best.Load*1e3, py.Min*1e3, best.Load/py.Min, best.RSSLoad>>20, best.RSSPass>>20)
	if best.RSSPass > size+100<<20 {
		t.Errorf("RSS grew by %d MB after load and a pass; the file is %d MB (bound: file + 100 MB)", best.RSSPass>>20, size>>20)
	}
	if best.Load > py.Min {
		t.Errorf("native load took %.1f ms, transformers' from_pretrained %.1f ms", best.Load*1e3, py.Min*1e3)
	}
}

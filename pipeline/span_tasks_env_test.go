package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/internal/testenv"
)

// The token-classification, question-answering and fill-mask tests run on
// models made by span_tasks_reference.py: DistilBERT (and BERT) with 2
// layers of width 64, the real uncased vocabulary and 512 positions, a
// random init with a scaled head.
const spanTool = "span_tasks_reference.py"

func spanToolHash(t testing.TB, extra ...string) string {
	t.Helper()
	h, err := spanToolHashErr(extra...)
	require.NoError(t, err)
	return h
}

func spanToolHashErr(extra ...string) (string, error) {
	h := sha256.New()
	for _, f := range []string{spanTool, "hfpipe_tools/modelgen.py"} {
		b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "third_party", "tools", f))
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	h.Write([]byte(strings.Join(extra, "\x00")))
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// withLock runs f holding an exclusive lock on path+".lock", so that test
// processes running at once build a thing once.
func withLock(t testing.TB, path string, f func()) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	require.NoError(t, err)
	defer lock.Close()
	require.NoError(t, syscall.Flock(int(lock.Fd()), syscall.LOCK_EX))
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	f()
}

// spanModel returns the test model folder of a task ("token-classification",
// "question-answering", "fill-mask") and architecture, building it when
// missing or when the tool changed.
func spanModel(t testing.TB, task, arch string) string {
	t.Helper()
	dir, err := buildSpanModel(task, arch)
	require.NoError(t, err)
	return dir
}

// buildSpanModel is spanModel for examples, which have no testing.TB.
func buildSpanModel(task, arch string) (string, error) {
	args := []string{"model", "--task", task, "--arch", arch}
	hash, err := spanToolHashErr(args...)
	if err != nil {
		return "", err
	}
	root := filepath.Join(testenv.RepoRoot(), "testdata", "gen", "models")
	dir := filepath.Join(root, "span-"+task+"-"+arch+"-"+hash)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir, nil
	}
	os.RemoveAll(dir)
	py, err := testenv.PythonPath()
	if err != nil {
		return "", err
	}
	vocab, err := testenv.UncasedVocabPath()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(py, append([]string{filepath.Join(testenv.RepoRoot(), "third_party", "tools", spanTool)}, append(args, "--out", dir)...)...)
	cmd.Env = append(os.Environ(), "HF_HUB_OFFLINE=1", "HFPIPE_VOCAB="+vocab, "PYTHONHASHSEED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s %v: %v\n%s", spanTool, args, err, out)
	}
	return dir, os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o644)
}

// spanCase is one call setting of a reference run: the pipeline keywords
// and the inputs.
type spanCase struct {
	Kwargs map[string]any `json:"kwargs"`
	Inputs []any          `json:"inputs"`
}

// spanReference runs transformers.pipeline on the cases through
// span_tasks_reference.py and returns the raw results per case and input.
// The output is cached in testdata/gen/refs under a stamp of the tool, the
// model folder (whose name carries its own stamp), the thread count and the
// inputs.
func spanReference(t testing.TB, dir, task string, threads int, cases []spanCase) [][]json.RawMessage {
	t.Helper()
	in, err := json.Marshal(map[string]any{"cases": cases})
	require.NoError(t, err)
	stamp := spanToolHash(t, filepath.Base(dir), task, string(rune('0'+threads)), string(in))
	out := filepath.Join(testenv.GenDir(t), "refs", task+"-"+stamp+".json")
	withLock(t, out, func() {
		if _, err := os.Stat(out); err == nil {
			return
		}
		tmp := t.TempDir()
		inFile := filepath.Join(tmp, "in.json")
		require.NoError(t, os.WriteFile(inFile, in, 0o644))
		testenv.RunPython(t, spanTool, "run", "--model", dir, "--task", task, "--inputs", inFile, "--out", out+".tmp",
			"--threads", string(rune('0'+threads)))
		require.NoError(t, os.Rename(out+".tmp", out))
	})
	var res struct {
		Cases []struct {
			Results []json.RawMessage `json:"results"`
		} `json:"cases"`
	}
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &res))
	require.Len(t, res.Cases, len(cases))
	rows := make([][]json.RawMessage, len(cases))
	for i, c := range res.Cases {
		require.Len(t, c.Results, len(cases[i].Inputs))
		rows[i] = c.Results
	}
	return rows
}

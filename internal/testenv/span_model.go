package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// SpanTool is the Python tool that makes the test models of the
// token-classification, question-answering and fill-mask pipelines and
// their transformers references.
const SpanTool = "span_tasks_reference.py"

// SpanToolHash fingerprints SpanTool (and the model generator it uses)
// with extra strings, for folder names and reference stamps.
func SpanToolHash(extra ...string) (string, error) {
	h := sha256.New()
	for _, f := range []string{SpanTool, "hfpipe_tools/modelgen.py"} {
		b, err := os.ReadFile(filepath.Join(RepoRoot(), "third_party", "tools", f))
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	h.Write([]byte(strings.Join(extra, "\x00")))
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// SpanModel returns the test model folder of a task ("token-classification",
// "question-answering" or "fill-mask") and architecture ("distilbert",
// "bert"): 2 layers of width 64, the real uncased vocabulary, 512
// positions, random weights with a scaled head. It is built by SpanTool
// when missing or when the tool changed.
func SpanModel(t testing.TB, task, arch string) string {
	t.Helper()
	dir, err := BuildSpanModel(task, arch)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// BuildSpanModel is SpanModel for callers without a testing.TB (examples).
func BuildSpanModel(task, arch string) (string, error) {
	args := []string{"model", "--task", task, "--arch", arch}
	hash, err := SpanToolHash(args...)
	if err != nil {
		return "", err
	}
	root := filepath.Join(RepoRoot(), "testdata", "gen", "models")
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
	py, err := PythonPath()
	if err != nil {
		return "", err
	}
	vocab, err := uncasedVocab()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(py, append([]string{filepath.Join(RepoRoot(), "third_party", "tools", SpanTool)}, append(args, "--out", dir)...)...)
	cmd.Env = append(os.Environ(), "HF_HUB_OFFLINE=1", "HFPIPE_VOCAB="+vocab, "PYTHONHASHSEED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("testenv: %s %v: %v\n%s", SpanTool, args, err, out)
	}
	return dir, os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o644)
}

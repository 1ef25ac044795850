package bench

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hfpipe/hfpipe/internal/testenv"
)

// ExportFile is the TorchScript file of the benchmark model, as
// third_party/tools/export.py names it for the CPU float32 classifier.
const ExportFile = "hfpipe-sequence-classification-cpu-float32.pt"

// DefaultModelDir is where the benchmark model lives (bench/tmp is ignored
// by git).
func DefaultModelDir() string { return filepath.Join(testenv.RepoRoot(), "bench", "tmp", "model") }

// EnsureModel returns dir after making sure it holds the benchmark model:
// the random-initialised distilbert-base-uncased-finetuned-sst-2-english
// shape (6 layers, 66M parameters, real uncased vocabulary) that the tests'
// generator builds with its default arguments (make_model.py), exported to
// TorchScript for sequence classification (export.py). The model is
// rebuilt when missing or when the generating tools changed. Progress goes
// to log.
func EnsureModel(dir string, log io.Writer) (string, error) {
	hash, err := toolsHash()
	if err != nil {
		return "", err
	}
	stamp := filepath.Join(dir, ".complete")
	if b, err := os.ReadFile(stamp); err == nil && strings.TrimSpace(string(b)) == hash {
		if _, err := os.Stat(filepath.Join(dir, ExportFile)); err == nil {
			return dir, nil
		}
	}
	py, err := testenv.PythonPath()
	if err != nil {
		return "", err
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	tools := filepath.Join(testenv.RepoRoot(), "third_party", "tools")
	run := func(args ...string) error {
		fmt.Fprintf(log, "bench: %s %s\n", filepath.Base(py), strings.Join(args, " "))
		cmd := exec.Command(py, args...)
		cmd.Env = append(os.Environ(), "HF_HUB_OFFLINE=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("bench: %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := run(filepath.Join(tools, "make_model.py"), "--out", dir); err != nil {
		return "", err
	}
	if err := run(filepath.Join(tools, "export.py"), "export", "--model", dir, "--head", "sequence-classification"); err != nil {
		return "", err
	}
	return dir, os.WriteFile(stamp, []byte(hash+"\n"), 0o644)
}

// toolsHash fingerprints the model generator and exporter sources, as
// internal/testenv does for the tests' models.
func toolsHash() (string, error) {
	tools := filepath.Join(testenv.RepoRoot(), "third_party", "tools")
	var files []string
	err := filepath.WalkDir(tools, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		base := filepath.Base(p)
		if !d.IsDir() && strings.HasSuffix(p, ".py") && !strings.HasPrefix(base, "test_") &&
			(base == "make_model.py" || base == "export.py" || filepath.Base(filepath.Dir(p)) == "hfpipe_tools") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("bench: %w", err)
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

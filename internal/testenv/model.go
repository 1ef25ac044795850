package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// ModelSpec describes a generated test model folder.
type ModelSpec struct {
	// Name is the folder name under testdata/gen/models.
	Name string
	// MakeArgs are extra make_model.py arguments (e.g. "--layers", "2").
	MakeArgs []string
	// Exports are export.py argument lists, one export each (default: the
	// base and sequence-classification heads on the CPU in float32).
	Exports [][]string
}

// Model returns a random-initialised model folder made by
// third_party/tools/make_model.py and exported by export.py, building it
// when missing or when the tools changed (the folder name carries a hash of
// the tools' sources and the arguments). A file lock makes concurrent test
// processes build it once.
func Model(t testing.TB, spec ModelSpec) string {
	t.Helper()
	dir, err := BuildModel(spec)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// BuildModel is Model for callers without a testing.TB (TestMain, examples).
func BuildModel(spec ModelSpec) (string, error) {
	if len(spec.Exports) == 0 {
		spec.Exports = [][]string{{"--head", "base"}, {"--head", "sequence-classification"}}
	}
	py, err := PythonPath()
	if err != nil {
		return "", err
	}
	vocab, err := uncasedVocab()
	if err != nil {
		return "", err
	}
	root := filepath.Join(RepoRoot(), "testdata", "gen", "models")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	hash, err := toolsHash(spec)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, spec.Name+"-"+hash)
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	done := filepath.Join(dir, ".complete")
	if _, err := os.Stat(done); err == nil {
		return dir, nil
	}
	os.RemoveAll(dir)
	tools := filepath.Join(RepoRoot(), "third_party", "tools")
	run := func(args ...string) error {
		cmd := exec.Command(py, args...)
		cmd.Env = append(os.Environ(), "HF_HUB_OFFLINE=1", "HFPIPE_VOCAB="+vocab)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("testenv: %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := run(append([]string{filepath.Join(tools, "make_model.py"), "--out", dir}, spec.MakeArgs...)...); err != nil {
		return "", err
	}
	for _, args := range spec.Exports {
		if err := run(append([]string{filepath.Join(tools, "export.py"), "export", "--model", dir}, args...)...); err != nil {
			return "", err
		}
	}
	return dir, os.WriteFile(done, nil, 0o644)
}

// toolsHash fingerprints the generating tools and the spec, so a change to
// either rebuilds the model instead of testing against a stale one.
func toolsHash(spec ModelSpec) (string, error) {
	h := sha256.New()
	h.Write([]byte(strings.Join(spec.MakeArgs, "\x00")))
	for _, e := range spec.Exports {
		h.Write([]byte("\x01" + strings.Join(e, "\x00")))
	}
	tools := filepath.Join(RepoRoot(), "third_party", "tools")
	var files []string
	filepath.WalkDir(tools, func(p string, d fs.DirEntry, err error) error {
		base := filepath.Base(p)
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".py") && !strings.HasPrefix(base, "test_") &&
			(base == "make_model.py" || base == "export.py" || filepath.Base(filepath.Dir(p)) == "hfpipe_tools") {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// SmallModel is the test model most packages share: the real
// distilbert-base-uncased-finetuned-sst-2-english shape and vocabulary with
// 2 layers instead of 6, exported for the base and classification heads.
var SmallModel = ModelSpec{Name: "distilbert-sst2-2layers", MakeArgs: []string{"--layers", "2"}}

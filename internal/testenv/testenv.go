// Package testenv locates what the tests need outside Go: the repository
// root, the project-local Python interpreter (the venv made by `make venv`)
// and the real uncased BERT vocabulary shipped with github.com/sugarme/tokenizer.
//
// Tests that need Python call [Python] and fail (not skip) when it is missing,
// because `make test` always installs it first; a skipped parity test would
// hide a broken set-up.
package testenv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// RepoRoot returns the repository root (the folder holding go.mod), or
// $HFPIPE_ROOT where set: test binaries carried to another machine (the GPU
// check) run from a checkout at another path.
func RepoRoot() string {
	if r := os.Getenv("HFPIPE_ROOT"); r != "" {
		return r
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// GenDir returns the ignored folder where generated test data lives
// (testdata/gen), creating it.
func GenDir(t testing.TB) string {
	d := filepath.Join(RepoRoot(), "testdata", "gen")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return d
}

// PythonPath returns the interpreter to run reference scripts with:
// $HFPIPE_PYTHON if set, else the project venv's python.
func PythonPath() (string, error) {
	if p := os.Getenv("HFPIPE_PYTHON"); p != "" {
		return p, nil
	}
	p := filepath.Join(RepoRoot(), ".venv", "bin", "python")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("testenv: no Python at %s: run `make venv` (or set HFPIPE_PYTHON)", p)
	}
	return p, nil
}

// Python returns the interpreter path or fails the test.
func Python(t testing.TB) string {
	t.Helper()
	p, err := PythonPath()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// RunPython runs a script under third_party/tools with args and returns its
// stdout; stderr is included in the failure message.
func RunPython(t testing.TB, script string, args ...string) []byte {
	t.Helper()
	py := Python(t)
	cmd := exec.Command(py, append([]string{filepath.Join(RepoRoot(), "third_party", "tools", script)}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "PYTHONHASHSEED=0", "HF_HUB_OFFLINE=1", "TOKENIZERS_PARALLELISM=false")
	if err := cmd.Run(); err != nil {
		t.Fatalf("python %s %s: %v\n%s", script, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

var (
	vocabOnce sync.Once
	vocabPath string
	vocabErr  error
)

// UncasedVocab returns the path of bert-base-uncased-vocab.txt from the
// sugarme/tokenizer module: the same 30522 tokens as distilbert-base-uncased.
// $HFPIPE_VOCAB overrides it where no Go toolchain is at hand.
func UncasedVocab(t testing.TB) string {
	t.Helper()
	p, err := uncasedVocab()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func uncasedVocab() (string, error) {
	vocabOnce.Do(func() {
		if p := os.Getenv("HFPIPE_VOCAB"); p != "" {
			vocabPath = p
			return
		}
		// go mod download (not go list -m, which prints an empty Dir until
		// something has downloaded the module: a fresh machine's first
		// `go test ./hf/tokenizer` would fail) fetches it into the module
		// cache at the version go.mod pins and names the folder.
		out, err := exec.Command("go", "mod", "download", "-json", "github.com/sugarme/tokenizer").Output()
		if err != nil {
			vocabErr = fmt.Errorf("testenv: go mod download sugarme/tokenizer (the module proxy must be reachable once, or set HFPIPE_VOCAB to a vocab.txt): %w", err)
			return
		}
		var mod struct{ Dir, Error string }
		if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
			vocabErr = fmt.Errorf("testenv: go mod download sugarme/tokenizer gave no folder (%v %s); set HFPIPE_VOCAB to a vocab.txt", err, mod.Error)
			return
		}
		vocabPath = filepath.Join(mod.Dir, "pretrained", "model", "bert-base-uncased-vocab.txt")
		if _, err := os.Stat(vocabPath); err != nil {
			vocabErr = errors.New("testenv: vocabulary missing from sugarme/tokenizer module: " + err.Error())
		}
	})
	return vocabPath, vocabErr
}

// RequireCUDA skips a CUDA test where libtorch sees no CUDA device (pass
// torch.CUDAIsAvailable()), saying so: a CUDA test that ran nothing must not
// report PASS. HFPIPE_REQUIRE_CUDA=1 (set by make gpu-check) makes a missing
// GPU a failure instead, so the GPU machine cannot pass vacuously. The
// caller passes the answer so that this package stays free of cgo.
func RequireCUDA(t testing.TB, available bool) {
	t.Helper()
	if available {
		return
	}
	if os.Getenv("HFPIPE_REQUIRE_CUDA") == "1" {
		t.Fatal("HFPIPE_REQUIRE_CUDA=1 but libtorch sees no CUDA device")
	}
	t.Skip("no CUDA device visible to libtorch (the GPU machine runs this test: make gpu-check)")
}

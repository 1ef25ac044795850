// Package libtorch finds the libtorch that hfpipe's C++ shim compiles and
// links against, makes the cgo flags for it, and packs built programs with the
// libtorch libraries they need (Bundle). cmd/hfpipe-libtorch is its command.
//
// Where libtorch comes from follows tch-rs: $LIBTORCH names a libtorch folder
// (an unpacked libtorch distribution, or a torch wheel's torch/ folder: both
// hold include/ and lib/), or LIBTORCH_USE_PYTORCH=1 takes the torch that
// Python imports ($PYTHON_SYS_EXECUTABLE, else python3 on PATH).
package libtorch

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// The libtorch release hfpipe is written and tested against; the C++ side
// checks the same numbers (torch/csrc/libtorch_check.h).
const (
	WantMajor = 2
	WantMinor = 10
)

// Libtorch is a located libtorch.
type Libtorch struct {
	Root    string // the folder holding include/ and lib/
	Version string // as the release names itself, e.g. "2.10.0+cu128"
	Major   int
	Minor   int
	Patch   int
	// CXX11ABI is the libstdc++ ABI libtorch was built with (the value of
	// _GLIBCXX_USE_CXX11_ABI the shim must be compiled with).
	CXX11ABI bool
	From     string // how it was found: "LIBTORCH" or "LIBTORCH_USE_PYTORCH (python3)"
}

// ErrNotFound is returned by Locate when no libtorch is named.
var ErrNotFound = errors.New("libtorch: not found: set LIBTORCH=/path/to/libtorch (an unpacked libtorch 2.10.x, or a torch 2.10.x wheel's torch/ folder) or LIBTORCH_USE_PYTORCH=1 (the torch that python3 on PATH imports; PYTHON_SYS_EXECUTABLE names another Python)")

// Locate finds libtorch from the environment (getenv is os.Getenv in
// programs) and checks that it is a complete libtorch of the wanted release.
func Locate(getenv func(string) string) (*Libtorch, error) {
	if root := getenv("LIBTORCH"); root != "" {
		return Inspect(root, "LIBTORCH")
	}
	if v := getenv("LIBTORCH_USE_PYTORCH"); v != "" && v != "0" {
		py := getenv("PYTHON_SYS_EXECUTABLE")
		if py == "" {
			py = "python3"
		}
		cmd := exec.Command(py, "-c", "import os, torch; print(os.path.dirname(torch.__file__))")
		cmd.Dir = os.TempDir() // not a folder named torch in the working directory
		out, err := cmd.Output()
		if err != nil {
			msg := err.Error()
			var ee *exec.ExitError
			if errors.As(err, &ee) && len(ee.Stderr) > 0 {
				lines := strings.Split(strings.TrimSpace(string(ee.Stderr)), "\n")
				msg = lines[len(lines)-1]
			}
			return nil, fmt.Errorf("libtorch: LIBTORCH_USE_PYTORCH is set but %s cannot import torch (%s): pip install torch==%d.%d.*, or set LIBTORCH to a libtorch folder instead", py, msg, WantMajor, WantMinor)
		}
		return Inspect(strings.TrimSpace(string(out)), "LIBTORCH_USE_PYTORCH ("+py+")")
	}
	return nil, ErrNotFound
}

var defineRe = regexp.MustCompile(`(?m)^#define TORCH_VERSION_(MAJOR|MINOR|PATCH) (\d+)`)

// Inspect checks that root is a libtorch folder of the wanted release and
// reads its version and ABI.
func Inspect(root, from string) (*Libtorch, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("libtorch: %s=%s: %v", from, root, err)
	}
	if strings.ContainsAny(abs, " \t\n'\"\\$`") {
		return nil, fmt.Errorf("libtorch: %s (from %s) has a space, quote, backslash or $ in its path, which compiler flags cannot carry: move or link it to a plain path", abs, from)
	}
	lt := &Libtorch{Root: abs, From: from}
	cpu := filepath.Join(abs, "lib", "libtorch_cpu.so")
	if _, err := os.Stat(cpu); err != nil {
		return nil, fmt.Errorf("libtorch: %s (from %s) is no libtorch folder: %s is missing; point it at the folder holding lib/ and include/ (an unpacked libtorch, or a torch wheel's torch/ folder)", abs, from, cpu)
	}
	var header []byte
	for _, h := range []string{"include/torch/headeronly/version.h", "include/torch/csrc/api/include/torch/version.h"} {
		if b, err := os.ReadFile(filepath.Join(abs, h)); err == nil && defineRe.Match(b) {
			header = b
			break
		}
	}
	if header == nil {
		return nil, fmt.Errorf("libtorch: %s (from %s) has no C++ headers (include/torch/…/version.h): a libtorch or torch wheel with include/ is needed", abs, from)
	}
	for _, m := range defineRe.FindAllSubmatch(header, -1) {
		n, _ := strconv.Atoi(string(m[2]))
		switch string(m[1]) {
		case "MAJOR":
			lt.Major = n
		case "MINOR":
			lt.Minor = n
		case "PATCH":
			lt.Patch = n
		}
	}
	lt.Version = fmt.Sprintf("%d.%d.%d", lt.Major, lt.Minor, lt.Patch)
	// The release's full name: build-version (libtorch) or version.py (wheel).
	if b, err := os.ReadFile(filepath.Join(abs, "build-version")); err == nil && strings.TrimSpace(string(b)) != "" {
		lt.Version = strings.TrimSpace(string(b))
	} else if b, err := os.ReadFile(filepath.Join(abs, "version.py")); err == nil {
		if m := regexp.MustCompile(`(?m)^__version__ = '([^']+)'`).FindSubmatch(b); m != nil {
			lt.Version = string(m[1])
		}
	}
	if lt.Major != WantMajor || lt.Minor != WantMinor {
		return nil, fmt.Errorf("libtorch: %s (from %s) is libtorch %s; hfpipe needs %d.%d.x: point LIBTORCH at libtorch %d.%d.x, or pip install torch==%d.%d.* for LIBTORCH_USE_PYTORCH", abs, from, lt.Version, WantMajor, WantMinor, WantMajor, WantMinor, WantMajor, WantMinor)
	}
	abi, err := cxx11ABI(filepath.Join(abs, "lib", "libc10.so"))
	if err != nil {
		return nil, fmt.Errorf("libtorch: %s (from %s): %v", abs, from, err)
	}
	lt.CXX11ABI = abi
	return lt, nil
}

// cxx11ABI reports whether a libtorch library exports std::string in the
// C++11 ABI (names in namespace std::__cxx11), as every libtorch since 2.7
// does and older ones built with _GLIBCXX_USE_CXX11_ABI=0 do not.
func cxx11ABI(lib string) (bool, error) {
	f, err := elf.Open(lib)
	if err != nil {
		return false, fmt.Errorf("reading %s: %v", lib, err)
	}
	defer f.Close()
	syms, err := f.DynamicSymbols()
	if err != nil {
		return false, fmt.Errorf("reading %s's symbols: %v", lib, err)
	}
	for _, s := range syms {
		if strings.Contains(s.Name, "__cxx11") {
			return true, nil
		}
	}
	return false, nil
}

// CXXFlags are the compiler flags for the shim: libtorch's headers and ABI.
// HFPIPE_LIBTORCH names the release and folder, so that the Go build cache
// compiles the shim again when either changes.
func (lt *Libtorch) CXXFlags() []string {
	abi := "0"
	if lt.CXX11ABI {
		abi = "1"
	}
	return []string{
		"-D_GLIBCXX_USE_CXX11_ABI=" + abi,
		"-I" + filepath.Join(lt.Root, "include"),
		"-I" + filepath.Join(lt.Root, "include", "torch", "csrc", "api", "include"),
		"-DHFPIPE_LIBTORCH=" + lt.Version + "@" + lt.Root,
	}
}

// LDFlags are the linker flags: where libtorch's libraries are, at link time
// and (rpath) at run time.
func (lt *Libtorch) LDFlags() []string {
	lib := filepath.Join(lt.Root, "lib")
	return []string{"-L" + lib, "-Wl,-rpath," + lib}
}

// Env is the environment for `go build`: CGO_ENABLED, CGO_CXXFLAGS and
// CGO_LDFLAGS, in this order.
func (lt *Libtorch) Env() [][2]string {
	return [][2]string{
		{"CGO_ENABLED", "1"},
		{"CGO_CXXFLAGS", strings.Join(lt.CXXFlags(), " ")},
		{"CGO_LDFLAGS", strings.Join(lt.LDFlags(), " ")},
	}
}

// ShellEnv renders Env as POSIX shell export lines.
func (lt *Libtorch) ShellEnv() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# hfpipe: libtorch %s from %s (%s)\n", lt.Version, lt.Root, lt.From)
	for _, kv := range lt.Env() {
		fmt.Fprintf(&b, "export %s='%s'\n", kv[0], kv[1])
	}
	return b.String()
}

package libtorch

import (
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeLibtorch makes a folder shaped like libtorch with the given version
// header (its libraries are empty files).
func fakeLibtorch(t *testing.T, major, minor string) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"lib", "include/torch/headeronly"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(root, "lib", "libtorch_cpu.so"), nil, 0o644)
	h := "#pragma once\n#define TORCH_VERSION_MAJOR " + major + "\n#define TORCH_VERSION_MINOR " + minor + "\n#define TORCH_VERSION_PATCH 1\n"
	os.WriteFile(filepath.Join(root, "include/torch/headeronly/version.h"), []byte(h), 0o644)
	return root
}

func TestLocateSaysWhatToSet(t *testing.T) {
	_, err := Locate(func(string) string { return "" })
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "LIBTORCH_USE_PYTORCH=1") {
		t.Fatalf("Locate with nothing set: %v", err)
	}
	env := map[string]string{"LIBTORCH_USE_PYTORCH": "1", "PYTHON_SYS_EXECUTABLE": filepath.Join(t.TempDir(), "no-python")}
	if _, err := Locate(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "cannot import torch") {
		t.Fatalf("Locate with a missing python: %v", err)
	}
}

func TestInspectChecksFolderAndVersion(t *testing.T) {
	if _, err := Inspect(t.TempDir(), "LIBTORCH"); err == nil || !strings.Contains(err.Error(), "libtorch_cpu.so is missing") {
		t.Errorf("empty folder: %v", err)
	}
	_, err := Inspect(fakeLibtorch(t, "2", "9"), "LIBTORCH")
	if err == nil || !strings.Contains(err.Error(), "is libtorch 2.9.1; hfpipe needs 2.10.x") {
		t.Errorf("libtorch 2.9: %v", err)
	}
	// The right version passes the version check and reaches the ABI probe
	// (the fake libc10.so is missing).
	_, err = Inspect(fakeLibtorch(t, "2", "10"), "LIBTORCH")
	if err == nil || !strings.Contains(err.Error(), "libc10.so") {
		t.Errorf("libtorch 2.10 without libc10.so: %v", err)
	}
	if _, err := Inspect("/tmp/with space", "LIBTORCH"); err == nil || !strings.Contains(err.Error(), "space") {
		t.Errorf("path with a space: %v", err)
	}
}

func TestSetRunPath(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "m.c")
	os.WriteFile(src, []byte("int main(void) { return 0; }\n"), 0o644)
	bin := filepath.Join(dir, "m")
	long := "/some/long/build/machine/path/torch/lib"
	if out, err := exec.Command(cc, "-o", bin, src, "-Wl,-rpath,"+long).CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	if err := SetRunPath(bin, "$ORIGIN/lib"); err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := f.DynString(elf.DT_RUNPATH)
	if len(got) == 0 {
		got, _ = f.DynString(elf.DT_RPATH)
	}
	f.Close()
	if len(got) != 1 || got[0] != "$ORIGIN/lib" {
		t.Fatalf("run path after SetRunPath: %q", got)
	}
	if err := exec.Command(bin).Run(); err != nil {
		t.Fatalf("the rewritten program does not run: %v", err)
	}
	if err := SetRunPath(bin, "/"+strings.Repeat("x", len(long))); err == nil || !strings.Contains(err.Error(), "longer") {
		t.Errorf("a longer run path: %v", err)
	}
}

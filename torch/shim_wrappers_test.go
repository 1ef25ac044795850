package torch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestShimWrappers checks that package csrc compiles every C++ source: cgo
// compiles only the files of a package's own folder, so each native/*.cpp
// needs a native_<name>.cpp wrapper including it. A missing one would drop
// an architecture silently (they register themselves at start).
func TestShimWrappers(t *testing.T) {
	sources, err := filepath.Glob("csrc/native/*.cpp")
	if err != nil || len(sources) == 0 {
		t.Fatalf("no csrc/native/*.cpp (%v)", err)
	}
	want := map[string]bool{}
	for _, src := range sources {
		name := filepath.Base(src)
		wrapper := filepath.Join("csrc", "native_"+name)
		want[wrapper] = true
		b, err := os.ReadFile(wrapper)
		if err != nil {
			t.Errorf("%s has no wrapper: create %s holding the line #include \"native/%s\"", src, wrapper, name)
			continue
		}
		if !strings.Contains(string(b), "\n#include \"native/"+name+"\"\n") {
			t.Errorf("%s does not #include \"native/%s\"", wrapper, name)
		}
	}
	wrappers, _ := filepath.Glob("csrc/native_*.cpp")
	for _, w := range wrappers {
		if !want[w] {
			t.Errorf("%s wraps no csrc/native source: remove it", w)
		}
	}
}

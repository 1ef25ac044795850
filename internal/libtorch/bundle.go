package libtorch

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// systemLibs are the libraries every Linux with glibc and a C++ runtime has
// and a bundle leaves to the target machine (as the manylinux policy does).
var systemLibs = map[string]bool{
	"linux-vdso.so.1": true, "ld-linux-x86-64.so.2": true, "ld-linux-aarch64.so.1": true,
	"libc.so.6": true, "libm.so.6": true, "libdl.so.2": true, "libpthread.so.0": true,
	"librt.so.1": true, "libutil.so.1": true, "libresolv.so.2": true,
	"libstdc++.so.6": true, "libgcc_s.so.1": true,
}

// cudaRoots are what a CUDA bundle adds: libtorch's CUDA part, which the
// shim loads at start when it lies beside libtorch_cpu (and which loads
// libtorch_cuda_linalg itself when a linear-algebra operation needs it).
var cudaRoots = []string{"libtorch_cuda.so", "libtorch_cuda_linalg.so"}

// BundleOptions say what Bundle packs.
type BundleOptions struct {
	// CUDA adds libtorch's CUDA libraries and everything they need (cuDNN,
	// cuBLAS, …); without it the bundle runs on the CPU only.
	CUDA bool
}

// BundleReport says what Bundle packed.
type BundleReport struct {
	Binary string   // the bundled program
	Libs   []string // the library files in lib/, by name
	Bytes  int64    // the bundle's size: program and libraries
}

// Bundle turns a built program into a folder that runs on a machine without
// Go, Python or libtorch: dir/<program> and dir/lib/ with the libtorch
// libraries it needs, found through the program's run path, rewritten to
// $ORIGIN/lib. bin must have been built against lt (its run path names lt's
// lib/ folder). Libraries of glibc and the C++ runtime stay the target's.
func Bundle(ctx context.Context, lt *Libtorch, bin, dir string, opt BundleOptions) (*BundleReport, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("bundle: %v", err)
	}
	libdir := filepath.Join(dir, "lib")
	if err := os.MkdirAll(libdir, 0o755); err != nil {
		return nil, fmt.Errorf("bundle: %v", err)
	}
	out := filepath.Join(dir, filepath.Base(bin))
	if err := copyFile(bin, out); err != nil {
		return nil, fmt.Errorf("bundle: %v", err)
	}
	roots := []string{out}
	if opt.CUDA {
		for _, name := range cudaRoots {
			p := filepath.Join(lt.Root, "lib", name)
			if _, err := os.Stat(p); err != nil {
				if name == cudaRoots[0] {
					return nil, fmt.Errorf("bundle: a CUDA bundle needs %s, which this libtorch (%s) lacks: use a CUDA build of libtorch", p, lt.Version)
				}
				continue
			}
			roots = append(roots, p)
		}
	}
	// What the loader resolves for the program (through its run path into lt)
	// and for the CUDA roots: every library outside the system set is copied.
	libs := map[string]string{} // name -> resolved path
	for _, r := range roots {
		deps, err := ldd(ctx, r)
		if err != nil {
			return nil, fmt.Errorf("bundle: %v", err)
		}
		for name, path := range deps {
			if !systemLibs[name] {
				libs[name] = path
			}
		}
		if r != out {
			libs[filepath.Base(r)] = r
		}
	}
	if _, ok := libs["libtorch_cpu.so"]; !ok {
		return nil, fmt.Errorf("bundle: %s does not load libtorch_cpu.so: is it an hfpipe program built against %s?", bin, lt.Root)
	}
	rep := &BundleReport{Binary: out}
	for name, path := range libs {
		dst := filepath.Join(libdir, name)
		if err := copyFile(path, dst); err != nil {
			return nil, fmt.Errorf("bundle: %v", err)
		}
		// Libraries look for each other beside themselves only.
		if err := SetRunPath(dst, "$ORIGIN"); err != nil && !errors.Is(err, errNoRunPath) {
			return nil, fmt.Errorf("bundle: %v", err)
		}
		rep.Libs = append(rep.Libs, name)
	}
	sort.Strings(rep.Libs)
	if err := SetRunPath(out, "$ORIGIN/lib"); err != nil {
		return nil, fmt.Errorf("bundle: %s: %v (build it with the flags of `hfpipe-libtorch env`, which set one)", bin, err)
	}
	// Check the result as the target's loader sees it: every library found,
	// every non-system one inside the bundle.
	check := []string{out}
	for _, r := range roots[1:] {
		check = append(check, filepath.Join(libdir, filepath.Base(r)))
	}
	for _, c := range check {
		deps, err := ldd(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("bundle: checking %s: %v", c, err)
		}
		for name, path := range deps {
			if !systemLibs[name] && filepath.Dir(path) != libdir {
				return nil, fmt.Errorf("bundle: checking %s: %s resolves to %s, outside the bundle", c, name, path)
			}
		}
	}
	err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			rep.Bytes += fi.Size()
		}
		return err
	})
	return rep, err
}

// ldd lists what the dynamic loader resolves for file, in a clean
// environment (no LD_LIBRARY_PATH): name -> path. A library it cannot find
// is an error.
func ldd(ctx context.Context, file string) (map[string]string, error) {
	cmd := exec.CommandContext(ctx, "ldd", file)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %v %s", file, err, strings.TrimSpace(stderr.String()))
	}
	deps := map[string]string{}
	var missing []string
	sc := bufio.NewScanner(bytes.NewReader(outb))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		name, rest, ok := strings.Cut(line, " => ")
		if !ok {
			continue // the vdso and the loader itself
		}
		if strings.HasPrefix(rest, "not found") {
			missing = append(missing, name)
			continue
		}
		path, _, _ := strings.Cut(rest, " (")
		deps[name] = filepath.Clean(path)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s needs %s, which the loader does not find (is libtorch complete?)", file, strings.Join(missing, ", "))
	}
	return deps, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, fi.Mode().Perm()|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

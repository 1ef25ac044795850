// Command hfpipe-libtorch sets up libtorch for programs that use hfpipe, and
// packs them for machines without Go, Python or libtorch.
//
//	hfpipe-libtorch env
//
// prints the shell lines that make `go build` compile hfpipe's C++ shim
// against libtorch (CGO_ENABLED, CGO_CXXFLAGS, CGO_LDFLAGS): eval "$(go run
// github.com/hfpipe/hfpipe/cmd/hfpipe-libtorch env)". libtorch is
// $LIBTORCH (an unpacked libtorch 2.10.x, or a torch wheel's torch/ folder)
// or, with LIBTORCH_USE_PYTORCH=1, the torch that python3 imports.
//
//	hfpipe-libtorch bundle [-o dir] [-cuda] [-tags list] [package]
//
// builds package (default ".") against that libtorch and writes dir (default
// "dist"): the program and lib/ with the libtorch libraries it needs, found
// relative to the program, so that the folder runs anywhere with glibc and
// libstdc++. Without -cuda it carries no CUDA part of libtorch and runs on the
// CPU; with -cuda it adds libtorch_cuda and the CUDA libraries it needs.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"path/filepath"
	"strings"

	"github.com/hfpipe/hfpipe/internal/libtorch"
)

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  hfpipe-libtorch env                                   shell lines for go build (eval them)
  hfpipe-libtorch bundle [-o dir] [-cuda] [-tags list] [package]
                                                        build package into a self-contained folder
libtorch: LIBTORCH=/path/to/libtorch, or LIBTORCH_USE_PYTORCH=1 (python3's torch)
`)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "env":
		err = envCmd(os.Args[2:])
	case "bundle":
		err = bundleCmd(ctx, os.Args[2:])
	case "-h", "-help", "--help", "help":
		usage()
		return
	default:
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hfpipe-libtorch:", err)
		os.Exit(1)
	}
}

func envCmd(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("env takes no arguments")
	}
	lt, err := libtorch.Locate(os.Getenv)
	if err != nil {
		return err
	}
	fmt.Print(lt.ShellEnv())
	return nil
}

func bundleCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bundle", flag.ExitOnError)
	out := fs.String("o", "dist", "the bundle `folder` to write")
	cuda := fs.Bool("cuda", false, "add libtorch's CUDA libraries (GPU bundle)")
	tags := fs.String("tags", "", "build `tags` for go build")
	fs.Parse(args)
	pkg := "."
	switch fs.NArg() {
	case 0:
	case 1:
		pkg = fs.Arg(0)
	default:
		return fmt.Errorf("bundle takes one package")
	}
	lt, err := libtorch.Locate(os.Getenv)
	if err != nil {
		return err
	}
	env := os.Environ()
	for _, kv := range lt.Env() {
		env = append(env, kv[0]+"="+kv[1])
	}
	list := exec.CommandContext(ctx, "go", "list", "-f", "{{.Name}} {{.ImportPath}}", pkg)
	list.Env, list.Stderr = env, os.Stderr
	b, err := list.Output()
	if err != nil {
		return fmt.Errorf("go list %s: %v", pkg, err)
	}
	name, importPath, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	if name != "main" {
		return fmt.Errorf("%s is package %s, not a program (package main)", importPath, name)
	}
	if _, err := os.Stat(*out); err == nil {
		entries, _ := os.ReadDir(*out)
		if len(entries) > 0 {
			return fmt.Errorf("%s exists and is not empty: remove it or choose another -o", *out)
		}
	}
	tmp, err := os.MkdirTemp("", "hfpipe-bundle-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, path.Base(importPath))
	buildArgs := []string{"build", "-o", bin}
	if *tags != "" {
		buildArgs = append(buildArgs, "-tags", *tags)
	}
	build := exec.CommandContext(ctx, "go", append(buildArgs, pkg)...)
	build.Env, build.Stdout, build.Stderr = env, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build %s: %v", pkg, err)
	}
	rep, err := libtorch.Bundle(ctx, lt, bin, *out, libtorch.BundleOptions{CUDA: *cuda})
	if err != nil {
		return err
	}
	kind := "CPU"
	if *cuda {
		kind = "CUDA"
	}
	fmt.Printf("bundle: %s (%s, libtorch %s): %s and %d libraries in lib/ (%s), %.0f MB\n",
		*out, kind, lt.Version, filepath.Base(rep.Binary), len(rep.Libs), strings.Join(rep.Libs, " "), float64(rep.Bytes)/1e6)
	return nil
}

#!/usr/bin/env python3
"""Writes a GOPROXY=file:// folder serving this checkout as module
github.com/hfpipe/hfpipe, as a module proxy would: @v/list, .info, .mod,
.zip and @latest, for one version: the zero pseudo-version, always the same,
so that the module's folder in the (fresh) module cache keeps its path from
run to run and Go's build cache keeps the compiled C++ shim (cgo flags name
that folder). The zip holds the files git tracks or would track (the working tree,
uncommitted edits included; ignored files such as build/ and .venv left
out), under module zip rules: regular files only, no nested modules.

usage: modproxy.py REPO OUT  (prints the version, the file count, HEAD)"""
import json, os, subprocess, sys, time, zipfile

MODULE = "github.com/hfpipe/hfpipe"


def main():
    repo, out = sys.argv[1], sys.argv[2]
    git = lambda *a: subprocess.check_output(["git", "-C", repo, *a], text=True)
    ts, rev = git("log", "-1", "--format=%ct %H").split()
    t = time.gmtime(int(ts))
    version = "v0.0.0-00010101000000-000000000000"
    files = sorted(set(git("ls-files", "-z", "-co", "--exclude-standard").split("\0")) - {""})
    nested = {os.path.dirname(f) for f in files if os.path.basename(f) == "go.mod" and "/" in f}
    vdir = os.path.join(out, MODULE, "@v")
    os.makedirs(vdir, exist_ok=True)
    n = 0
    with zipfile.ZipFile(os.path.join(vdir, version + ".zip"), "w", zipfile.ZIP_DEFLATED) as z:
        for f in files:
            p = os.path.join(repo, f)
            if os.path.islink(p) or not os.path.isfile(p):
                continue
            if any(f == d or f.startswith(d + "/") for d in nested):
                continue
            z.write(p, "%s@%s/%s" % (MODULE, version, f))
            n += 1
    with open(os.path.join(repo, "go.mod"), "rb") as src, open(os.path.join(vdir, version + ".mod"), "wb") as dst:
        dst.write(src.read())
    info = json.dumps({"Version": version, "Time": time.strftime("%Y-%m-%dT%H:%M:%SZ", t)})
    for name in (version + ".info", "../@latest"):
        with open(os.path.join(vdir, name), "w") as fh:
            fh.write(info + "\n")
    with open(os.path.join(vdir, "list"), "w") as fh:
        fh.write(version + "\n")
    print(version, n, rev[:12])


main()

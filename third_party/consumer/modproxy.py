#!/usr/bin/env python3
"""Writes a GOPROXY=file:// folder serving this checkout as module
github.com/hfpipe/hfpipe, as a module proxy would: @v/list, .info, .mod,
.zip and @latest, for one pseudo-version named by a hash of the files: the
same files keep the module's folder in the (fresh) module cache at the same
path, so Go's build cache keeps the compiled C++ shim between runs (its cgo
flags name that folder); other files get another version (Go indexes a
module-cache folder once per path, taking it as immutable). The zip holds the files git tracks or would track (the working tree,
uncommitted edits included; ignored files such as build/ and .venv left
out), under module zip rules: regular files only, no nested modules.

usage: modproxy.py REPO OUT  (prints the version, the file count, HEAD)"""
import hashlib, json, os, subprocess, sys, time, zipfile

MODULE = "github.com/hfpipe/hfpipe"


def main():
    repo, out = sys.argv[1], sys.argv[2]
    git = lambda *a: subprocess.check_output(["git", "-C", repo, *a], text=True)
    ts, rev = git("log", "-1", "--format=%ct %H").split()
    t = time.gmtime(int(ts))
    files = sorted(set(git("ls-files", "-z", "-co", "--exclude-standard").split("\0")) - {""})
    nested = {os.path.dirname(f) for f in files if os.path.basename(f) == "go.mod" and "/" in f}
    keep = [f for f in files
            if not os.path.islink(os.path.join(repo, f)) and os.path.isfile(os.path.join(repo, f))
            and not any(f == d or f.startswith(d + "/") for d in nested)]
    h = hashlib.sha256()
    for f in keep:
        with open(os.path.join(repo, f), "rb") as fh:
            h.update(f.encode() + b"\0" + hashlib.sha256(fh.read()).digest())
    version = "v0.0.0-20000101000000-" + h.hexdigest()[:12]
    vdir = os.path.join(out, MODULE, "@v")
    os.makedirs(vdir, exist_ok=True)
    n = 0
    with zipfile.ZipFile(os.path.join(vdir, version + ".zip"), "w", zipfile.ZIP_DEFLATED) as z:
        for f in keep:
            z.write(os.path.join(repo, f), "%s@%s/%s" % (MODULE, version, f))
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

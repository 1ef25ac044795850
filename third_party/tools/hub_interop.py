"""Drive huggingface_hub against a cache shared with hfpipe's Go hub client.

Used by hf/hub's interop tests: Python fills a cache that Go reads offline,
and Go fills a cache that Python reads with local_files_only=True.

    hub_interop.py download --cache DIR --repo ID [--endpoint URL] [--revision R] [--offline] FILE...
    hub_interop.py snapshot --cache DIR --repo ID [--endpoint URL] [--revision R] [--offline] [--allow PATTERN]...
    hub_interop.py env
    hub_interop.py lock PATH                  take huggingface_hub's lock on PATH, print "locked",
                                              hold it until stdin closes
    hub_interop.py lock PATH --timeout SECS   try to take it; print "acquired" or "timeout"

Prints one JSON object: {"snapshot": path?, "files": {name: {"path", "sha256"}}}
(for env: huggingface_hub's resolved constants and token).
"""

import argparse
import hashlib
import json
import os
import sys


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def lock(path, timeout):
    # The very lock hf_hub_download takes around a blob download.
    from filelock import Timeout
    from huggingface_hub.utils import WeakFileLock

    try:
        with WeakFileLock(path, timeout=timeout):
            print("acquired" if timeout is not None else "locked", flush=True)
            if timeout is None:
                sys.stdin.read()
    except Timeout:
        print("timeout", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["download", "snapshot", "env", "lock"])
    ap.add_argument("files", nargs="*")
    ap.add_argument("--cache")
    ap.add_argument("--repo")
    ap.add_argument("--endpoint")
    ap.add_argument("--revision", default=None)
    ap.add_argument("--offline", action="store_true")
    ap.add_argument("--allow", action="append")
    ap.add_argument("--timeout", type=float)
    args = ap.parse_intermixed_args()

    # huggingface_hub reads its settings at import time, so they are set here,
    # before the import, and override whatever the caller's environment says.
    if args.mode == "lock":
        return lock(args.files[0], args.timeout)
    if args.mode != "env":
        os.environ["HF_HUB_CACHE"] = args.cache
        os.environ["HF_HUB_OFFLINE"] = "1" if args.offline else "0"
        # No ambient token: the tests decide what is sent.
        os.environ.pop("HF_TOKEN", None)
        os.environ["HF_TOKEN_PATH"] = os.path.join(args.cache, "no-such-token")
    if args.endpoint:
        os.environ["HF_ENDPOINT"] = args.endpoint
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    os.environ["HF_HUB_DISABLE_XET"] = "1"
    os.environ["NO_PROXY"] = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"]))

    import huggingface_hub as hh
    from huggingface_hub import constants

    if args.mode == "env":
        print(json.dumps({
            "hf_home": constants.HF_HOME,
            "hub_cache": constants.HF_HUB_CACHE,
            "endpoint": constants.ENDPOINT,
            "token_path": constants.HF_TOKEN_PATH,
            "token": hh.get_token(),
        }))
        return

    out = {"files": {}}
    if args.mode == "download":
        for name in args.files:
            p = hh.hf_hub_download(args.repo, name, revision=args.revision, local_files_only=args.offline)
            out["files"][name] = {"path": p, "sha256": sha256(p)}
    else:
        d = hh.snapshot_download(args.repo, revision=args.revision, allow_patterns=args.allow,
                                 local_files_only=args.offline)
        out["snapshot"] = d
        for root, _, files in os.walk(d):
            for f in files:
                p = os.path.join(root, f)
                rel = os.path.relpath(p, d).replace(os.sep, "/")
                out["files"][rel] = {"path": p, "sha256": sha256(p)}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

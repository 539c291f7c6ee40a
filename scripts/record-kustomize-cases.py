#!/usr/bin/env python3
"""Records kustomize's real answer for every case under tests/kustomize-cases/.

For each <case>/ with a build-dir file and an input/ tree, runs
`kubectl kustomize <build-dir>` (kustomize v5.5.0) with cwd = <case>/input and writes
  expected.yaml          stdout, when the build succeeds
  expected-warnings.txt  stderr of a successful build, when not empty
  expected-error.txt     the error, when it fails: the Go-unquoted `err` text of kubectl's
                         klog line, with the absolute input path replaced by {INPUT} and
                         Go pointers by 0xPTR (the shared corpus' normalisation)
Extra arguments for kubectl may be given in <case>/kubectl-args (one per line).

Usage: scripts/record-kustomize-cases.py [case-name ...]
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "kustomize-cases")


def go_unquote(s):
    # Go's strconv.Quote output is JSON-compatible for everything kubectl prints here
    # except \x.. and \a \v escapes, which we translate first.
    s = re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: "\\u00" + m.group(1), s)
    s = s.replace("\\a", "\\u0007").replace("\\v", "\\u000b")
    return json.loads('"' + s + '"')


def record(case):
    d = os.path.join(ROOT, case)
    build_dir = open(os.path.join(d, "build-dir")).read().strip()
    args = []
    extra = os.path.join(d, "kubectl-args")
    if os.path.exists(extra):
        args = [a for a in open(extra).read().split("\n") if a]
    inp = os.path.realpath(os.path.join(d, "input"))
    p = subprocess.run(["kubectl", "kustomize", *args, build_dir], cwd=inp,
                       capture_output=True, text=False)
    for f in ("expected.yaml", "expected-error.txt", "expected-warnings.txt"):
        try:
            os.remove(os.path.join(d, f))
        except FileNotFoundError:
            pass
    stderr = p.stderr.decode("utf-8", "replace")
    # klog info lines (kustomize's log.Printf) carry a timestamp and pid: keep the message,
    # and sort the comma-separated list of unused vars (kustomize prints it in map order).
    def klog_info(m):
        msg = m.group(1)
        unused = "well-defined vars that were never replaced: "
        if msg.startswith(unused):
            msg = unused + ",".join(sorted(msg[len(unused):].split(",")))
        return msg
    stderr = re.sub(r"(?m)^I\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ \S+\] (.*)$", klog_info, stderr)
    if p.returncode == 0:
        open(os.path.join(d, "expected.yaml"), "wb").write(p.stdout)
        if stderr:
            open(os.path.join(d, "expected-warnings.txt"), "w").write(stderr)
        return "ok"
    m = re.search(r'"command failed" err="((?:[^"\\]|\\.)*)"', stderr)
    block = re.search(r'"command failed" err=<\n((?:\t.*\n)*) >', stderr)
    if m:
        msg = go_unquote(m.group(1))
    elif block:
        # klog prints a multi-line value as a block, each line indented by a tab.
        msg = "\n".join(l[1:] for l in block.group(1).split("\n") if l).rstrip("\n")
    else:
        msg = stderr.strip()
    msg = msg.replace(inp, "{INPUT}")
    msg = re.sub(r"0xc[0-9a-f]+", "0xPTR", msg)
    open(os.path.join(d, "expected-error.txt"), "w").write(msg + "\n")
    return "error"


def main():
    cases = sys.argv[1:] or sorted(
        c for c in os.listdir(ROOT) if os.path.exists(os.path.join(ROOT, c, "build-dir")))
    for c in cases:
        print(f"{c}: {record(c)}")


if __name__ == "__main__":
    main()

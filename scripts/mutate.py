#!/usr/bin/env python3
"""Mutation testing of the consensus verification steps against the simulator alone.

Every verification step in the files below is found mechanically and deleted, one at a time:
  - an `if (COND)` whose body returns an error status (`return absl::...Error(...)`, `return
    status;`...) becomes `if (false && (COND))` (the check never fires; COND still compiles, so no
    unused-variable warnings);
  - an `ITMO_RETURN_IF_ERROR(EXPR);` becomes `(void)(EXPR);` (the call still runs, its verdict is
    ignored).
Limits (`ResourceExhaustedError`) are not verification steps and are left alone. For each mutant the
script rebuilds only `itmo-sim` in its own build directory and runs the simulator over a fixed seed
range: a non-zero exit (a safety violation, a liveness failure, an abort) means the simulator caught
the deletion. The unit tests never run: only the simulator counts. The source file is restored after
every mutant, whatever happens.

Usage: scripts/mutate.py [--seeds 200] [--first-seed 1] [--only SUBSTRING] [--list]
Exit status: 0 when every mutant was caught, 1 when one survived, 2 on a setup error.
"""

import argparse
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = [
    "consensus/quorum.cc",
    "consensus/safety_rules.cc",
    "consensus/replica_sync.cc",
    "consensus/block_tree.cc",
    "consensus/replica.cc",
]
# A statement that refuses: returns an error status built here, or passes one on.
ERROR_RETURN = re.compile(
    r"return\s+(absl::(?!OkStatus)\w+Error\(|absl::Status\(|Refuse\w*\(|Invalid\w*\(|status;|s;)")
LIMIT = re.compile(r"ResourceExhaustedError")
# Functions that check no peer input, with the reason (printed by --list).
SKIP_FUNCTIONS = {
    "consensus/replica.cc": [
        ("absl::Status Replica::ValidateOptions(", "checks the operator's options, not peer input"),
        ("Replica::Handle(const Event& event)", "propagates a handler's verdict; checks nothing"),
    ],
}
IF_START = re.compile(r"\bif\s*\(")
RETURN_IF_ERROR = re.compile(r"\bITMO_RETURN_IF_ERROR\s*\(")


def match_paren(text, open_index):
    """Index just past the parenthesis that closes text[open_index] == '('."""
    depth = 0
    i = open_index
    while i < len(text):
        c = text[i]
        if c == '"' or c == "'":  # Skip string and char literals.
            quote = c
            i += 1
            while i < len(text) and text[i] != quote:
                i += 2 if text[i] == "\\" else 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError("unbalanced parenthesis at %d" % open_index)


def statement_end(text, start):
    """The end of the statement or braced block that starts at or after `start`."""
    i = start
    while text[i].isspace():
        i += 1
    if text[i] == "{":
        depth = 0
        while i < len(text):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        raise ValueError("unbalanced brace at %d" % start)
    return text.index(";", i) + 1


def in_comment(text, index):
    line_start = text.rfind("\n", 0, index) + 1
    return "//" in text[line_start:index]


def skipped_ranges(path, text):
    ranges = []
    for signature, reason in SKIP_FUNCTIONS.get(path, []):
        start = text.find(signature)
        if start < 0:
            raise ValueError("%s: no function %r to skip" % (path, signature))
        ranges.append((start, statement_end(text, text.index("{", start)), signature, reason))
    return ranges


def find_mutants(path):
    text = open(os.path.join(ROOT, path)).read()
    skipped = skipped_ranges(path, text)
    mutants = []

    def is_skipped(index):
        return any(start <= index < end for start, end, _, _ in skipped)

    for m in IF_START.finditer(text):
        if in_comment(text, m.start()) or is_skipped(m.start()):
            continue
        open_index = m.end() - 1
        close = match_paren(text, open_index)
        body = text[close:statement_end(text, close)]
        if not ERROR_RETURN.search(body) or LIMIT.search(body):
            continue
        cond = text[open_index + 1:close - 1]
        mutated = text[:open_index] + "(false && (" + cond + "))" + text[close:]
        mutants.append((path, text.count("\n", 0, m.start()) + 1, "if (" + cond + ")", mutated))
    for m in RETURN_IF_ERROR.finditer(text):
        if in_comment(text, m.start()) or is_skipped(m.start()):
            continue
        open_index = m.end() - 1
        close = match_paren(text, open_index)
        expr = text[open_index + 1:close - 1]
        mutated = text[:m.start()] + "(void)(" + expr + ")" + text[close:]
        mutants.append((path, text.count("\n", 0, m.start()) + 1, "ITMO_RETURN_IF_ERROR(" + expr +
                        ")", mutated))
    mutants.sort(key=lambda x: x[1])
    return text, mutants, skipped


def one_line(snippet, width=70):
    s = " ".join(snippet.split())
    return s if len(s) <= width else s[:width - 3] + "..."


def run(cmd, log):
    with open(log, "ab") as out:
        return subprocess.run(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT).returncode


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--only", default="", help="mutate only files whose path contains this")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build-mutate"))
    args = parser.parse_args()

    plan = []
    for path in FILES:
        if args.only in path:
            original, mutants, skipped = find_mutants(path)
            plan.append((path, original, mutants))
            if args.list:
                for _, _, signature, reason in skipped:
                    print("%s: skipped %s (%s)" % (path, signature.rstrip("("), reason))
    total = sum(len(m) for _, _, m in plan)
    if args.list:
        for _, _, mutants in plan:
            for path, line, snippet, _ in mutants:
                print("%s:%d  %s" % (path, line, one_line(snippet)))
        print("%d mutants" % total)
        return 0

    log = os.path.join(args.build_dir, "mutate.log")
    os.makedirs(args.build_dir, exist_ok=True)
    open(log, "w").close()
    configure = ["cmake", "-S", ROOT, "-B", args.build_dir, "-DCMAKE_BUILD_TYPE=Release"]
    if subprocess.run(["which", "ccache"], stdout=subprocess.DEVNULL).returncode == 0:
        configure.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
    jobs = os.environ.get("ITMO_JOBS", str(os.cpu_count() or 2))
    build = ["cmake", "--build", args.build_dir, "-j", jobs, "--target", "itmo-sim"]
    sim = [os.path.join(args.build_dir, "bin", "itmo-sim"), "--seeds", str(args.seeds),
           "--first-seed", str(args.first_seed)]
    if run(configure, log) != 0 or run(build, log) != 0:
        print("mutate: the unmutated build failed; see %s" % log)
        return 2
    if run(sim, log) != 0:
        print("mutate: the unmutated simulator fails these seeds; see %s" % log)
        return 2

    survived = []
    caught = 0
    start = time.time()
    index = 0
    for path, original, mutants in plan:
        full = os.path.join(ROOT, path)
        try:
            for _, line, snippet, mutated in mutants:
                index += 1
                with open(full, "w") as f:
                    f.write(mutated)
                label = "[%d/%d] %s:%d  %s" % (index, total, path, line, one_line(snippet))
                with open(log, "a") as f:
                    f.write("\n==== %s\n" % label)
                if run(build, log) != 0:
                    print("%s\n    BUILD FAILED (counted as survived)" % label, flush=True)
                    survived.append(label)
                    continue
                if run(sim, log) != 0:
                    caught += 1
                    print("%s\n    caught" % label, flush=True)
                else:
                    survived.append(label)
                    print("%s\n    SURVIVED %d seeds" % (label, args.seeds), flush=True)
        finally:
            with open(full, "w") as f:
                f.write(original)
    run(build, log)  # Leave the build directory matching the sources.
    print("mutate: %d mutants, %d caught by the simulator, %d survived, %.0f s" %
          (total, caught, len(survived), time.time() - start))
    for label in survived:
        print("  survived: " + label)
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())

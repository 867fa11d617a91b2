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

Mutants that no input can tell apart (another check refuses the same input first) are listed in
EQUIVALENT with the reason, skipped, and shown by --list. itmo-sim is built with
-D_GLIBCXX_ASSERTIONS (an index out of range aborts) and stops at a mutant's first failing seed.

Usage: scripts/mutate.py [--seeds 200] [--first-seed 1] [--only SUBSTRING] [--list]
                         [--sim-args "--no-oracle"]
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
# Mutants that are equivalent: no input can tell the deletion apart, because another check refuses
# the same input first (or the state it guards cannot arise). (file, text of the condition, why.)
EQUIVALENT = [
    ("consensus/quorum.cc", "qc.block_id().size() != crypto::kDigestBytes",
     "a QC over a malformed id needs q signatures over it; honest validators never sign one, so "
     "the quorum and signature checks refuse it"),
    ("consensus/quorum.cc", "if (tc.epoch() != epoch_)",
     "the timeout bytes signed include the epoch: a TC of another epoch needs q signatures of "
     "that epoch, which f keys cannot give; the quorum and signature checks refuse it"),
    ("consensus/quorum.cc", "if (tc.round() == 0)",
     "every high_qc_round must be below the TC's round, impossible in round 0 with q >= 1 signers"),
    ("consensus/quorum.cc", "if (proposer >= keys_.size())",
     "VerifyBlock refuses a proposer that is not the round's leader (< n) before this runs"),
    ("consensus/quorum.cc", "if (vote.round() < floor_round_)",
     "Replica::AddVote drops votes below round - 1 first, and the floor is round - 1"),
    ("consensus/quorum.cc", "if (it != round.votes.end())",
     "without it emplace keeps the first vote and the quorum count is over stored votes: the same"
     " QC forms; Replica::AddVote ignores the status"),
    ("consensus/quorum.cc", "if (it->second.block_id() == vote.block_id())",
     "only the error code of a refused duplicate changes, and Replica::AddVote ignores it"),
    ("consensus/quorum.cc", "if (timeout.round() < floor_round_)",
     "Replica::ProcessTimeout drops timeouts below the current round first, and the floor is it"),
    ("consensus/quorum.cc", "if (round.timeouts.contains(timeout.signer()))",
     "without it emplace keeps the first timeout and the count is over stored ones: the same TC "
     "forms; Replica::ProcessTimeout ignores the status"),
    ("consensus/safety_rules.cc", "if (header.epoch() != options_.epoch)",
     "VerifyBlock and CheckExtends refuse a block of another epoch before any vote"),
    ("consensus/safety_rules.cc", "if (!block.has_tc())",
     "VerifyBlock refuses a block with round != qc.round + 1 and no TC"),
    ("consensus/safety_rules.cc", "if (round != block.tc().round() + 1)",
     "VerifyBlock refuses a TC-justified block whose round is not tc.round + 1"),
    ("consensus/safety_rules.cc", "if (round <= state_.highest_timeout_round())",
     "highest_timeout_round <= last_voted_round, so a round at or below it is either below "
     "last_voted_round (refused just above) or equal to the last timeout's round (answered by the "
     "re-sign above)"),
    ("consensus/safety_rules.cc", "if (!after_qc && !after_tc)",
     "the pacemaker's round is always max(high QC round, high TC round) + 1"),
    ("consensus/safety_rules.cc", "if (high_qc.round() < state_.one_chain_round()",
     "the tree's high QC is never below one_chain_round: the QC is persisted with it and the "
     "replica re-inserts it on restart"),
    ("consensus/safety_rules.cc", "if (block.header().proposer() != options_.my_index)",
     "Replica::MaybePropose always names this validator"),
    ("consensus/safety_rules.cc", "if (round < state_.last_voted_round())",
     "the replica times out only in its pacemaker round, never below last_voted_round (asserted "
     "in Replica::CheckInvariants: the QC or TC that justified a vote or timeout is persisted "
     "with it, so a restart resumes at or above it)"),
    ("consensus/safety_rules.cc", "if (block.header().round() <= state_.last_proposed_round())",
     "Replica::MaybePropose proposes only above proposed_round_, which it restores from the "
     "persisted last_proposed_round, and the leader's own vote (last_voted_round = the round) is "
     "persisted in the same fsync, so the last_voted_round check refuses the same requests"),
    ("consensus/replica_sync.cc", "ITMO_RETURN_IF_ERROR(CheckExtends(response.blocks(i - 1), block))",
     "each retrieved block is certified (the first by the QC that asked for it, each next by the "
     "previous one's QC), so honest voters checked it extends its parent; BlockTree::Insert "
     "checks it again"),
    ("consensus/replica_sync.cc", "ITMO_RETURN_IF_ERROR(tree_.CheckInsert(block))",
     "the linking block is certified (honest voters checked it extends its parent) and "
     "BlockTree::Insert runs the same CheckInsert"),
    ("consensus/replica_sync.cc", "if (block.header().height() != tree_.committed_height() + 1",
     "CheckExtends(block, previous) requires height previous + 1, from the committed root"),
    ("consensus/block_tree.cc", "if (header.round() <= root_.header().round() || header.height()",
     "only the root's descendants are in the tree, so a block at or below the root finds no "
     "parent (kNotFound, which every caller treats like kOutOfRange) or fails CheckExtends"),
    ("consensus/block_tree.cc", "if (child.qc().block_id() != header.parent_id() ||",
     "CheckInsert finds the parent by parent_id and VerifyBlock checks qc.block_id == parent_id; "
     "a synced block is certified and qc.round == parent round (checked next) already names the "
     "parent, since one round certifies at most one block"),
    ("consensus/block_tree.cc", "if (block.qc().block_id() != header.parent_id())",
     "VerifyBlock refuses it before every CheckInsert, and CheckExtends checks it again"),
]
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
    kept = []
    for mutant in mutants:
        reason = equivalent_reason(path, mutant[2])
        if reason is None:
            kept.append(mutant)
        else:
            skipped.append((None, None, "line %d %s" % (mutant[1], one_line(mutant[2], 60)),
                            "equivalent: " + reason))
    return text, kept, skipped


def equivalent_reason(path, snippet):
    flat = " ".join(snippet.split())
    for file, text, reason in EQUIVALENT:
        if file == path and " ".join(text.split()) in flat:
            return reason
    return None


def one_line(snippet, width=70):
    s = " ".join(snippet.split())
    return s if len(s) <= width else s[:width - 3] + "..."


def last_failure(log):
    """The reason of the last FAIL line (or abort) the log holds, shortened."""
    reason = "?"
    with open(log, errors="replace") as f:
        for line in f:
            if line.startswith("FAIL "):
                reason = line.split("): ", 1)[-1].strip()
    return one_line(reason, 110)


def run(cmd, log):
    with open(log, "ab") as out:
        return subprocess.run(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT).returncode


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--only", default="", help="mutate only files whose path contains this")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--sim-args", default="", help="extra itmo-sim flags, space-separated")
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
    # Bounds-checked standard containers: a deletion that lets an index out of range aborts (and
    # counts as caught) instead of reading past a vector.
    configure = ["cmake", "-S", ROOT, "-B", args.build_dir, "-DCMAKE_BUILD_TYPE=Release",
                 "-DCMAKE_CXX_FLAGS=-D_GLIBCXX_ASSERTIONS"]
    if subprocess.run(["which", "ccache"], stdout=subprocess.DEVNULL).returncode == 0:
        configure.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
    jobs = os.environ.get("ITMO_JOBS", str(os.cpu_count() or 2))
    build = ["nice", "cmake", "--build", args.build_dir, "-j", jobs, "--target", "itmo-sim"]
    sim = ["nice", os.path.join(args.build_dir, "bin", "itmo-sim"), "--seeds", str(args.seeds),
           "--first-seed", str(args.first_seed)] + args.sim_args.split()
    unmutated = list(sim)
    sim.append("--stop-on-failure")  # A mutant is caught at its first failing seed.
    if run(configure, log) != 0 or run(build, log) != 0:
        print("mutate: the unmutated build failed; see %s" % log)
        return 2
    if run(unmutated, log) != 0:
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
                    print("%s\n    caught: %s" % (label, last_failure(log)), flush=True)
                else:
                    survived.append(label)
                    print("%s\n    SURVIVED %d seeds" % (label, args.seeds), flush=True)
        finally:
            with open(full, "w") as f:
                f.write(original)
    run(build, log)  # Leave the build directory matching the sources.
    print("mutate: %d mutants, %d caught by the simulator, %d survived, %.0f s (equivalent "
          "mutants skipped: see --list)" % (total, caught, len(survived), time.time() - start))
    for label in survived:
        print("  survived: " + label)
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())

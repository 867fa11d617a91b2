#!/usr/bin/env python3
"""Unit test of checker.py: a clean fabricated history passes, and each kind of violation the
campaign looks for (fork, lost ack, misplaced ack, duplicate commit, double ACCEPTED, a status
sample of another block, no liveness) is reported."""

import base64
import copy
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import checker  # noqa: E402


def b64(text):
    return base64.b64encode(text.encode()).decode()


def tx(tx_id, client_tx_id, status="TX_ACCEPTED"):
    return {"txId": b64(tx_id), "status": status, "submitter": "GHA-NR",
            "clientTxId": client_tx_id}


def block(height, txs, tag="", parent=None):
    block_id = f"block-{height}{tag}"
    return {"height": str(height), "blockId": b64(block_id), "stateRoot": b64(f"root-{height}{tag}"),
            "committed": {"block": {"header": {"parentId": b64(parent or f"block-{height - 1}")}}},
            "outcomes": txs}


CHAIN = [block(1, [tx("t1", "c1")]), block(2, [tx("t2", "c2"), tx("t3", "c3")]), block(3, [])]
ACKS = [{"client": 0, "op": 1, "attempt": 1, "node": "a", "submitter": "GHA-NR",
         "client_tx_id": "c1", "tx_id": "t1".encode().hex(),
         "result": "committed", "height": 1, "index": 0, "status": "TX_ACCEPTED"},
        {"client": 0, "op": 2, "attempt": 1, "node": "b", "submitter": "GHA-NR",
         "client_tx_id": "c3", "tx_id": "t3".encode().hex(), "result": "committed", "height": 2,
         "index": 1, "status": "TX_ACCEPTED"}]


class CheckerTest(unittest.TestCase):
    def check(self, chains, acks=ACKS, samples=(), liveness_ok=True):
        work = tempfile.mkdtemp(prefix="faults-checker-test-")
        self.addCleanup(shutil.rmtree, work, True)
        os.makedirs(os.path.join(work, "chains"))
        os.makedirs(os.path.join(work, "history"))
        for node, chain in chains.items():
            with open(os.path.join(work, "chains", f"{node}.jsonl"), "w") as f:
                f.writelines(json.dumps(b) + "\n" for b in chain)
        with open(os.path.join(work, "history", "client-0.jsonl"), "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in acks)
        with open(os.path.join(work, "samples.jsonl"), "w") as f:
            f.writelines(json.dumps(s) + "\n" for s in samples)
        with open(os.path.join(work, "run.json"), "w") as f:
            json.dump({"live_nodes": sorted(chains), "converged": True,
                       "liveness": {"ok": liveness_ok}}, f)
        c = checker.Checker(work)
        c.check()
        return c.violations

    def assertViolation(self, violations, text):
        self.assertTrue(any(text in v for v in violations), f"no '{text}' in {violations}")

    def test_clean_history_passes(self):
        sample = {"node": "a", "time": 1, "height": 2, "block_id": b64("block-2"),
                  "state_root": "root-2".encode().hex()}
        self.assertEqual(self.check({"a": CHAIN, "b": CHAIN}, samples=[sample]), [])

    def test_fork_is_reported(self):
        forked = copy.deepcopy(CHAIN)
        forked[2] = block(3, [], tag="x")
        self.assertViolation(self.check({"a": CHAIN, "b": forked}), "height 3: b and a differ")

    def test_lost_acknowledged_transaction_is_reported(self):
        lost = copy.deepcopy(CHAIN)
        lost[1]["outcomes"] = [tx("t2", "c2")]
        self.assertViolation(self.check({"a": lost}), "LOST")

    def test_misplaced_acknowledgement_is_reported(self):
        acks = copy.deepcopy(ACKS)
        acks[1]["index"] = 0
        self.assertViolation(self.check({"a": CHAIN}, acks=acks), "client saw height 2 index 0")

    def test_duplicate_commit_and_double_accept_are_reported(self):
        dup = copy.deepcopy(CHAIN)
        dup[2]["outcomes"] = [tx("t1", "c1")]
        violations = self.check({"a": dup})
        self.assertViolation(violations, "committed 2 times")
        self.assertViolation(violations, "ACCEPTED twice")

    def test_status_sample_of_another_block_is_reported(self):
        sample = {"node": "b", "time": 1, "height": 2, "block_id": b64("block-2x"),
                  "state_root": ""}
        self.assertViolation(self.check({"a": CHAIN}, samples=[sample]), "served block")

    def test_broken_parent_link_is_reported(self):
        broken = copy.deepcopy(CHAIN)
        broken[2] = block(3, [], parent="block-9")
        self.assertViolation(self.check({"a": broken}), "parent")

    def test_no_liveness_is_reported(self):
        self.assertViolation(self.check({"a": CHAIN}, liveness_ok=False), "liveness")


if __name__ == "__main__":
    unittest.main()

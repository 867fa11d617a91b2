#!/usr/bin/env python3
"""The history checker of the fault campaign, written from the ledger's rules (it shares no code
with the node). Usage: checker.py WORK_DIR   (exit 0: every check passed; 1: a violation).

Reads what the campaign recorded in WORK_DIR:
  history/client-*.jsonl  every client attempt and the outcome the client saw (clients.py)
  chains/<node>.jsonl     each live node's committed log after healing (SubscribeCommits as JSON)
  samples.jsonl           (node, height, block id, state root) polled from GetStatus during the run
  run.json                live nodes, the time of the final heal, the liveness probe

Checks:
  1. Agreement: at every height, every node that has it serves the same block id, state root and
     transaction list; each node's log is gap-free from height 1 and each block's parent is the
     block before it.
  2. No node ever served a different block at a height: every GetStatus sample taken during the
     faults (block id and state root at the node's height then) matches the final log.
  3. Durability: every transaction a client saw COMMITTED is on every live node, at the height and
     index the client was told, with the same status, exactly once.
  4. No duplicates: no transaction id appears twice in the log, and no (submitter, client_tx_id)
     pair has two ACCEPTED outcomes (a client's retry may commit, but only as a rejection).
  5. Convergence and liveness: every live node reached the same height after the final heal, and
     the liveness probe committed within its bound.
"""

import base64
import glob
import json
import os
import sys


def field(d, *names, default=None):
    """A protobuf-JSON field under its proto name or its lowerCamel JSON name."""
    for name in names:
        if name in d:
            return d[name]
        camel = name.split("_")[0] + "".join(p.title() for p in name.split("_")[1:])
        if camel in d:
            return d[camel]
    return default


def b64hex(value):
    """Hex of a protobuf-JSON bytes field (base64); hex strings pass through."""
    if not value:
        return ""
    try:
        return base64.b64decode(value, validate=True).hex()
    except ValueError:
        return value.lower()


def read_jsonl(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                out.append(json.loads(line))
    return out


class Checker:
    def __init__(self, work):
        self.work = work
        self.violations = []
        self.figures = {}
        with open(os.path.join(work, "run.json")) as f:
            self.run = json.load(f)

    def violation(self, text):
        self.violations.append(text)

    def load_chains(self):
        """node -> {height: block summary}."""
        self.chains = {}
        for path in sorted(glob.glob(os.path.join(self.work, "chains", "*.jsonl"))):
            node = os.path.basename(path)[:-len(".jsonl")]
            blocks = {}
            for raw in read_jsonl(path):
                header = field(field(field(raw, "committed", default={}), "block", default={}),
                               "header", default={})
                outcomes = field(raw, "outcomes", default=[])
                height = int(field(raw, "height", default=0))
                blocks[height] = {
                    "block_id": b64hex(field(raw, "block_id")),
                    "parent_id": b64hex(field(header, "parent_id")),
                    "state_root": b64hex(field(raw, "state_root")),
                    "txs": [(b64hex(field(o, "tx_id")), field(o, "status", default="?"),
                             field(o, "submitter", default=""),
                             field(o, "client_tx_id", default="")) for o in outcomes],
                }
            self.chains[node] = blocks

    def check_agreement(self):
        reference = {}  # height -> (node, block)
        for node, blocks in self.chains.items():
            heights = sorted(blocks)
            if heights and heights != list(range(1, heights[-1] + 1)):
                self.violation(f"{node}: log has gaps (heights {heights[0]}..{heights[-1]}, "
                               f"{len(heights)} blocks)")
            for h in heights:
                b = blocks[h]
                if h > 1 and h - 1 in blocks and b["parent_id"] and \
                        b["parent_id"] != blocks[h - 1]["block_id"]:
                    self.violation(f"{node}: block {h} parent {b['parent_id'][:16]} is not "
                                   f"block {h - 1} {blocks[h - 1]['block_id'][:16]}")
                if h not in reference:
                    reference[h] = (node, b)
                    continue
                other, ref = reference[h]
                for key in ("block_id", "state_root", "txs"):
                    if b[key] != ref[key]:
                        self.violation(f"height {h}: {node} and {other} differ in {key}: "
                                       f"{str(b[key])[:40]} vs {str(ref[key])[:40]}")
        self.reference = {h: b for h, (_, b) in reference.items()}
        self.figures["heights"] = {n: max(b) if b else 0 for n, b in self.chains.items()}

    def check_samples(self):
        path = os.path.join(self.work, "samples.jsonl")
        samples = read_jsonl(path) if os.path.exists(path) else []
        checked = 0
        for s in samples:
            h = int(s.get("height", 0))
            if h == 0 or h not in self.reference:
                continue
            ref = self.reference[h]
            block_id = b64hex(s.get("block_id", ""))
            if block_id and block_id != ref["block_id"]:
                self.violation(f"{s['node']} served block {block_id[:16]} at height {h} "
                               f"(t={s['time']}), the log has {ref['block_id'][:16]}")
            root = (s.get("state_root") or "").lower()
            if root and root != ref["state_root"]:
                self.violation(f"{s['node']} served state root {root[:16]} at height {h} "
                               f"(t={s['time']}), the log has {ref['state_root'][:16]}")
            checked += 1
        self.figures["status_samples_checked"] = checked

    def check_transactions(self):
        where = {}  # tx_id -> [(height, index)]
        accepted = {}  # (submitter, client_tx_id) -> [tx_id]
        for h in sorted(self.reference):
            for i, (tx_id, status, submitter, client_tx_id) in enumerate(self.reference[h]["txs"]):
                where.setdefault(tx_id, []).append((h, i, status))
                if status == "TX_ACCEPTED" and client_tx_id:
                    accepted.setdefault((submitter, client_tx_id), []).append(tx_id)
        for tx_id, places in where.items():
            if len(places) > 1:
                self.violation(f"tx {tx_id[:16]} committed {len(places)} times: {places}")
        for key, ids in accepted.items():
            if len(ids) > 1:
                self.violation(f"{key[0]}/{key[1]} ACCEPTED twice: {[i[:16] for i in ids]}")
        records = []
        for path in sorted(glob.glob(os.path.join(self.work, "history", "client-*.jsonl"))):
            records += read_jsonl(path)
        acked = lost = misplaced = 0
        unknown_committed = unknown = failed = failed_committed = 0
        live = self.run["live_nodes"]
        for r in records:
            if r["result"] == "committed":
                acked += 1
                places = where.get(r["tx_id"], [])
                if not places:
                    lost += 1
                    self.violation(f"LOST: {r['submitter']}/{r['client_tx_id']} tx "
                                   f"{r['tx_id'][:16]} was acknowledged committed at height "
                                   f"{r['height']} index {r['index']} (via {r['node']}) and is "
                                   f"not in the log")
                    continue
                h, i, status = places[0]
                if (h, i) != (r["height"], r["index"]) or status != r["status"]:
                    misplaced += 1
                    self.violation(f"{r['tx_id'][:16]}: client saw height {r['height']} index "
                                   f"{r['index']} {r['status']}, the log has {h}/{i} {status}")
                for node in live:
                    block = self.chains.get(node, {}).get(h)
                    if block is None or i >= len(block["txs"]) or block["txs"][i][0] != r["tx_id"]:
                        self.violation(f"{r['tx_id'][:16]} is not at {h}/{i} on {node}")
            elif r["result"] == "unknown":
                unknown += 1
                unknown_committed += bool(where.get(r["tx_id"]))
            else:
                failed += 1
                failed_committed += bool(r.get("tx_id") and where.get(r["tx_id"]))
        # Retries (attempt 2, same client_tx_id) the client saw committed, by status: the
        # ledger's de-duplication at work when the first attempt had committed after all.
        retries = {}
        for r in records:
            if r["attempt"] == 2 and r["result"] == "committed":
                retries[r["status"]] = retries.get(r["status"], 0) + 1
        self.figures["retries_committed_by_status"] = retries
        txs_in_log = sum(len(b["txs"]) for b in self.reference.values())
        self.figures.update(attempts=len(records), acknowledged_committed=acked, lost=lost,
                            misplaced=misplaced, unknown=unknown,
                            unknown_later_committed=unknown_committed, refused=failed,
                            txs_in_log=txs_in_log, blocks=len(self.reference),
                            client_ops=len({(r["client"], r["op"]) for r in records}))
        if acked == 0:
            self.violation("no transaction was acknowledged committed: the load did not run")

    def check_liveness(self):
        heights = {n: self.figures["heights"].get(n, 0) for n in self.run["live_nodes"]}
        if len(set(heights.values())) > 1:
            self.violation(f"live nodes' logs end at different heights: {heights}")
        if not self.run.get("converged"):
            self.violation(f"not every live node caught up within "
                           f"{self.run.get('converge_bound_s')} s of the final heal: "
                           f"{self.run.get('heights_at_end')}")
        missing = [n for n in self.run["live_nodes"] if n not in self.chains]
        if missing:
            self.violation(f"no log from live nodes {missing}")
        probe = self.run.get("liveness", {})
        self.figures["liveness"] = probe
        if not probe.get("ok"):
            self.violation(f"liveness: no commit within {probe.get('bound_s')} s after the final "
                           f"heal: {probe}")

    def check(self):
        self.load_chains()
        self.check_agreement()
        self.check_samples()
        self.check_transactions()
        self.check_liveness()
        return not self.violations


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    checker = Checker(sys.argv[1])
    ok = checker.check()
    print(json.dumps({"ok": ok, "figures": checker.figures,
                      "violations": checker.violations[:50],
                      "violations_total": len(checker.violations)}, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

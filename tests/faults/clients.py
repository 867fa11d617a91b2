"""Concurrent clients: each submits signed open_account transactions with `itmoctl tx` (which
signs, submits and waits for the commit) to a node it picks, and records every attempt with the
outcome it saw. A transaction the client did not see committed is retried once, with the same
client_tx_id, through another node: the ledger must commit at most one of the two.

Record (one JSON object per line in history/client-<k>.jsonl):
  client, op (the client's sequence number), attempt (1 or 2), submitter, client_tx_id, node,
  t0/t1 (wall clock), result: "committed" (with tx_id, height, index, status) |
  "unknown" (submitted, tx_id known, no commit seen in time) | "failed" (not admitted; error).
"""

import json
import os
import random
import re
import threading
import time

REGISTRIES = [("GHA-NR", "GHA"), ("CHE-NR", "CHE"), ("SWE-NR", "SWE"), ("SGP-NR", "SGP")]
SUBMITTED = re.compile(r"^submitted ([0-9a-f]{64})", re.M)
COMMITTED = re.compile(
    r"^tx ([0-9a-f]{64}) committed at height (\d+) index (\d+): (\S+) ?(.*)$", re.M)


def parse_tx_output(out):
    """(tx_id or None, (height, index, status, text) or None) from `itmoctl tx` stdout."""
    submitted = SUBMITTED.search(out)
    committed = COMMITTED.search(out)
    tx_id = submitted.group(1) if submitted else None
    if committed:
        return committed.group(1), (int(committed.group(2)), int(committed.group(3)),
                                    committed.group(4), committed.group(5).strip())
    return tx_id, None


class Client(threading.Thread):
    def __init__(self, index, seed, ctl, nodes, folder, stop_event, lifetime_ms=10000,
                 wait_s=15):
        super().__init__(name=f"client-{index}", daemon=True)
        self.index = index
        self.rng = random.Random(f"client-{seed}-{index}")
        self.ctl = ctl
        self.nodes = nodes
        self.stop_event = stop_event
        self.lifetime_ms = lifetime_ms
        self.wait_s = wait_s
        self.registry, self.party = REGISTRIES[index % len(REGISTRIES)]
        self.path = os.path.join(folder, f"client-{index}.jsonl")
        self.counts = {"committed": 0, "unknown": 0, "failed": 0}

    def attempt(self, op, attempt, node, client_tx_id, account):
        body = json.dumps({"account": {"ref": {"registry_id": self.registry,
                                               "account_id": account},
                                       "holder_party": self.party}})
        t0 = time.time()
        code, out, err = self.ctl.run(
            ["tx", "--node", node.api, "--localnet", self.ctl.localnet, "--signer",
             self.registry, "--action", "open_account", "--client-tx-id", client_tx_id,
             "--lifetime-ms", str(self.lifetime_ms), "--timeout", str(self.wait_s), "--json",
             body], timeout=self.wait_s + 15)
        tx_id, committed = parse_tx_output(out)
        record = {"client": self.index, "op": op, "attempt": attempt, "node": node.name,
                  "submitter": self.registry, "client_tx_id": client_tx_id, "tx_id": tx_id,
                  "t0": round(t0, 3), "t1": round(time.time(), 3)}
        if committed:
            height, index, status, text = committed
            record.update(result="committed", height=height, index=index, status=status,
                          text=text[:200])
        elif tx_id:
            record.update(result="unknown", error=(err.strip() or f"exit {code}")[-300:])
        else:
            record.update(result="failed", error=(err.strip() or f"exit {code}")[-300:])
        self.counts[record["result"]] += 1
        return record

    def run(self):
        op = 0
        with open(self.path, "a") as out:
            while not self.stop_event.is_set():
                op += 1
                client_tx_id = f"faults-c{self.index}-{op}"
                account = f"F{self.index}-{op}"
                first = self.rng.choice(self.nodes)
                record = self.attempt(op, 1, first, client_tx_id, account)
                out.write(json.dumps(record) + "\n")
                out.flush()
                if record["result"] != "committed" and not self.stop_event.is_set():
                    second = self.rng.choice([n for n in self.nodes if n is not first])
                    record = self.attempt(op, 2, second, client_tx_id, account)
                    out.write(json.dumps(record) + "\n")
                    out.flush()
                if record["result"] == "failed":
                    time.sleep(0.2)  # A refused submit returns at once; do not spin.

#!/usr/bin/env python3
"""The fault campaign: real itmo-node processes in network namespaces, concurrent clients, a
nemesis drawn from the seed, then a history check. See docs/faults.md.

  faults.py --seed 1 --minutes 2 [--bin-dir build/bin] [--clients 4] [--observers 1] [--keep]

Exit codes: 0 every check passed; 1 a check failed (the seed replays it); 2 a setup error;
77 the machine cannot run it (not root, no namespaces or nftables): ctest reports SKIP.
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import checker  # noqa: E402
import clients  # noqa: E402
import cluster  # noqa: E402
import fnet  # noqa: E402
import nemesis  # noqa: E402

EXIT_SKIP = 77
CONVERGE_S = 90  # Every live node at one height within this after the final heal.


class Interrupted(Exception):
    pass


class Campaign:
    def __init__(self, args):
        self.args = args
        self.bin_dir = os.path.abspath(args.bin_dir)
        self.work = args.work or tempfile.mkdtemp(prefix=f"itmo-faults-s{args.seed}-")
        os.makedirs(self.work, exist_ok=True)
        self.tag = f"{os.getpid() % 100000}"
        self.validator_names = [f"validator-{i}" for i in range(args.validators)]
        self.observer_names = [f"observer-{j}" for j in range(args.observers)]
        names = self.validator_names + self.observer_names
        self.net = fnet.Net(self.tag, names, subnet=os.getpid() % 250)
        self.nodes = []
        self.mounts = []
        self.corrupt_results = []
        self.started = time.time()
        self.stop_clients = threading.Event()
        self.stop_all = threading.Event()
        self.say_lock = threading.Lock()

    def say(self, text):
        with self.say_lock:
            print(f"[{time.time() - self.started:7.1f}s] {text}", flush=True)

    def node(self, name):
        return next(n for n in self.nodes if n.name == name)

    def validators(self):
        return [n for n in self.nodes if n.role == "validator"]

    # ---- setup and teardown ----------------------------------------------------------------

    def setup(self, disk_node):
        self.net.create()
        localnet = os.path.join(self.work, "net")
        self.nodes = cluster.create_localnet(self.bin_dir, localnet, self.net,
                                             self.args.validators, self.args.observers,
                                             f"faults-{self.args.seed}")
        self.ctl = cluster.Ctl(self.bin_dir, self.net, localnet)
        # The disk-full node's data dir is a small tmpfs, so the nemesis can fill it. Smaller
        # than RocksDB's WAL preallocation (1.1 x the 64 MiB write buffer), so the fallocate fails
        # and every WAL append needs free space: with a larger tmpfs the preallocated WAL blocks
        # keep absorbing synced writes and a "full" disk changes nothing for minutes.
        node = self.node(disk_node)
        os.makedirs(node.data_dir, exist_ok=True)
        fnet.run(["mount", "-t", "tmpfs", "-o", f"size={self.args.disk_mib}m,mode=0700",
                  f"itmo-faults-{self.tag}", node.data_dir])
        self.mounts.append(node.data_dir)
        for n in self.nodes:
            n.start(self.bin_dir)
        for n in self.nodes:
            if not self.ctl.wait_serving(n, 60):
                raise RuntimeError(f"{n.name} did not serve within 60 s: {n.log_tail(5)}")
        self.say(f"{len(self.nodes)} nodes serving on {self.net.prefix}.0/24 "
                 f"(namespaces itf{self.tag}-*); {disk_node} on a {self.args.disk_mib} MiB tmpfs")

    def teardown(self):
        for n in self.nodes:
            try:
                n.kill9()
            except Exception as e:  # Teardown goes on whatever one node does.
                print(f"teardown: {n.name}: {e}", file=sys.stderr)
        for path in self.mounts:
            fnet.run(["umount", "-l", path], check=False)
        self.mounts = []
        self.net.destroy()

    # ---- sampling ----------------------------------------------------------------------------

    def sampler(self, node, out, lock):
        while not self.stop_all.is_set():
            if node.alive() and not node.paused:
                status = self.ctl.status(node, timeout=4)
                if status:
                    record = {"time": round(time.time(), 3), "node": node.name,
                              "height": int(status.get("height", 0)),
                              "block_id": status.get("block_id", ""),
                              "state_root": status.get("state_root", ""),
                              "round": int(status.get("round", 0))}
                    with lock:
                        out.write(json.dumps(record) + "\n")
                        out.flush()
            self.stop_all.wait(1.0)

    # ---- the end: heal, liveness, logs ------------------------------------------------------

    def liveness_probe(self, heal_time, bound_s):
        """Submits probe transactions until one commits; OK if that happens within bound_s of the
        final heal."""
        rng = random.Random(self.args.seed)
        probe = 0
        while time.time() < heal_time + bound_s:
            probe += 1
            node = rng.choice([n for n in self.nodes if not n.left_down])
            body = json.dumps({"account": {"ref": {"registry_id": "GHA-NR",
                                                   "account_id": f"PROBE-{probe}"},
                                           "holder_party": "GHA"}})
            remaining = max(2, int(heal_time + bound_s - time.time()))
            code, out, err = self.ctl.run(
                ["tx", "--node", node.api, "--localnet", self.ctl.localnet, "--signer", "GHA-NR",
                 "--action", "open_account", "--client-tx-id", f"probe-{probe}", "--timeout",
                 str(remaining), "--json", body], timeout=remaining + 10)
            _, committed = clients.parse_tx_output(out)
            if committed:
                took = time.time() - heal_time
                return {"ok": took <= bound_s, "seconds_after_heal": round(took, 1),
                        "bound_s": bound_s, "probes": probe, "via": node.name}
            time.sleep(0.5)
        return {"ok": False, "bound_s": bound_s, "probes": probe}

    def heights(self):
        heights = {}
        for n in self.nodes:
            if not n.left_down:
                status = self.ctl.status(n, timeout=4)
                heights[n.name] = int(status.get("height", 0)) if status else -1
        return heights

    def converge(self):
        """Waits until every live node has reached the highest height any of them had when the
        wait began (an idle network keeps committing heartbeat blocks, so heights are never
        equal at one instant); returns (that height, the heights, whether all reached it)."""
        deadline = time.time() + CONVERGE_S
        target = max(self.heights().values())
        heights = {}
        while time.time() < deadline:
            heights = self.heights()
            if min(heights.values()) >= target > 0:
                return target, heights, True
            time.sleep(1)
        return max(0, min(heights.values(), default=0)), heights, False

    def dump_chains(self, top):
        os.makedirs(os.path.join(self.work, "chains"), exist_ok=True)
        for n in self.nodes:
            if n.left_down:
                continue
            code, out, err = self.ctl.run(
                ["subscribe", "--node", n.api, "--from", "1", "--count", str(top), "--timeout",
                 "120", "--format", "json", "--omit-transactions"], timeout=150)
            with open(os.path.join(self.work, "chains", f"{n.name}.jsonl"), "w") as f:
                f.write(out)
            if code != 0:
                self.say(f"subscribe on {n.name} ended with {code}: {err.strip()[-200:]}")

    # ---- the run ------------------------------------------------------------------------------

    def run(self):
        args = self.args
        duration = int(args.minutes * 60)
        disk_node, episodes = nemesis.schedule(args.seed, duration, self.validator_names,
                                               self.observer_names)
        self.say(f"seed {args.seed}, {duration} s, work folder {self.work}")
        self.say(f"replay: scripts/faults.sh --seed {args.seed} --minutes {args.minutes}")
        self.say(f"schedule ({len(episodes)} episodes; disk-full node {disk_node}):")
        for ep in episodes:
            print("    " + json.dumps(ep), flush=True)
        with open(os.path.join(self.work, "schedule.json"), "w") as f:
            json.dump({"seed": args.seed, "disk_node": disk_node, "episodes": episodes}, f,
                      indent=1)
        self.setup(disk_node)
        history = os.path.join(self.work, "history")
        os.makedirs(history, exist_ok=True)
        lock = threading.Lock()
        samples = open(os.path.join(self.work, "samples.jsonl"), "a")
        threads = [threading.Thread(target=self.sampler, args=(n, samples, lock), daemon=True)
                   for n in self.nodes]
        workers = [clients.Client(k, args.seed, self.ctl, self.nodes, history,
                                  self.stop_clients) for k in range(args.clients)]
        for t in threads + workers:
            t.start()
        nem = nemesis.Nemesis(self, episodes, os.path.join(self.work, "nemesis.jsonl"))
        start = time.time()
        nem.run(start, self.stop_all)
        while time.time() < start + duration and not self.stop_all.is_set():
            time.sleep(0.2)
        self.stop_clients.set()
        nem.heal_all()
        heal_time = time.time()
        self.say("final heal; clients finishing their last transaction")
        for w in workers:
            w.join(60)
        liveness = self.liveness_probe(heal_time, args.liveness_s)
        self.say(f"liveness: {liveness}")
        top, heights, converged = self.converge()
        self.say(f"every live node at height {top} or above: {converged} ({heights})")
        self.stop_all.set()
        for t in threads:
            t.join(10)
        samples.close()
        self.dump_chains(top)
        exits = {}
        for n in self.nodes:
            if not n.left_down:
                exits[n.name] = n.stop()
        run = {"seed": args.seed, "minutes": args.minutes, "live_nodes":
               [n.name for n in self.nodes if not n.left_down],
               "left_down": [n.name for n in self.nodes if n.left_down], "heal_time": heal_time,
               "liveness": liveness, "converged": converged, "heights_at_end": heights,
               "converge_bound_s": CONVERGE_S, "faults": nem.counts,
               "corrupt": self.corrupt_results, "findings": nem.findings,
               "exits_at_stop": exits,
               "process_ends": {n.name: [c for _, c, _ in n.exits] for n in self.nodes},
               "clients": {w.name: w.counts for w in workers}}
        with open(os.path.join(self.work, "run.json"), "w") as f:
            json.dump(run, f, indent=1)
        return run


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--minutes", type=float, default=2)
    parser.add_argument("--bin-dir", default=os.environ.get("ITMO_BIN_DIR", "build/bin"))
    parser.add_argument("--work", help="work folder (default: a new temp folder)")
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--observers", type=int, default=1)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--disk-mib", type=int, default=64)
    parser.add_argument("--liveness-s", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the work folder on success")
    parser.add_argument("--schedule-only", action="store_true",
                        help="print the seed's schedule and exit")
    args = parser.parse_args()
    if args.schedule_only:
        disk, episodes = nemesis.schedule(args.seed, int(args.minutes * 60),
                                          [f"validator-{i}" for i in range(args.validators)],
                                          [f"observer-{j}" for j in range(args.observers)])
        print(json.dumps({"disk_node": disk, "episodes": episodes}, indent=1))
        return 0
    why = fnet.supported()
    if why:
        print(f"faults: SKIP: {why}", flush=True)
        return EXIT_SKIP
    for tool in ("itmo-node", "itmoctl"):
        if not os.access(os.path.join(args.bin_dir, tool), os.X_OK):
            print(f"faults: {args.bin_dir}/{tool} not found (build first)", file=sys.stderr)
            return 2
    campaign = Campaign(args)

    def interrupted(signum, _frame):
        raise Interrupted(f"signal {signum}")

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    ok = False
    try:
        run = campaign.run()
        result = checker.Checker(campaign.work)
        ok = result.check()
        summary = {"seed": args.seed, "ok": ok, "faults": run["faults"],
                   "figures": result.figures, "corrupt": run["corrupt"],
                   "findings": run["findings"], "left_down": run["left_down"],
                   "process_ends": run["process_ends"],
                   "violations": result.violations[:30]}
        with open(os.path.join(campaign.work, "summary.json"), "w") as f:
            json.dump(summary, f, indent=1)
        print(json.dumps(summary, indent=1), flush=True)
        if not ok:
            print(f"faults: FAILED seed {args.seed}: {len(result.violations)} violations; "
                  f"replay: scripts/faults.sh --seed {args.seed} --minutes {args.minutes}; "
                  f"logs in {campaign.work}", flush=True)
        return 0 if ok else 1
    except Interrupted as e:
        print(f"faults: interrupted ({e}); cleaning up", file=sys.stderr, flush=True)
        return 130
    except Exception as e:
        import traceback
        traceback.print_exc()
        print(f"faults: setup or run error: {e}; logs in {campaign.work}", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        campaign.stop_all.set()
        campaign.stop_clients.set()
        campaign.teardown()
        if ok and not args.keep and not args.work:
            shutil.rmtree(campaign.work, ignore_errors=True)
        elif not ok:
            print(f"faults: work folder kept: {campaign.work}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())

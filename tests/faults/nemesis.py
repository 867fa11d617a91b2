"""The nemesis: a schedule of fault episodes drawn from the seed, and the code that injects and
heals each one.

The schedule is a pure function of (seed, duration, node names): `schedule()` draws every episode,
its start, length and targets from random.Random(seed) and nothing else, so a failing seed prints
the same schedule again. Only "isolate-leader" picks its target at run time (the leader of the
round the network is in when the episode starts), and the log says which node that was.

Episodes never overlap: each one is injected, held, healed, then the network gets a short quiet
gap. Every injection and heal is one line of nemesis.jsonl with its wall-clock time.
"""

import json
import os
import random
import shutil
import time

# Kind -> weight. Every kind appears in a long enough run.
KINDS = {
    "partition-minority": 3,  # One validator cut off from the rest.
    "partition-halves": 2,  # 2 | 2: no quorum anywhere; nothing may commit, then it resumes.
    "isolate-leader": 3,  # The current round's leader cut off.
    "bridge": 2,  # {a, b} and {d} see the bridge node c, not each other.
    "loss": 3,  # Random packet loss between nodes (nftables numgen), 10-50 %.
    "kill": 3,  # kill -9, down for the episode, restart.
    "pause": 3,  # SIGSTOP for the episode, SIGCONT.
    "disk-full": 2,  # The tmpfs data dir of one validator filled to the last byte.
    "corrupt": 1,  # kill -9, damage a RocksDB file, restart: run correctly or stop precisely.
}
CORRUPT_MODES = ["truncate-wal", "flip-wal", "truncate-manifest", "flip-sst", "delete-current"]
WARMUP_S = 8


def schedule(seed, duration_s, validators, observers, tail_s=5):
    """The episodes of a run: dicts with t (start, seconds from the start), kind, hold (s) and the
    kind's targets. Faults end by duration_s - tail_s."""
    rng = random.Random(seed)
    everyone = validators + observers
    disk_node = rng.choice(validators)
    episodes = []
    t = WARMUP_S
    kinds = sorted(KINDS)
    weights = [KINDS[k] for k in kinds]
    while True:
        kind = rng.choices(kinds, weights)[0]
        hold = round(rng.uniform(3, 10), 1)
        if t + hold > duration_s - tail_s:
            break
        ep = {"t": round(t, 1), "kind": kind, "hold": hold}
        order = validators[:]
        rng.shuffle(order)
        if kind == "partition-minority":
            ep["groups"] = [[order[0]], order[1:] + observers]
        elif kind == "partition-halves":
            side = rng.randrange(2)
            halves = [order[:2], order[2:]]
            halves[side] += observers
            ep["groups"] = halves
        elif kind == "bridge":
            ep["groups"] = [order[:3], order[2:] + observers]
        elif kind == "loss":
            percent = rng.choice([10, 20, 30, 50])
            hit = everyone if rng.random() < 0.5 else rng.sample(everyone, 2)
            ep["loss"] = {name: percent for name in sorted(hit)}
        elif kind in ("kill", "pause"):
            ep["node"] = rng.choice(everyone)
        elif kind == "disk-full":
            ep["node"] = disk_node
        elif kind == "corrupt":
            ep["node"] = rng.choice([v for v in validators if v != disk_node])
            ep["mode"] = rng.choice(CORRUPT_MODES)
            ep["corrupt_seed"] = rng.randrange(1 << 30)
        episodes.append(ep)
        t += hold + rng.uniform(2, 5)
    return disk_node, episodes


def newest(folder, suffix):
    files = [os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(suffix)]
    files = [f for f in files if os.path.getsize(f) > 0]
    return max(files, key=os.path.getmtime) if files else None


def damage(db, mode, seed):
    """Damages one file of the RocksDB in `db`; returns what was done, or None if there was no
    file for the mode (the caller falls back to truncate-wal)."""
    rng = random.Random(seed)
    if mode in ("truncate-wal", "flip-wal"):
        path = newest(db, ".log")
    elif mode == "truncate-manifest":
        manifests = [f for f in os.listdir(db) if f.startswith("MANIFEST-")]
        path = os.path.join(db, sorted(manifests)[-1]) if manifests else None
    elif mode == "flip-sst":
        path = newest(db, ".sst")
    elif mode == "delete-current":
        path = os.path.join(db, "CURRENT")
        if not os.path.exists(path):
            return None
        os.remove(path)
        return "deleted CURRENT"
    if path is None:
        return None
    size = os.path.getsize(path)
    if mode.startswith("truncate"):
        keep = rng.randrange(size // 4, size * 3 // 4 + 1) if size > 4 else 0
        os.truncate(path, keep)
        return f"truncated {os.path.basename(path)} from {size} to {keep} bytes"
    offsets = sorted(rng.sample(range(size), min(16, size)))
    with open(path, "r+b") as f:
        for off in offsets:
            f.seek(off)
            byte = f.read(1)
            f.seek(off)
            f.write(bytes([byte[0] ^ 0xFF]))
    return f"flipped 16 bytes of {os.path.basename(path)} ({size} bytes) at {offsets[:4]}..."


def recovered_height(node):
    """The height in the last 'recovered height N' line of the node's log, or None."""
    for line in reversed(node.log_tail(200)):
        if "recovered height " in line:
            try:
                return int(line.split("recovered height ")[1].split()[0])
            except (IndexError, ValueError):
                return None
    return None


def fatal_line(node):
    """The last critical/FATAL line of the node's log (why it stopped), or its last line."""
    tail = node.log_tail(60)
    for line in reversed(tail):
        if " critical " in line or "FATAL" in line:
            return line.strip()[:400]
    return tail[-1].strip()[:400] if tail else ""


class Nemesis:
    def __init__(self, campaign, episodes, log_path):
        self.c = campaign
        self.episodes = episodes
        self.log = open(log_path, "a")
        self.counts = {}
        self.findings = []  # Human-readable notes on what nodes did under a fault.

    def note(self, event, **fields):
        fields.update(time=round(time.time(), 3), event=event)
        self.log.write(json.dumps(fields) + "\n")
        self.log.flush()
        self.c.say(f"nemesis: {event} " + " ".join(f"{k}={v}" for k, v in fields.items()
                                                     if k not in ("time", "event")))

    def leader(self):
        """The validator leading the highest round any validator reports."""
        best = None
        for node in self.c.validators():
            status = self.c.ctl.status(node, timeout=4)
            if status and (best is None or int(status.get("round", 0)) > best[0]):
                best = (int(status.get("round", 0)), int(status.get("epoch", 0)))
        if best is None:
            return self.c.validators()[0].name
        return self.c.validators()[(best[0] + best[1]) % len(self.c.validators())].name

    def run(self, start, stop_event):
        for ep in self.episodes:
            while time.time() < start + ep["t"]:
                if stop_event.wait(0.1):
                    return
            self.counts[ep["kind"]] = self.counts.get(ep["kind"], 0) + 1
            getattr(self, "do_" + ep["kind"].replace("-", "_"))(ep, stop_event)
        self.note("schedule-done")

    def hold(self, ep, stop_event):
        stop_event.wait(ep["hold"])

    def partition(self, ep, groups, stop_event):
        self.c.net.partition([set(g) for g in groups])
        self.note("partition", kind=ep["kind"], groups=groups)
        self.hold(ep, stop_event)
        self.c.net.heal()
        self.note("heal", kind=ep["kind"])

    def do_partition_minority(self, ep, stop_event):
        self.partition(ep, ep["groups"], stop_event)

    def do_partition_halves(self, ep, stop_event):
        self.partition(ep, ep["groups"], stop_event)

    def do_bridge(self, ep, stop_event):
        self.partition(ep, ep["groups"], stop_event)

    def do_isolate_leader(self, ep, stop_event):
        leader = self.leader()
        rest = [n.name for n in self.c.nodes if n.name != leader]
        self.partition(ep, [[leader], rest], stop_event)

    def do_loss(self, ep, stop_event):
        self.c.net.set_loss(ep["loss"])
        self.note("loss", loss=ep["loss"])
        self.hold(ep, stop_event)
        self.c.net.heal()
        self.note("heal", kind="loss")

    def do_kill(self, ep, stop_event):
        node = self.c.node(ep["node"])
        if node.left_down:
            return self.note("skip", kind="kill", node=node.name, why="left down")
        node.kill9()
        self.note("kill9", node=node.name)
        self.hold(ep, stop_event)
        node.start(self.c.bin_dir)
        self.note("restart", node=node.name)

    def do_pause(self, ep, stop_event):
        node = self.c.node(ep["node"])
        if not node.alive():
            return self.note("skip", kind="pause", node=node.name, why="not running")
        node.pause()
        self.note("sigstop", node=node.name)
        self.hold(ep, stop_event)
        node.resume()
        self.note("sigcont", node=node.name)

    def do_disk_full(self, ep, stop_event):
        node = self.c.node(ep["node"])
        ballast = os.path.join(node.data_dir, "faults-ballast")
        filled = 0
        chunk = b"\0" * (1 << 20)
        try:
            with open(ballast, "wb") as f:
                while True:
                    f.write(chunk)
                    f.flush()
                    filled += len(chunk)
        except OSError:
            pass
        self.note("disk-full", node=node.name, ballast_mib=filled >> 20)
        self.hold(ep, stop_event)
        code = node.exit_code()
        os.remove(ballast)
        stat = shutil.disk_usage(node.data_dir)
        self.note("disk-freed", node=node.name, node_exit=code, free_mib=stat.free >> 20,
                  error=fatal_line(node) if code is not None else "")
        if code is not None:
            self.findings.append(f"disk-full: {node.name} exited with code {code}: "
                                 f"{fatal_line(node)}")
            node.start(self.c.bin_dir)
            self.note("restart", node=node.name)

    def do_corrupt(self, ep, stop_event):
        node = self.c.node(ep["node"])
        if node.left_down:
            return self.note("skip", kind="corrupt", node=node.name, why="left down")
        status = self.c.ctl.status(node, timeout=4)
        before = int(status.get("height", 0)) if status else None
        node.kill9()
        db = os.path.join(node.data_dir, "db")
        done = damage(db, ep["mode"], ep["corrupt_seed"])
        mode = ep["mode"]
        if done is None:
            mode = "truncate-wal"
            done = damage(db, mode, ep["corrupt_seed"]) or "nothing to damage"
        self.note("corrupt", node=node.name, mode=mode, what=done)
        node.start(self.c.bin_dir)
        # A damaged store must either open and serve the same chain (the checker verifies it)
        # or stop with a precise error. Give it the episode's hold to do one or the other.
        deadline = time.time() + max(ep["hold"], 6)
        while time.time() < deadline and node.alive():
            if stop_event.wait(0.3):
                break
        code = node.exit_code()
        tail = [line.strip() for line in node.log_tail(4)]
        if code is None:
            recovered = recovered_height(node)
            self.note("corrupt-survived", node=node.name, mode=mode, height_before=before,
                      recovered_height=recovered)
            result = {"node": node.name, "mode": mode, "what": done, "result": "runs",
                      "height_before_kill": before, "recovered_height": recovered}
            self.c.corrupt_results.append(result)
            if before is not None and recovered is not None and recovered < before:
                self.findings.append(
                    f"SILENT ROLLBACK: {node.name} after {mode} ({done}) opened at height "
                    f"{recovered}, below the {before} it had committed (and synced) before the "
                    f"kill; no error, its safety state went back with it")
            return
        self.note("corrupt-stopped", node=node.name, mode=mode, exit=code, error=fatal_line(node))
        self.c.corrupt_results.append({"node": node.name, "mode": mode, "what": done,
                                       "result": f"exit {code}", "error": fatal_line(node)})
        # Operator action: wipe the data dir and let the node resync from its peers.
        shutil.rmtree(db)
        node.start(self.c.bin_dir)
        self.note("wiped-restart", node=node.name)

    def heal_all(self):
        """Ends every fault: network healed, paused nodes resumed, ballast removed, every node
        not left down running."""
        self.c.net.heal()
        for node in self.c.nodes:
            if node.paused:
                node.resume()
            ballast = os.path.join(node.data_dir, "faults-ballast")
            if os.path.exists(ballast):
                os.remove(ballast)
            if not node.left_down and not node.alive():
                code = node.exit_code()
                self.note("found-dead", node=node.name, exit=code, error=fatal_line(node))
                self.findings.append(f"{node.name} was found dead at the final heal (exit {code})")
                node.start(self.c.bin_dir)
        self.note("healed-all")

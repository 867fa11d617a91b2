"""A local network of real itmo-node processes for the client tests (the Python twin of
tests/e2e/lib.sh): `itmoctl localnet` in a temp folder on a free port range, nodes started and
stopped by pid, every process stopped at close; node log tails printed on failure."""
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BIN = os.environ.get("ITMO_BIN_DIR", os.path.join(REPO, "build", "bin"))
OFFSETS = (0, 1, 2, 3, 50, 100, 101, 102, 103, 150)


def _port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def pick_base_port():
    for _ in range(50):
        base = 20000 + random.randrange(200) * 200
        if all(_port_free(base + o) for o in OFFSETS):
            return base
    raise RuntimeError("no free port range")


class LocalNet:
    def __init__(self, name, validators=4, observers=1):
        self.work = tempfile.mkdtemp(prefix="itmo-clients-%s." % name)
        self.dir = os.path.join(self.work, "net")
        self.base_port = pick_base_port()
        self.chain_id = "clients-" + name
        self.procs = {}
        subprocess.run([os.path.join(BIN, "itmoctl"), "localnet", "--dir", self.dir, "--validators",
                        str(validators), "--observers", str(observers), "--base-port", str(self.base_port),
                        "--chain-id", self.chain_id], check=True, stdout=subprocess.DEVNULL)
        self.nodes, self.api = [], {}
        with open(os.path.join(self.dir, "nodes.tsv")) as f:
            for line in f:
                name_, role, api, peer, config = line.rstrip("\n").split("\t")
                self.nodes.append(name_)
                self.api[name_] = api
        self.genesis = os.path.join(self.dir, "genesis.json")
        self.ok = False

    def key(self, name):
        return os.path.join(self.dir, "keys", name + ".key")

    def start(self, name):
        log = open(os.path.join(self.dir, name, "node.log"), "ab")
        self.procs[name] = subprocess.Popen(
            [os.path.join(BIN, "itmo-node"), "--config", os.path.join(self.dir, name, "config.toml")],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def wait_healthy(self, name, timeout_s=60):
        subprocess.run([os.path.join(BIN, "itmoctl"), "status", "--node", self.api[name], "--wait",
                        str(timeout_s)], check=True, stdout=subprocess.DEVNULL)

    def start_all(self):
        for n in self.nodes:
            self.start(n)
        for n in self.nodes:
            self.wait_healthy(n)
        return self

    def stop(self, name, sig=signal.SIGTERM):
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def restart(self, name):
        self.stop(name)
        self.start(name)
        self.wait_healthy(name)

    def close(self):
        for name in list(self.procs):
            self.procs[name].send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for name, proc in list(self.procs.items()):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()
        if self.ok:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print("---- work folder %s kept; node log tails:" % self.work)
            for n in self.nodes:
                path = os.path.join(self.dir, n, "node.log")
                if os.path.exists(path):
                    with open(path, errors="replace") as f:
                        print("---- %s\n%s" % (path, "".join(f.readlines()[-15:])))

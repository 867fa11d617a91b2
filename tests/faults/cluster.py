"""The nodes under test: a localnet written by `itmoctl localnet`, moved onto the namespace
addresses of fnet.Net, and one itmo-node process per node started inside its namespace.

The genesis pins the peer addresses (validators[i].address), the configs listen on them and dial
them, and nodes.tsv (read by itmoctl --localnet) names them, so all three are rewritten together.
"""

import json
import os
import re
import signal
import subprocess
import time

import fnet

API_PORT = 7100
PEER_PORT = 7200


class Node:
    """One itmo-node: its folder, addresses and the running process, if any."""

    def __init__(self, name, role, folder, api, peer, net):
        self.name = name
        self.role = role
        self.folder = folder
        self.api = api
        self.peer = peer
        self.net = net
        self.proc = None
        self.starts = 0
        self.paused = False
        self.left_down = False  # Stopped for good by the nemesis (e.g. lost data); not checked.
        self.exits = []  # (time, exit code) of every process end the campaign saw.

    @property
    def config(self):
        return os.path.join(self.folder, "config.toml")

    @property
    def data_dir(self):
        return os.path.join(self.folder, "data")

    @property
    def log_path(self):
        return os.path.join(self.folder, "node.log")

    def start(self, bin_dir):
        assert self.proc is None or self.proc.poll() is not None
        self.starts += 1
        with open(self.log_path, "a") as log:
            log.write(f"==== faults: start {self.starts} at {time.time():.3f}\n")
        log = open(self.log_path, "a")
        # `ip netns exec` execs the node in place, so proc.pid is itmo-node's own pid.
        self.proc = subprocess.Popen(
            self.net.exec_prefix(self.name) + [os.path.join(bin_dir, "itmo-node"), "--config",
                                               self.config],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self.paused = False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def exit_code(self):
        """The exit code once the process ended (and records it), else None."""
        if self.proc is None:
            return None
        code = self.proc.poll()
        if code is not None and (not self.exits or self.exits[-1][2] != self.proc.pid):
            self.exits.append((time.time(), code, self.proc.pid))
        return code

    def signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def kill9(self):
        if self.alive():
            if self.paused:
                os.kill(self.proc.pid, signal.SIGCONT)
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.exit_code()
        self.paused = False

    def pause(self):
        self.signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        self.signal(signal.SIGCONT)
        self.paused = False

    def stop(self, timeout=15):
        """SIGTERM, then SIGKILL after `timeout` seconds; returns the exit code."""
        if not self.alive():
            return self.exit_code()
        if self.paused:
            self.resume()
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.exit_code()

    def log_tail(self, lines=8):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.readlines()[-lines:]
        except OSError:
            return []


def create_localnet(bin_dir, folder, net, validators, observers, chain_id):
    """Writes the network with itmoctl, rewrites every address to the node's namespace address,
    and returns the nodes in nodes.tsv order. `net` must have been built with the same names."""
    fnet.run([os.path.join(bin_dir, "itmoctl"), "localnet", "--dir", folder, "--validators",
              str(validators), "--observers", str(observers), "--base-port", str(API_PORT),
              "--chain-id", chain_id, "--log-level", "info"])
    rows = []
    with open(os.path.join(folder, "nodes.tsv")) as f:
        for line in f:
            if line.strip():
                rows.append(line.rstrip("\n").split("\t"))
    mapping = {}
    nodes = []
    for name, role, api, peer, config in rows:
        ip = net.ip[name]
        mapping[api] = f"{ip}:{API_PORT}"
        mapping[peer] = f"{ip}:{PEER_PORT}"
        nodes.append(Node(name, role, os.path.join(folder, name), mapping[api], mapping[peer], net))
    pattern = re.compile("|".join(re.escape(old) + r"(?!\d)" for old in mapping))
    files = [os.path.join(folder, "genesis.json"), os.path.join(folder, "nodes.tsv")]
    files += [os.path.join(folder, row[4]) for row in rows]
    for path in files:
        with open(path) as f:
            text = f.read()
        text = pattern.sub(lambda m: mapping[m.group(0)], text)
        assert "127.0.0.1" not in text, f"{path}: an address was not rewritten"
        with open(path, "w") as f:
            f.write(text)
    return nodes


class Ctl:
    """itmoctl run in the hub namespace (where every node's api address is reachable)."""

    def __init__(self, bin_dir, net, localnet):
        self.binary = os.path.join(bin_dir, "itmoctl")
        self.net = net
        self.localnet = localnet

    def run(self, args, timeout):
        try:
            proc = subprocess.run(self.net.exec_prefix() + [self.binary] + args,
                                  capture_output=True, text=True, timeout=timeout)
            return proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (
                e.stdout or "")
            return None, out, "timed out"

    def status(self, node, timeout=6):
        code, out, _ = self.run(["status", "--node", node.api, "--json"], timeout)
        if code != 0:
            return None
        try:
            return json.loads(out)
        except ValueError:
            return None

    def wait_serving(self, node, seconds):
        code, _, err = self.run(["status", "--node", node.api, "--wait", str(seconds)],
                                seconds + 10)
        return code == 0

"""The campaign's private network: one network namespace per node, veth pairs on a bridge inside a
hub namespace, and nftables rules inside the node namespaces for partitions and packet loss.

Nothing is created in the root namespace: the bridge and every veth end live in namespaces this
module made, so the host's interfaces, routes and firewall are never touched. The clients run in
the hub namespace (`Net.exec_prefix()`), which reaches every node's address over the bridge; the
nemesis filters only traffic between node addresses, so clients can always reach every node.

Names carry a per-run tag (`itf<tag>-hub`, `itf<tag>-n0`, ...) so that parallel runs do not clash;
`Net.destroy()` deletes all of them and is safe to call twice.
"""

import subprocess

TABLE = "itmo_faults"


def run(args, check=True, input_text=None):
    """Runs a command; raises with its stderr on failure when check."""
    proc = subprocess.run(args, capture_output=True, text=True, input=input_text)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: exit {proc.returncode}: {proc.stderr.strip()}")
    return proc


def supported():
    """None when this machine can run the campaign, else the reason it cannot."""
    import os
    import shutil
    if os.geteuid() != 0:
        return "not root (network namespaces and nftables need root)"
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            return f"'{tool}' not found (apt-get install iproute2 nftables)"
    probe = "itf-probe-%d" % os.getpid()
    proc = run(["ip", "netns", "add", probe], check=False)
    if proc.returncode != 0:
        return f"no network namespace support: {proc.stderr.strip()}"
    try:
        proc = run(["ip", "netns", "exec", probe, "nft", "add", "table", "inet", "probe"],
                   check=False)
        if proc.returncode != 0:
            return f"nftables does not work in a namespace: {proc.stderr.strip()}"
    finally:
        run(["ip", "netns", "del", probe], check=False)
    return None


class Net:
    """A bridge in a hub namespace and one namespace per node, addressed 10.77.<subnet>.<1+i>."""

    def __init__(self, tag, node_names, subnet):
        self.tag = tag
        self.names = list(node_names)
        self.prefix = f"10.77.{subnet}"
        self.hub = f"itf{tag}-hub"
        self.ns = {name: f"itf{tag}-n{i}" for i, name in enumerate(self.names)}
        self.ip = {name: f"{self.prefix}.{i + 1}" for i, name in enumerate(self.names)}
        self.hub_ip = f"{self.prefix}.254"
        self.created = []  # Namespaces made so far, deleted by destroy().
        # The filter state per node: blocked peer names and a loss percentage.
        self.blocked = {name: set() for name in self.names}
        self.loss = {name: 0 for name in self.names}

    def create(self):
        run(["ip", "netns", "add", self.hub])
        self.created.append(self.hub)
        hub = ["ip", "-n", self.hub]
        run(hub + ["link", "set", "lo", "up"])
        run(hub + ["link", "add", "br0", "type", "bridge"])
        run(hub + ["addr", "add", f"{self.hub_ip}/24", "dev", "br0"])
        run(hub + ["link", "set", "br0", "up"])
        for i, name in enumerate(self.names):
            ns = self.ns[name]
            run(["ip", "netns", "add", ns])
            self.created.append(ns)
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
            run(["ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name",
                 f"p{i}", "netns", self.hub])
            run(["ip", "-n", ns, "addr", "add", f"{self.ip[name]}/24", "dev", "eth0"])
            run(["ip", "-n", ns, "link", "set", "eth0", "up"])
            run(hub + ["link", "set", f"p{i}", "master", "br0"])
            run(hub + ["link", "set", f"p{i}", "up"])
            self._apply(name)

    def destroy(self):
        for ns in reversed(self.created):
            run(["ip", "netns", "del", ns], check=False)
        self.created = []

    def exec_prefix(self, name=None):
        """The command prefix that runs a program in a node's namespace (None: the hub)."""
        return ["ip", "netns", "exec", self.hub if name is None else self.ns[name]]

    # ---- filters ----------------------------------------------------------------------------

    def _apply(self, name):
        """Replaces the node's nftables table with one built from blocked[name] and loss[name]."""
        others = [self.ip[peer] for peer in self.names if peer != name]
        lines = [f"table inet {TABLE} {{"]
        for hook, field in (("input", "saddr"), ("output", "daddr")):
            lines.append(f"  chain {hook} {{ type filter hook {hook} priority 0; policy accept;")
            blocked = sorted(self.ip[peer] for peer in self.blocked[name])
            if blocked:
                lines.append(f"    ip {field} {{ {', '.join(blocked)} }} drop")
            if self.loss[name] > 0 and hook == "input":
                lines.append(f"    ip {field} {{ {', '.join(others)} }} "
                             f"numgen random mod 100 < {self.loss[name]} drop")
            lines.append("  }")
        lines.append("}")
        ns = self.exec_prefix(name)
        run(ns + ["nft", "delete", "table", "inet", TABLE], check=False)
        run(ns + ["nft", "-f", "-"], input_text="\n".join(lines) + "\n")

    def partition(self, groups):
        """Only nodes in the same group talk; a node in no group talks to everyone (a bridge
        node is given as a member of several groups)."""
        for name in self.names:
            mine = [g for g in groups if name in g]
            if not mine:
                self.blocked[name] = set()
                continue
            reachable = set().union(*mine)
            # A node outside every group (unlisted) stays reachable by all.
            listed = set().union(*groups)
            self.blocked[name] = {p for p in self.names if p != name and p in listed and
                                  p not in reachable}
        for name in self.names:
            self._apply(name)

    def set_loss(self, percent_by_node):
        for name, percent in percent_by_node.items():
            self.loss[name] = percent
            self._apply(name)

    def heal(self):
        for name in self.names:
            self.blocked[name] = set()
            self.loss[name] = 0
            self._apply(name)

    def describe(self):
        parts = []
        for name in self.names:
            if self.blocked[name] or self.loss[name]:
                parts.append(f"{name}: blocks {sorted(self.blocked[name])} loss {self.loss[name]}%")
        return "; ".join(parts) or "healed"

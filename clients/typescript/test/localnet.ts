// A local network of real itmo-node processes for the tests (the TypeScript twin of
// tests/e2e/lib.sh): `itmoctl localnet` in a temp folder on a free port range, nodes started and
// stopped by pid, all stopped at close; node log tails printed on failure.
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");
export const BIN = process.env.ITMO_BIN_DIR ?? join(REPO, "build", "bin");
const OFFSETS = [0, 1, 2, 3, 50, 100, 101, 102, 103, 150];

function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once("error", () => res(false));
    s.listen(port, "127.0.0.1", () => s.close(() => res(true)));
  });
}

async function pickBasePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = 20000 + Math.floor(Math.random() * 200) * 200;
    let free = true;
    for (const o of OFFSETS) if (!(await portFree(base + o))) { free = false; break; }
    if (free) return base;
  }
  throw new Error("no free port range");
}

export class LocalNet {
  readonly work: string;
  readonly dir: string;
  readonly api: Record<string, string> = {};
  readonly nodes: string[] = [];
  readonly genesis: string;
  private readonly procs = new Map<string, ChildProcess>();
  ok = false;

  private constructor(name: string, base: number, validators: number, observers: number) {
    this.work = mkdtempSync(join(tmpdir(), `itmo-clients-${name}.`));
    this.dir = join(this.work, "net");
    execFileSync(join(BIN, "itmoctl"), ["localnet", "--dir", this.dir, "--validators", String(validators),
      "--observers", String(observers), "--base-port", String(base), "--chain-id", `clients-${name}`], { stdio: "ignore" });
    for (const line of readFileSync(join(this.dir, "nodes.tsv"), "utf8").trim().split("\n")) {
      const [node, , api] = line.split("\t");
      this.nodes.push(node);
      this.api[node] = api;
    }
    this.genesis = join(this.dir, "genesis.json");
  }

  static async create(name: string, validators = 4, observers = 1): Promise<LocalNet> {
    return new LocalNet(name, await pickBasePort(), validators, observers);
  }

  key(name: string): string { return join(this.dir, "keys", `${name}.key`); }

  start(name: string): void {
    const log = openSync(join(this.dir, name, "node.log"), "a");
    const p = spawn(join(BIN, "itmo-node"), ["--config", join(this.dir, name, "config.toml")], { stdio: ["ignore", log, log] });
    closeSync(log);
    this.procs.set(name, p);
  }

  waitHealthy(name: string, timeoutS = 60): void {
    execFileSync(join(BIN, "itmoctl"), ["status", "--node", this.api[name], "--wait", String(timeoutS)], { stdio: "ignore" });
  }

  startAll(): this {
    for (const n of this.nodes) this.start(n);
    for (const n of this.nodes) this.waitHealthy(n);
    return this;
  }

  async stop(name: string): Promise<void> {
    const p = this.procs.get(name);
    if (!p) return;
    this.procs.delete(name);
    if (p.exitCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGTERM");
    const timer = setTimeout(() => p.kill("SIGKILL"), 20_000);
    await exited;
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    await Promise.all([...this.procs.keys()].map((n) => this.stop(n)));
    if (this.ok) {
      rmSync(this.work, { recursive: true, force: true });
      return;
    }
    console.log(`---- work folder ${this.work} kept; node log tails:`);
    for (const n of this.nodes) {
      const path = join(this.dir, n, "node.log");
      if (existsSync(path)) console.log(`---- ${path}\n${readFileSync(path, "utf8").split("\n").slice(-15).join("\n")}`);
    }
  }
}

// Example registry integration (the TypeScript twin of clients/python/examples/registry_sync.py): a
// registry database, here one JSON file, kept reconciled with the ledger. It follows SubscribeCommits
// from the last height stored in the file; each committed block is applied and the file replaced
// atomically (write, fsync, rename) together with the new last height, so a kill at any point loses
// nothing and applies nothing twice. --reconcile compares the held/retired totals per account with
// GetHoldings at the same height (docs/integrators.md section 7, phase 1).
//
//   node dist/examples/registry_sync.js --node 127.0.0.1:7100 --genesis ../../localnet/genesis.json \
//     --db registry.json --reconcile
// Exit codes: 0 ok, 1 reconciliation differences, 2 errors.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { Client, decode, NotFound } from "../src/index.js";

export interface RegistryDb {
  last_height: string;
  last_block_id: string;
  transactions: Record<string, { height: string; index: number; submitter: string; client_tx_id: string;
    action: string; status: string; reason_name: string; message: string }>;
  totals: Record<string, { held: string; retired: string }>;  // "REGISTRY/ACCOUNT"
}

export function load(path: string): RegistryDb {
  if (!existsSync(path)) return { last_height: "0", last_block_id: "", transactions: {}, totals: {} };
  return JSON.parse(readFileSync(path, "utf8"));
}

function save(path: string, db: RegistryDb): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, "w");
  writeSync(fd, JSON.stringify(db));
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, path);
}

const units = (ranges: any[]): bigint =>
  ranges.reduce((n: bigint, r: any) => n + BigInt(r.last) - BigInt(r.first) + 1n, 0n);

function add(db: RegistryDb, account: any, held: bigint, retired: bigint): void {
  const key = `${account.registry_id}/${account.account_id}`;
  const t = db.totals[key] ?? { held: "0", retired: "0" };
  db.totals[key] = { held: String(BigInt(t.held) + held), retired: String(BigInt(t.retired) + retired) };
}

function applyAction(db: RegistryDb, body: any): void {
  switch (body.action) {
    case "issue": add(db, body.issue.to, units(body.issue.blocks), 0n); break;
    case "transfer": {
      const n = units(body.transfer.ranges);
      add(db, body.transfer.from, -n, 0n);
      add(db, body.transfer.to, n, 0n);
      break;
    }
    case "use": case "cancel": {
      const n = units(body[body.action].ranges);
      add(db, body[body.action].from, -n, n);
      break;
    }
    case "open_account": add(db, body.open_account.account.ref, 0n, 0n); break;
  }
}

/** Applies one SubscribeCommitsResponse; false if the database already has it. */
export function applyBlock(db: RegistryDb, msg: any): boolean {
  const h = BigInt(msg.height);
  if (h <= BigInt(db.last_height)) return false;
  if (h !== BigInt(db.last_height) + 1n) throw new Error(`gap: database at ${db.last_height}, block ${h}`);
  const txs: Buffer[] = msg.committed.block.txs;
  if (txs.length !== msg.outcomes.length) throw new Error(`block ${h}: txs omitted?`);
  txs.forEach((raw, i) => {
    const o = msg.outcomes[i];
    const body = decode("TransactionBody", decode("SignedTransaction", raw).body);
    if (o.status === "TX_ACCEPTED") applyAction(db, body);
    db.transactions[Buffer.from(o.tx_id).toString("hex")] = { height: String(h), index: o.index, submitter: o.submitter,
      client_tx_id: o.client_tx_id, action: body.action ?? "", status: o.status, reason_name: o.code, message: o.message };
  });
  db.last_height = String(h);
  db.last_block_id = Buffer.from(msg.block_id).toString("hex");
  return true;
}

/** Applies blocks from last + 1 up to untilHeight (or maxBlocks of them); the file is replaced after each. */
export async function sync(client: Client, path: string, untilHeight: bigint, maxBlocks = Infinity): Promise<number> {
  const db = load(path);
  let applied = 0;
  if (BigInt(db.last_height) >= untilHeight) return 0;
  for await (const msg of client.subscribe({ fromHeight: BigInt(db.last_height) + 1n, verify: true })) {
    if (applyBlock(db, msg)) {
      save(path, db);
      applied++;
    }
    if (BigInt(msg.height) >= untilHeight || applied >= maxBlocks) break;
  }
  return applied;
}

/** Phase 1: totals per account against GetHoldings at the database's height. The differences. */
export async function reconcile(client: Client, path: string): Promise<string[]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const db = load(path);
    const diffs: string[] = [];
    let moved = false;
    for (const [key, t] of Object.entries(db.totals).sort()) {
      const [registry, account] = key.split("/");
      let holdings;
      try {
        holdings = await client.holdings(registry, account);
      } catch (e) {
        if (e instanceof NotFound) { diffs.push(`${key}: in the database, unknown to the ledger`); continue; }
        throw e;
      }
      if (BigInt(holdings.height) !== BigInt(db.last_height)) {  // The ledger moved on: catch up, compare again.
        await sync(client, path, BigInt(holdings.height));
        moved = true;
        break;
      }
      const held = BigInt(holdings.held_units || "0"), retired = BigInt(holdings.retired_units || "0");
      if (BigInt(t.held) !== held || BigInt(t.retired) !== retired) {
        diffs.push(`${key} at height ${db.last_height}: database held ${t.held} retired ${t.retired}, ledger held ${held} retired ${retired}`);
      }
    }
    if (!moved) return diffs;
  }
  throw new Error("the ledger kept moving during reconciliation");
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { node: { type: "string", multiple: true }, genesis: { type: "string" },
    db: { type: "string" }, "until-height": { type: "string" }, reconcile: { type: "boolean" } } });
  if (!values.node?.length || !values.genesis || !values.db) {
    console.error("usage: registry_sync --node HOST:PORT [--node ...] --genesis genesis.json --db FILE [--until-height N] [--reconcile]");
    return 2;
  }
  const client = new Client(values.node, { genesis: values.genesis });
  try {
    const until = values["until-height"] !== undefined && values["until-height"] !== "0"
      ? BigInt(values["until-height"]) : BigInt((await client.status()).height);
    const before = load(values.db).last_height;
    const applied = await sync(client, values.db, until);
    console.log(`registry_sync: applied ${applied} blocks (${before} -> ${load(values.db).last_height})`);
    if (values.reconcile) {
      const diffs = await reconcile(client, values.db);
      for (const d of diffs) console.log(`DIFFERENCE ${d}`);
      console.log(`registry_sync: reconciled at height ${load(values.db).last_height}: ${diffs.length} differences`);
      return diffs.length ? 1 : 0;
    }
    return 0;
  } catch (e) {
    console.error(`registry_sync: ${e} (rerun: it continues from the stored height)`);
    return 2;
  } finally {
    client.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main();

// The TypeScript client against a real local network: signing, submit-and-wait, reason codes,
// proofs (and tampered ones), subscribe and resume across a node restart.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { join } from "node:path";
import { AlreadyExists, Client, InvalidArgument, KeyPair, proofs, ProofError, signingBytes, TransactionRejected,
  txId } from "../src/index.js";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import * as registry from "../examples/registry_sync.js";
import { BIN, LocalNet } from "./localnet.js";

const VINTAGE = Math.max(2021, new Date().getUTCFullYear() - 1);
let seq = 0;
const unique = (p: string) => `${p}-${process.hrtime.bigint()}-${seq++}`;

describe("itmo-ledger TypeScript client", () => {
  let net: LocalNet;
  let c: Client;
  let approach: string;
  let base: bigint;
  const keys: Record<string, KeyPair> = {};
  let failed = false;

  const issue = async (first: bigint, last: bigint) => c.sign(await c.body("SUBMITTER_REGISTRY", "GHA-NR", unique("issue"), {
    issue: { to: { registry_id: "GHA-NR", account_id: "GHA-HOLDING" },
      blocks: [{ approach_id: approach, first_transferring_party: "GHA", vintage: VINTAGE, first: String(first),
        last: String(last), metric: "tCO2e", conversion_numerator: "1", conversion_denominator: "1", sector: "energy",
        activity_type: "clean cookstoves" }] } }), [keys["GHA-NR"]]);

  before(async () => {
    net = (await LocalNet.create("typescript")).startAll();
    for (const k of ["GHA-NR", "CHE-authority", "GHA-authority"]) keys[k] = await KeyPair.load(net.key(k));
    c = new Client([net.api["validator-0"], net.api["validator-1"]], { genesis: net.genesis });
    approach = unique("CA");
    base = (process.hrtime.bigint() / 1000n % 10n ** 12n) * 1000n;
    const body = await c.body("SUBMITTER_PARTY", "CHE", unique("approach"), { register_approach: { approach: {
      id: approach, name: "CHE-GHA test approach", parties: ["CHE", "GHA"], ndc_vintage_rule: "VINTAGE_RULE_WITHIN_NDC_PERIOD" } } });
    const r = await c.submitAndWait(await c.sign(body, [keys["CHE-authority"], keys["GHA-authority"]]), { check: true });
    assert.equal(r.outcome.status, "TX_ACCEPTED");
  });

  after(async () => {
    c?.close();
    if (net) {
      net.ok = !failed;
      await net.close();
    }
  });

  const test = (name: string, fn: () => Promise<void>) => it(name, async () => {
    try { await fn(); } catch (e) { failed = true; throw e; }
  });

  test("signing bytes layout", async () => {
    const got = signingBytes("itmo/v1/transaction", "chain", Buffer.from([1, 2]));
    const u64 = (n: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
    assert.deepEqual(got, Buffer.concat([Buffer.from("itmo-ledger\0"), u64(19), Buffer.from("itmo/v1/transaction"),
      u64(5), Buffer.from("chain"), Buffer.from([1, 2])]));
  });

  test("signatures are byte-identical to itmoctl's (Ed25519 is deterministic)", async () => {
    const out = execFileSync(`${BIN}/itmoctl`, ["tx", "--localnet", net.dir, "--signer", "GHA-NR", "--action", "cancel",
      "--client-tx-id", "cmp-1", "--print-only", "--json", JSON.stringify({ from: { registry_id: "GHA-NR",
        account_id: "GHA-HOLDING" }, ranges: [{ originating_registry: "GHA-NR", first: "1", last: "2" }] })], { encoding: "utf8" });
    const signed = JSON.parse(out.slice(out.lastIndexOf("\n{\n") + 1));
    const body = Buffer.from(signed.body, "base64");
    assert.deepEqual(keys["GHA-NR"].publicKey, Buffer.from(signed.signatures[0].public_key, "base64"));
    const ours = (await c.sign(body, [keys["GHA-NR"]])).signatures[0].signature;
    assert.deepEqual(ours, Buffer.from(signed.signatures[0].signature, "base64"));
  });

  test("key files round-trip in itmoctl's format", async () => {
    const path = join(net.work, "k.key");
    const k = await KeyPair.generate();
    k.save(path);
    assert.deepEqual((await KeyPair.load(path)).publicKey, k.publicKey);
  });

  test("submit and wait: accepted, the node agrees on the tx id, a retry is ALREADY_EXISTS", async () => {
    const signed = await issue(base + 1n, base + 100n);
    const id = await c.submit(signed);
    assert.deepEqual(id, txId(signed.body));
    const r = await c.wait(id);
    assert.equal(r.outcome.status, "TX_ACCEPTED");
    await assert.rejects(c.submit(signed), AlreadyExists);
    assert.equal((await c.submitAndWait(signed)).height, r.height);
  });

  test("a committed rejection carries its reason code", async () => {
    const first = base + 1001n;
    await c.submitAndWait(await issue(first, first + 9n), { check: true });
    const r = await c.submitAndWait(await issue(first + 5n, first + 20n));
    assert.equal(r.state, "TRANSACTION_STATE_COMMITTED");
    assert.equal(r.outcome.status, "TX_REJECTED");
    assert.equal(r.outcome.code, "REASON_SERIAL_OVERLAP");
    await assert.rejects(c.submitAndWait(await issue(first, first), { check: true }), (e: any) =>
      e instanceof TransactionRejected && e.reasonCode === 4001 && e.reasonName === "REASON_SERIAL_OVERLAP");
  });

  test("a refusal's reason comes from the trailing metadata", async () => {
    const signed = await issue(base + 2001n, base + 2002n);
    signed.signatures[0].signature[0] ^= 1;
    await assert.rejects(c.submit(signed), (e: any) =>
      e instanceof InvalidArgument && e.reasonCode === 1004 && e.reasonName === "REASON_BAD_SIGNATURE");
  });

  test("inclusion and commit proofs verify; tampered ones do not", async () => {
    const r = await c.submitAndWait(await issue(base + 3001n, base + 3010n));
    await c.verifyTransaction(r);
    const block = (await c.committedBlock(r.height)).committed.block;
    const chain = await c.chainId();
    const flip = (b: Buffer) => { const x = Buffer.from(b); x[0] ^= 1; return x; };
    const tampered = async (mutate: (t: any) => void) => {
      const t = structuredClone(r);
      for (const k of ["transaction", "block_id"]) t[k] = Buffer.from(r[k]);
      t.block_header = { ...r.block_header, tx_root: Buffer.from(r.block_header.tx_root) };
      t.commit_proof = { ...r.commit_proof, qc: { ...r.commit_proof.qc, signatures: r.commit_proof.qc.signatures.map((s: Buffer) => Buffer.from(s)) } };
      t.proof = { ...r.proof, path: r.proof.path.map((p: Buffer) => Buffer.from(p)) };
      mutate(t);
      await assert.rejects(proofs.verifyTransaction(t, block, c.validatorKeys, chain), ProofError);
    };
    await tampered((t) => { t.transaction = Buffer.concat([t.transaction, Buffer.from([0])]); });
    await tampered((t) => { t.block_header.tx_root = flip(t.block_header.tx_root); });
    await tampered((t) => { t.block_id = flip(t.block_id); });
    await tampered((t) => { t.commit_proof.qc.signatures[0] = flip(t.commit_proof.qc.signatures[0]); });
    await tampered((t) => { t.commit_proof.qc.signers = Buffer.from([1]); });
    await tampered((t) => { if (t.proof.path.length) t.proof.path[0] = flip(t.proof.path[0]); else t.proof.path.push(Buffer.alloc(32)); });
  });

  test("subscribe resumes across a node restart: every height once, no gap", async () => {
    const sub = new Client([net.api["validator-2"]], { genesis: net.genesis });
    const start = BigInt((await sub.status()).height) + 1n;
    const seen: { height: bigint; ids: string[] }[] = [];
    const ac = new AbortController();
    let error: unknown = null;
    const follower = (async () => {
      try {
        for await (const m of sub.subscribe({ fromHeight: start, verify: true, signal: ac.signal })) {
          seen.push({ height: BigInt(m.height), ids: m.outcomes.map((o: any) => o.client_tx_id) });
        }
      } catch (e) { error = e; }
    })();
    const before = await c.submitAndWait(await issue(base + 4001n, base + 4001n));
    await net.stop("validator-2");
    const duringTx = await issue(base + 4002n, base + 4002n);
    const during = await c.submitAndWait(duringTx).catch(async (e) => {
      // Names where the transaction is, should it not commit while validator-2 is down.
      const where = [];
      for (const n of ["validator-0", "validator-1", "validator-3", "observer-0"]) {
        const x = new Client([net.api[n]]);
        const st = await x.status().catch(() => null);
        const tx = await x.getTransaction({ txId: txId(duringTx.body) }).catch(() => null);
        where.push(`${n}: height ${st?.height} round ${st?.round} mempool ${st?.mempool_size} tx ${tx?.state}`);
        x.close();
      }
      throw new Error(`${e}; valid_until ${(await import("../src/index.js")).decode("TransactionBody", duringTx.body).valid_until_ms}, now ${Date.now()}; ${where.join("; ")}`);
    });
    net.start("validator-2");
    net.waitHealthy("validator-2");
    const afterR = await c.submitAndWait(await issue(base + 4003n, base + 4003n));
    const deadline = performance.now() + 60_000;
    while ((seen.length === 0 || seen[seen.length - 1].height < BigInt(afterR.height)) && performance.now() < deadline && !error) {
      await new Promise((r) => setTimeout(r, 100));
    }
    ac.abort();
    await follower;
    sub.close();
    const last = seen.length ? seen[seen.length - 1].height : 0n;
    const v2 = await new Client([net.api["validator-2"]]).status().catch((e) => String(e));
    assert.equal(error, null);
    assert.ok(last >= BigInt(afterR.height), `subscriber at ${last}, want ${afterR.height}; validator-2: ${JSON.stringify(v2?.height)}`);
    seen.forEach((s, i) => assert.equal(s.height, start + BigInt(i), "gap or duplicate"));
    assert.ok(seen[seen.length - 1].height >= BigInt(afterR.height));
    const ids = seen.flatMap((s) => s.ids);
    for (const r of [before, during, afterR]) assert.equal(ids.filter((x) => x === r.outcome.client_tx_id).length, 1);
  });

  test("registry example: cut short, resumed, rerun unchanged, reconciled; a tampered total is found", async () => {
    execFileSync(`${BIN}/itmoctl`, ["demo", "--localnet", net.dir, "--node", net.api["validator-0"]], { stdio: "ignore" });
    const r = new Client([net.api["validator-1"], net.api["observer-0"]], { genesis: net.genesis });
    const path = join(net.work, "registry.json");
    const height = BigInt((await r.status()).height);
    assert.equal(await registry.sync(r, path, height, 2), 2);
    assert.equal(registry.load(path).last_height, "2");
    await registry.sync(r, path, height);
    assert.deepEqual(await registry.reconcile(r, path), []);
    const db = registry.load(path);
    assert.ok(BigInt(db.last_height) >= height);
    let expected = 0;
    for await (const m of r.subscribe({ fromHeight: 1, omitTransactions: true })) {
      expected += m.outcomes.length;
      if (BigInt(m.height) >= BigInt(db.last_height)) break;
    }
    assert.equal(Object.keys(db.transactions).length, expected);
    assert.ok(Object.values(db.transactions).some((t) => t.action === "use" && t.reason_name === "REASON_UNITS_TERMINAL"));
    assert.ok(BigInt(db.totals["CHE-NR/CHE-HOLDING"].retired) > 0n);
    const before = readFileSync(path, "utf8");
    assert.equal(await registry.sync(r, path, BigInt(db.last_height)), 0);
    assert.equal(readFileSync(path, "utf8"), before);
    db.totals["CHE-NR/CHE-HOLDING"].held = "1";
    writeFileSync(path, JSON.stringify(db));
    const diffs = await registry.reconcile(r, path);
    assert.ok(diffs.some((d) => d.startsWith("CHE-NR/CHE-HOLDING")), diffs.join("; "));
    r.close();
  });
});

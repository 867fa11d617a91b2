// A client of the itmo.v1.Ledger gRPC service (docs/integrators.md).
//
//   const client = new Client(["127.0.0.1:7100"], { genesis: "localnet/genesis.json" });
//   const key = await KeyPair.load("localnet/keys/GHA-NR.key");
//   const body = await client.body("SUBMITTER_REGISTRY", "GHA-NR", "GHA-2026-1", { issue: { ... } });
//   const r = await client.submitAndWait(await client.sign(body, [key]));  // r.outcome.status
//   for await (const commit of client.subscribe({ fromHeight: last + 1n })) { ... }  // survives restarts
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import * as errors from "./errors.js";
import * as proofs from "./proofs.js";
import { decode, encode, LedgerService, ReasonCode, type } from "./proto.js";
import { CONTEXT_TRANSACTION, KeyPair, txId } from "./signing.js";

errors.setReasonNumbers(ReasonCode);

export const DEFAULT_LIFETIME_MS = 120_000;
const RETRYABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.RESOURCE_EXHAUSTED, grpc.status.DEADLINE_EXCEEDED,
  grpc.status.CANCELLED, grpc.status.INTERNAL, grpc.status.UNKNOWN]);
const CHANNEL_OPTIONS = {
  "grpc.max_receive_message_length": 64 << 20,
  "grpc.initial_reconnect_backoff_ms": 200,
  "grpc.min_reconnect_backoff_ms": 200,
  "grpc.max_reconnect_backoff_ms": 2000,
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** genesis.json (protobuf JSON of itmo.v1.Genesis) as a plain object (bytes as Buffers). */
export function loadGenesis(path: string): any {
  const t = type("Genesis");
  return t.toObject(t.fromObject(JSON.parse(readFileSync(path, "utf8"))), { bytes: Buffer, longs: String } as any);
}

export interface ClientOptions {
  genesis?: string | any;
  chainId?: string;
  timeoutMs?: number;
}

export interface SubscribeOptions {
  fromHeight?: bigint | number;
  omitTransactions?: boolean;
  reconnect?: boolean;
  maxOutageMs?: number;
  verify?: boolean;
  signal?: AbortSignal;
}

export class Client {
  readonly targets: string[];
  readonly genesis: any;
  private chain: string | undefined;
  private readonly timeoutMs: number;
  private readonly stubs = new Map<string, any>();

  constructor(targets: string | string[], options: ClientOptions = {}) {
    this.targets = typeof targets === "string" ? [targets] : [...targets];
    if (this.targets.length === 0) throw new Error("no target");
    this.genesis = typeof options.genesis === "string" ? loadGenesis(options.genesis) : options.genesis;
    this.chain = options.chainId ?? this.genesis?.chain_id;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  private stub(target = this.targets[0]): any {
    let s = this.stubs.get(target);
    if (!s) {
      s = new LedgerService(target, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
      this.stubs.set(target, s);
    }
    return s;
  }

  private dropStub(target: string): void {
    this.stubs.get(target)?.close();
    this.stubs.delete(target);
  }

  private call(method: string, request: object, target?: string): Promise<any> {
    const deadline = new Date(Date.now() + this.timeoutMs);
    return new Promise((resolve, reject) => {
      this.stub(target)[method](request, { deadline }, (err: any, response: any) =>
        err ? reject(errors.fromServiceError(err)) : resolve(response));
    });
  }

  close(): void {
    for (const s of this.stubs.values()) s.close();
    this.stubs.clear();
  }

  async chainId(): Promise<string> {
    if (this.chain === undefined) this.chain = (await this.status()).chain_id as string;
    return this.chain;
  }

  get validatorKeys(): Buffer[] {
    if (!this.genesis) throw new Error("proof verification needs the genesis (validator keys)");
    return this.genesis.validators.map((v: any) => Buffer.from(v.consensus_key));
  }

  // --- reads
  status(): Promise<any> { return this.call("GetStatus", {}); }

  getTransaction(key: { txId: Uint8Array } | { submitter: string; clientTxId: string }): Promise<any> {
    return this.call("GetTransaction", "txId" in key ? { tx_id: Buffer.from(key.txId) }
      : { client: { submitter: key.submitter, client_tx_id: key.clientTxId } });
  }

  holdings(registryId: string, accountId: string): Promise<any> {
    return this.call("GetHoldings", { account: { registry_id: registryId, account_id: accountId } });
  }

  // --- building and signing
  /** A TransactionBody with one action given as a plain object, e.g. { issue: { to: ..., blocks: [...] } }. */
  async body(submitterKind: string, submitter: string, clientTxId: string, action: Record<string, object>,
    lifetimeMs = DEFAULT_LIFETIME_MS): Promise<any> {
    const names = Object.keys(action);
    if (names.length !== 1) throw new Error(`exactly one action, got ${names.join(",")}`);
    return { chain_id: await this.chainId(), submitter_kind: submitterKind, submitter, client_tx_id: clientTxId,
      valid_until_ms: String(Date.now() + lifetimeMs), ...action };
  }

  /** A SignedTransaction over the body's bytes, serialized once (body: a plain object or bytes). */
  async sign(body: object | Uint8Array, keys: KeyPair[]): Promise<{ body: Buffer; signatures: any[] }> {
    const bytes = body instanceof Uint8Array ? Buffer.from(body) : encode("TransactionBody", body);
    const chain = await this.chainId();
    const signatures = [];
    for (const k of keys) signatures.push({ public_key: k.publicKey, signature: await k.sign(CONTEXT_TRANSACTION, chain, bytes) });
    return { body: bytes, signatures };
  }

  // --- submitting
  /** SubmitTransaction: the tx id once admitted. Rejects with a typed LedgerError carrying the reason. */
  async submit(signed: { body: Uint8Array; signatures: any[] }): Promise<Buffer> {
    return Buffer.from((await this.call("SubmitTransaction", signed)).tx_id);
  }

  /** Polls until COMMITTED (resolves the GetTransactionResponse) or EXPIRED (rejects). */
  async wait(id: Uint8Array, timeoutMs = 60_000, pollMs = 100): Promise<any> {
    const deadline = performance.now() + timeoutMs;  // Monotonic: immune to wall-clock steps.
    let last = "none";
    for (;;) {
      try {
        const r = await this.getTransaction({ txId: id });
        last = r.state;
        if (r.state === "TRANSACTION_STATE_COMMITTED") return r;
        if (r.state === "TRANSACTION_STATE_EXPIRED") throw new errors.TransactionExpired(`transaction ${Buffer.from(id).toString("hex")} expired`);
      } catch (e) {
        if (!(e instanceof errors.Unavailable)) throw e;
      }
      if (performance.now() >= deadline) {
        throw new errors.WaitTimeout(`transaction ${Buffer.from(id).toString("hex")} not committed within ${timeoutMs} ms ` +
          `(last state ${last} on ${this.targets[0]})`);
      }
      await sleep(pollMs);
    }
  }

  /** Submits (ALREADY_EXISTS on a retry is not an error) and waits for the committed outcome; with
   * check, rejects with TransactionRejected for TX_REJECTED. */
  async submitAndWait(signed: { body: Uint8Array; signatures: any[] }, { timeoutMs = 60_000, check = false } = {}): Promise<any> {
    const id = txId(signed.body);
    try {
      const got = await this.submit(signed);
      if (!got.equals(id)) throw new errors.LedgerError(`node computed tx id ${got.toString("hex")}, client ${id.toString("hex")}`);
    } catch (e) {
      if (!(e instanceof errors.AlreadyExists)) throw e;
    }
    const r = await this.wait(id, timeoutMs);
    if (check && r.outcome.status !== "TX_ACCEPTED") throw new errors.TransactionRejected(r.outcome);
    return r;
  }

  // --- following the log
  /** Every SubscribeCommitsResponse from fromHeight on, in order and exactly once, reconnecting (to
   * the next target in turn) with from_height = last + 1 after a disconnect, restart or cut-off. */
  async *subscribe(options: SubscribeOptions = {}): AsyncGenerator<any> {
    let next = BigInt(options.fromHeight ?? 1);
    if (next < 1n) next = 1n;
    const reconnect = options.reconnect ?? true;
    const maxOutageMs = options.maxOutageMs ?? 60_000;
    let targetIndex = 0;
    let outageSince: number | null = null;
    for (;;) {
      const target = this.targets[targetIndex % this.targets.length];
      const call = this.stub(target).SubscribeCommits({ from_height: String(next), omit_transactions: !!options.omitTransactions });
      const abort = () => call.cancel();
      options.signal?.addEventListener("abort", abort);
      try {
        for await (const msg of call) {
          outageSince = null;
          const h = BigInt(msg.height);
          if (h < next) continue;
          if (h !== next) throw new errors.LedgerError(`gap: expected height ${next}, got ${h}`);
          if (options.verify && !options.omitTransactions) {
            await proofs.verifyCommittedBlock(msg, this.validatorKeys, await this.chainId());
          }
          next += 1n;
          yield msg;
          if (options.signal?.aborted) return;
        }
      } catch (e: any) {
        if (options.signal?.aborted) return;
        if (e instanceof errors.LedgerError) throw e;
        if (!reconnect || !RETRYABLE.has(e?.code)) throw errors.fromServiceError(e);
      } finally {
        options.signal?.removeEventListener("abort", abort);
        call.cancel();
      }
      if (!reconnect || options.signal?.aborted) return;
      outageSince ??= performance.now();
      if (performance.now() - outageSince > maxOutageMs) {
        throw new errors.Unavailable(`no node reachable for ${maxOutageMs} ms (resume from height ${next})`);
      }
      this.dropStub(target);
      targetIndex += 1;
      await sleep(200);
    }
  }

  /** The SubscribeCommitsResponse of one committed height. */
  async committedBlock(height: bigint | number | string): Promise<any> {
    for await (const msg of this.subscribe({ fromHeight: BigInt(height), reconnect: false })) return msg;
    throw new errors.NotFound(`no block at height ${height}`);
  }

  // --- proofs
  /** Verifies a COMMITTED GetTransactionResponse end to end; throws ProofError. */
  async verifyTransaction(r: any): Promise<any> {
    if (r.state !== "TRANSACTION_STATE_COMMITTED") throw new errors.ProofError("transaction is not committed");
    const block = (await this.committedBlock(r.height)).committed.block;
    await proofs.verifyTransaction(r, block, this.validatorKeys, await this.chainId());
    return r;
  }
}

export { decode, encode };

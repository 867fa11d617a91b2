// Proof verification from the documented formats (docs/integrators.md section 4, consensus.proto
// and ledger_service.proto comments): RFC 6962 inclusion in the header's tx_root, the block id of a
// header with its parent QC, quorum certificates signed by the genesis validators under
// "itmo/v1/vote", the 2-chain commit proof.
import { ProofError } from "./errors.js";
import { blake2b256, CONTEXT_VOTE, field, u64le, verify } from "./signing.js";

type Bytes = Uint8Array;
const b = (x: Bytes | undefined | null): Buffer => Buffer.from(x ?? []);

export function leafHash(data: Bytes): Buffer {
  return blake2b256(Buffer.concat([Buffer.from([0]), b(data)]));
}

export function nodeHash(left: Bytes, right: Bytes): Buffer {
  return blake2b256(Buffer.concat([Buffer.from([1]), b(left), b(right)]));
}

export function merkleRoot(leaves: Bytes[]): Buffer {
  if (leaves.length === 0) return blake2b256(Buffer.alloc(0));
  let level: Buffer[] = leaves.map(b);
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i], level[i + 1]));
    if (level.length % 2) next.push(level[level.length - 1]);
    level = next;
  }
  return level[0];
}

/** RFC 9162 section 2.1.3.2. */
export function verifyInclusion(leaf: Bytes, index: bigint, treeSize: bigint, path: Bytes[], root: Bytes): boolean {
  if (index >= treeSize) return false;
  let fn = index, sn = treeSize - 1n, r: Buffer = b(leaf);
  for (const p of path) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && r.equals(b(root));
}

const n64 = (v: string | number | bigint | undefined) => BigInt(v ?? 0);

export function qcContentDigest(qc: any): Buffer {
  return blake2b256(Buffer.concat([field("itmo/v1/qc-content"), u64le(n64(qc.epoch)), u64le(n64(qc.round)),
    field(b(qc.block_id)), u64le(n64(qc.height))]));
}

export function blockId(header: any, parentQc: any): Buffer {
  return blake2b256(Buffer.concat([field("itmo/v1/block"), field(b(header.parent_id)), u64le(n64(header.round)),
    u64le(n64(header.height)), u64le(n64(header.epoch)), u64le(n64(header.proposer)),
    u64le(n64(header.timestamp_ms)), field(b(header.payload_digest)), field(b(header.tx_root)),
    u64le(n64(header.executed_height)), field(b(header.executed_state_root)), qcContentDigest(parentQc)]));
}

export function payloadDigest(txs: Bytes[]): Buffer {
  return blake2b256(Buffer.concat([field("itmo/v1/payload"), u64le(txs.length), ...txs.map((t) => field(t))]));
}

export function voteMessage(epoch: bigint, round: bigint, block: Bytes, height: bigint): Buffer {
  return Buffer.concat([field("vote"), u64le(epoch), u64le(round), field(block), u64le(height)]);
}

export function quorumSize(n: number): number {
  const f = Math.floor((n - 1) / 3);
  return Math.floor((n + f) / 2) + 1;
}

export async function verifyQc(qc: any, validatorKeys: Bytes[], chainId: string): Promise<void> {
  const n = validatorKeys.length;
  const signers = b(qc.signers);
  if (signers.length !== Math.ceil(n / 8)) throw new ProofError(`qc signer bitmap has ${signers.length} bytes`);
  const bit = (i: number) => (signers[i >> 3] >> (i & 7)) & 1;
  for (let i = n; i < signers.length * 8; i++) if (bit(i)) throw new ProofError("qc names a signer beyond the set");
  const who = [...Array(n).keys()].filter(bit);
  const sigs: Bytes[] = qc.signatures ?? [];
  if (who.length !== sigs.length) throw new ProofError(`qc has ${who.length} signers, ${sigs.length} signatures`);
  if (who.length < quorumSize(n)) throw new ProofError(`qc has ${who.length} signers, quorum is ${quorumSize(n)}`);
  const msg = voteMessage(n64(qc.epoch), n64(qc.round), b(qc.block_id), n64(qc.height));
  for (let k = 0; k < who.length; k++) {
    if (!(await verify(validatorKeys[who[k]], CONTEXT_VOTE, chainId, msg, sigs[k]))) {
      throw new ProofError(`qc signature of validator ${who[k]} does not verify`);
    }
  }
}

const present = (m: any) => m && Object.values(m).some((v: any) => (Buffer.isBuffer(v) ? v.length > 0 : v && v !== "0"));

export async function verifyCommitProof(id: Bytes, height: bigint, qc: any, childHeader: any, childQc: any,
  validatorKeys: Bytes[], chainId: string): Promise<void> {
  if (!qc || !b(qc.block_id).equals(b(id)) || n64(qc.height) !== height) {
    throw new ProofError("commit qc certifies another block");
  }
  await verifyQc(qc, validatorKeys, chainId);
  if (present(childHeader) && present(childQc)) {
    if (!b(childHeader.parent_id).equals(b(id))) throw new ProofError("child header is not a child of the block");
    if (!b(childQc.block_id).equals(blockId(childHeader, qc))) throw new ProofError("child qc does not certify the child");
    await verifyQc(childQc, validatorKeys, chainId);
  }
}

/** A COMMITTED GetTransactionResponse: inclusion in tx_root, the header's block id (with `block`,
 * the committed Block at that height, for its parent QC), the commit proof. Throws ProofError. */
export async function verifyTransaction(r: any, block: any, validatorKeys: Bytes[], chainId: string): Promise<void> {
  const proof = r.proof ?? {};
  const header = r.block_header ?? {};
  const leaf = leafHash(r.transaction);
  if (b(proof.leaf_hash).length && !b(proof.leaf_hash).equals(leaf)) throw new ProofError("leaf hash differs from the bytes");
  if (n64(proof.leaf_index) !== n64(r.index)) throw new ProofError("proof is for another leaf index");
  if (!verifyInclusion(leaf, n64(proof.leaf_index), n64(proof.tree_size), proof.path ?? [], b(header.tx_root))) {
    throw new ProofError("inclusion proof does not lead to the header's tx_root");
  }
  if (n64(header.height) !== n64(r.height)) throw new ProofError("header height differs");
  if (block) {
    if (JSON.stringify(block.header) !== JSON.stringify(header)) throw new ProofError("header differs from the block's");
    if (!blockId(header, block.qc).equals(b(r.block_id))) throw new ProofError("block id does not match the header");
  }
  const cp = r.commit_proof ?? {};
  await verifyCommitProof(r.block_id, n64(r.height), cp.qc, cp.child_header, cp.child_qc, validatorKeys, chainId);
}

/** A SubscribeCommitsResponse with transactions: payload digest, tx root, block id, commit proof. */
export async function verifyCommittedBlock(msg: any, validatorKeys: Bytes[], chainId: string): Promise<void> {
  const block = msg.committed.block;
  const header = block.header;
  if (n64(header.height) !== n64(msg.height)) throw new ProofError("header height differs");
  if (!blockId(header, block.qc).equals(b(msg.block_id))) throw new ProofError("block id does not match the header");
  const txs: Bytes[] = block.txs ?? [];
  if (!payloadDigest(txs).equals(b(header.payload_digest))) throw new ProofError("payload digest differs");
  if (!merkleRoot(txs.map(leafHash)).equals(b(header.tx_root))) throw new ProofError("tx root differs");
  const c = msg.committed;
  await verifyCommitProof(msg.block_id, n64(msg.height), c.qc, c.child_header, c.child_qc, validatorKeys, chainId);
}

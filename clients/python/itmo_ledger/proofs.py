"""Proof verification, written from the documented formats (docs/integrators.md section 4, proto
comments of InclusionProof / CommitProof / QuorumCert / BlockHeader):

- Merkle inclusion (RFC 6962 / RFC 9162 2.1.3.2): LeafHash = BLAKE2b-256(0x00 | tx bytes),
  NodeHash = BLAKE2b-256(0x01 | left | right), the audit path bottom-up leads to header.tx_root.
- Block id: BLAKE2b-256 over length-prefixed fields of the header and the content digest of the
  parent QC (Block.qc); needs the parent QC, which SubscribeCommits delivers with the block.
- Quorum certificates: a quorum of the genesis validators signed, under "itmo/v1/vote", the vote
  message (epoch, round, block id, height); signer bit i (byte i/8, bit i%8) is validator i.
- Commit proof: the QC certifies the block; a child header whose parent is the block and the
  child's QC (the 2-chain) when present.
"""
import struct

from .errors import ProofError
from .signing import CONTEXT_VOTE, blake2b256, verify


def leaf_hash(data):
    return blake2b256(b"\x00" + bytes(data))


def node_hash(left, right):
    return blake2b256(b"\x01" + bytes(left) + bytes(right))


def merkle_root(leaf_hashes):
    if not leaf_hashes:
        return blake2b256(b"")
    level = list(leaf_hashes)
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def verify_inclusion(leaf, index, tree_size, path, root):
    """RFC 9162 section 2.1.3.2."""
    if index >= tree_size:
        return False
    fn, sn, r = index, tree_size - 1, bytes(leaf)
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == bytes(root)


class _Hasher:
    def __init__(self):
        self._parts = []

    def u64(self, value):
        self._parts.append(struct.pack("<Q", value & 0xFFFFFFFFFFFFFFFF))
        return self

    def field(self, data):
        data = data.encode() if isinstance(data, str) else bytes(data)
        self.u64(len(data))
        self._parts.append(data)
        return self

    def raw(self, data):
        self._parts.append(bytes(data))
        return self

    def digest(self):
        return blake2b256(b"".join(self._parts))


def qc_content_digest(qc):
    return (_Hasher().field("itmo/v1/qc-content").u64(qc.epoch).u64(qc.round).field(qc.block_id)
            .u64(qc.height).digest())


def block_id(header, parent_qc):
    """consensus::BlockId(header, parent_qc)."""
    return (_Hasher().field("itmo/v1/block").field(header.parent_id).u64(header.round)
            .u64(header.height).u64(header.epoch).u64(header.proposer).u64(header.timestamp_ms)
            .field(header.payload_digest).field(header.tx_root).u64(header.executed_height)
            .field(header.executed_state_root).raw(qc_content_digest(parent_qc)).digest())


def payload_digest(txs):
    h = _Hasher().field("itmo/v1/payload").u64(len(txs))
    for tx in txs:
        h.field(tx)
    return h.digest()


def vote_message(epoch, rnd, block, height):
    return (struct.pack("<Q", 4) + b"vote" + struct.pack("<QQ", epoch, rnd) + struct.pack("<Q", len(block))
            + bytes(block) + struct.pack("<Q", height))


def quorum_size(n):
    f = (n - 1) // 3
    return (n + f) // 2 + 1


def verify_qc(qc, validator_keys, chain_id):
    """Raises ProofError unless a quorum of distinct validators signed qc."""
    n = len(validator_keys)
    if len(qc.signers) != (n + 7) // 8:
        raise ProofError("qc signer bitmap has %d bytes, want %d" % (len(qc.signers), (n + 7) // 8))
    signers = [i for i in range(n) if qc.signers[i // 8] >> (i % 8) & 1]
    if any(qc.signers[i // 8] >> (i % 8) & 1 for i in range(n, len(qc.signers) * 8)):
        raise ProofError("qc names a signer beyond the validator set")
    if len(signers) != len(qc.signatures):
        raise ProofError("qc has %d signers but %d signatures" % (len(signers), len(qc.signatures)))
    if len(signers) < quorum_size(n):
        raise ProofError("qc has %d signers, quorum is %d" % (len(signers), quorum_size(n)))
    message = vote_message(qc.epoch, qc.round, qc.block_id, qc.height)
    for index, signature in zip(signers, qc.signatures):
        if not verify(validator_keys[index], CONTEXT_VOTE, chain_id, message, signature):
            raise ProofError("qc signature of validator %d does not verify" % index)


def verify_commit_proof(block_id_, height, qc, child_header, child_qc, validator_keys, chain_id):
    if qc.block_id != block_id_ or qc.height != height:
        raise ProofError("commit qc certifies another block")
    verify_qc(qc, validator_keys, chain_id)
    if child_header.ByteSize() and child_qc.ByteSize():
        if child_header.parent_id != block_id_:
            raise ProofError("child header is not a child of the block")
        if child_qc.block_id != block_id(child_header, qc):
            raise ProofError("child qc does not certify the child header")
        verify_qc(child_qc, validator_keys, chain_id)


def verify_transaction(response, block, validator_keys, chain_id):
    """Verifies a COMMITTED GetTransactionResponse: inclusion of its transaction bytes in the
    header's tx_root, the header's block id (with `block`, the committed Block at that height, for
    the parent QC), and the commit proof's quorum certificates. Raises ProofError."""
    proof = response.proof
    header = response.block_header
    leaf = leaf_hash(response.transaction)
    if proof.leaf_hash and proof.leaf_hash != leaf:
        raise ProofError("leaf hash does not match the transaction bytes")
    if proof.leaf_index != response.index:
        raise ProofError("proof is for another leaf index")
    if not verify_inclusion(leaf, proof.leaf_index, proof.tree_size, list(proof.path), header.tx_root):
        raise ProofError("inclusion proof does not lead to the header's tx_root")
    if header.height != response.height:
        raise ProofError("header height differs")
    if block is not None:
        if block.header.SerializeToString() != header.SerializeToString():
            raise ProofError("block header differs from the committed block's")
        if block_id(header, block.qc) != response.block_id:
            raise ProofError("block id does not match the header")
    cp = response.commit_proof
    verify_commit_proof(response.block_id, response.height, cp.qc, cp.child_header, cp.child_qc,
                        validator_keys, chain_id)


def verify_committed_block(msg, validator_keys, chain_id):
    """Verifies a SubscribeCommitsResponse carrying transactions: payload and tx root of the txs,
    the block id, the commit proof. Raises ProofError."""
    committed = msg.committed
    block = committed.block
    header = block.header
    if header.height != msg.height:
        raise ProofError("header height differs from the message height")
    if block_id(header, block.qc) != msg.block_id:
        raise ProofError("block id does not match the header")
    txs = list(block.txs)
    if payload_digest(txs) != header.payload_digest:
        raise ProofError("payload digest does not match the transactions")
    if merkle_root([leaf_hash(t) for t in txs]) != header.tx_root:
        raise ProofError("tx root does not match the transactions")
    verify_commit_proof(msg.block_id, msg.height, committed.qc, committed.child_header,
                        committed.child_qc, validator_keys, chain_id)

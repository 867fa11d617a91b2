// File: consensus/canonical.h
// Hand-written canonical encodings: block ids, the bytes votes / timeouts / proposals sign, payload
// digests, and the genesis block every chain starts from. Protobuf bytes are never hashed or
// signed. Thread-safe: pure functions.
//
// Example:
//   crypto::Digest id = BlockId(block.header(), block.qc());
//   std::string msg = VoteMessage(epoch, round, id, height);
//   crypto::Signature sig = signer->Sign(crypto::kContextVote, chain_id, msg);
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/digest.h"
#include "itmo/v1/consensus.pb.h"

namespace itmo::consensus {

// Digest of what a QC certifies (epoch, round, block_id, height), independent of which quorum
// signed.
crypto::Digest QcContentDigest(const v1::QuorumCert& qc);
// Digest of the whole QC including signer bitmap and signatures (the verification cache key).
crypto::Digest QcFullDigest(const v1::QuorumCert& qc);
crypto::Digest TcFullDigest(const v1::TimeoutCertificate& tc);

// BLAKE2b-256 over the canonical header encoding followed by QcContentDigest(parent_qc).
crypto::Digest BlockId(const v1::BlockHeader& header, const v1::QuorumCert& parent_qc);
inline crypto::Digest BlockId(const v1::Block& block) {
  return BlockId(block.header(), block.qc());
}

// Length-prefixed hash of the transactions, in order.
crypto::Digest PayloadDigest(const google::protobuf::RepeatedPtrField<std::string>& txs);
// crypto::MerkleRoot over crypto::LeafHash(tx).
crypto::Digest TxRoot(const google::protobuf::RepeatedPtrField<std::string>& txs);

// Messages signed under crypto::kContextVote / kContextTimeout / kContextProposal.
std::string VoteMessage(uint64_t epoch, uint64_t round, std::string_view block_id, uint64_t height);
std::string TimeoutMessage(uint64_t epoch, uint64_t round, uint64_t high_qc_round);
std::string ProposalMessage(uint64_t epoch, uint64_t round, std::string_view block_id);

// The genesis block of an epoch: round 0, height 0, no transactions; its id depends on chain_id and
// epoch. The genesis QC (round 0, height 0, certifying the genesis block, no signers) is the only
// QC accepted without signatures.
v1::Block GenesisBlock(std::string_view chain_id, uint64_t epoch);
v1::QuorumCert GenesisQc(std::string_view chain_id, uint64_t epoch);

// Signer bitmaps: bit i of byte i / 8 (least significant first) is validator i.
std::string MakeBitmap(const std::vector<uint32_t>& signers, uint32_t validators);
// Indices of set bits, ascending. Callers validate the bitmap's length first.
std::vector<uint32_t> BitmapSigners(std::string_view bitmap);

}  // namespace itmo::consensus

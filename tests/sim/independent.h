// File: tests/sim/independent.h
// IndependentVerifier: the checkers' own implementation of what a certificate and a block id are,
// written from docs/consensus.md and proto/itmo/v1/consensus.proto, and deliberately sharing no
// code with consensus/ (no ValidatorSet::VerifyQc, consensus::BlockId, TcHighQcRound, QuorumSize):
// a mutation that deletes a verification step in consensus/ cannot blind the checker that is meant
// to catch its consequences. It uses only crypto/ (BLAKE2b, the Verifier interface, Merkle roots).
//   - block id: BLAKE2b-256 over "itmo/v1/block", parent_id, round, height, epoch, proposer,
//     timestamp_ms, payload_digest, tx_root, executed_height, executed_state_root (u64
//     little-endian, strings length-prefixed), then the parent QC's content digest
//     ("itmo/v1/qc-content", epoch, round, block_id, height);
//   - vote bytes "vote" | epoch | round | block_id | height, timeout bytes
//     "timeout" | epoch | round | high_qc_round, under their signing contexts;
//   - a QC / TC: right epoch, bitmap of exactly ceil(n/8) bytes, no bit at or beyond n, one
//     signature per set bit (distinct signers), at least q = floor((n+f)/2)+1 signers with
//     f = floor((n-1)/3), every signature valid; a TC's high_qc_rounds all below its round.
//   - votes, timeouts, proposals (signature over "proposal" | epoch | round | block id by the
//     round's leader (round + epoch) mod n), the stateless checks of a block (epoch, round above
//     its QC's and justified by the QC or a TC, proposer, payload digest and Merkle tx root,
//     qc.block_id = parent_id, valid QC and TC) and of a child extending its parent.
// Certificate verdicts are cached by the BLAKE2b of the certificate's exact serialized bytes (so a
// certificate that differs in any byte is verified afresh); nothing else is cached. Not
// thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "crypto/digest.h"
#include "crypto/keys.h"
#include "crypto/verifier.h"
#include "itmo/v1/consensus.pb.h"

namespace itmo::sim {

class IndependentVerifier final {
 public:
  IndependentVerifier(std::string chain_id, uint64_t epoch, std::vector<crypto::PublicKey> keys,
                      const crypto::Verifier* verifier);

  uint32_t quorum() const { return quorum_; }
  const crypto::Digest& genesis_id() const { return genesis_id_; }

  crypto::Digest BlockIdOf(const v1::BlockHeader& header, const v1::QuorumCert& parent_qc) const;
  crypto::Digest BlockIdOf(const v1::Block& block) const {
    return BlockIdOf(block.header(), block.qc());
  }
  // Errors: kInvalidArgument naming the first defect.
  absl::Status CheckQc(const v1::QuorumCert& qc) const;
  absl::Status CheckTc(const v1::TimeoutCertificate& tc) const;
  // A vote / timeout on its own: epoch, signer in range, round, block id, signature (a timeout's
  // high QC and high TC too).
  absl::Status CheckVote(const v1::Vote& vote) const;
  absl::Status CheckTimeout(const v1::Timeout& timeout) const;
  absl::Status CheckSyncInfo(const v1::SyncInfo& info) const;
  // What a validator checks of a block before anything else (consensus' VerifyBlock, minus the
  // size limits): see the file comment.
  absl::Status CheckBlock(const v1::Block& block) const;
  // CheckBlock and the proposer's signature and sync info.
  absl::Status CheckProposal(const v1::Proposal& proposal) const;
  // Whether `child` extends `parent` (ids, epoch, height + 1, round above, QC of the parent,
  // timestamp not below).
  absl::Status CheckExtends(const v1::Block& child, const v1::Block& parent) const;
  // A committed block's proof: qc certifies the block and verifies; a child header, when present,
  // is one round later, names the block and is certified by a verifying child QC.
  absl::Status CheckCommitted(const v1::CommittedBlock& committed) const;
  uint32_t LeaderOf(uint64_t round) const {
    return static_cast<uint32_t>((round + epoch_) % keys_.size());
  }
  uint32_t validators() const { return static_cast<uint32_t>(keys_.size()); }
  static crypto::Digest PayloadDigestOf(const google::protobuf::RepeatedPtrField<std::string>& txs);
  static crypto::Digest TxRootOf(const google::protobuf::RepeatedPtrField<std::string>& txs);
  // The highest high_qc_round a TC carries (the lock a vote through it must respect).
  static uint64_t MaxHighQcRound(const v1::TimeoutCertificate& tc);

 private:
  // The set bits of a bitmap, or an error for a bitmap of the wrong size or a bit beyond n.
  absl::Status Signers(std::string_view bitmap, int signatures, std::vector<uint32_t>* out) const;
  absl::Status CheckQcUncached(const v1::QuorumCert& qc) const;
  absl::Status CheckTcUncached(const v1::TimeoutCertificate& tc) const;
  bool Signed(uint32_t signer, std::string_view context, std::string_view message,
              std::string_view signature) const;

  const std::string chain_id_;
  const uint64_t epoch_;
  const std::vector<crypto::PublicKey> keys_;
  const crypto::Verifier* const verifier_;
  const uint32_t quorum_;
  crypto::Digest genesis_id_{};
  static constexpr size_t kCacheMax = 1 << 14;
  mutable absl::btree_map<crypto::Digest, std::string> cache_;  // Bytes digest -> error ("" ok).
};

}  // namespace itmo::sim

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
// No cache: every call verifies every signature. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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
  // The highest high_qc_round a TC carries (the lock a vote through it must respect).
  static uint64_t MaxHighQcRound(const v1::TimeoutCertificate& tc);

 private:
  // The set bits of a bitmap, or an error for a bitmap of the wrong size or a bit beyond n.
  absl::Status Signers(std::string_view bitmap, int signatures, std::vector<uint32_t>* out) const;

  const std::string chain_id_;
  const uint64_t epoch_;
  const std::vector<crypto::PublicKey> keys_;
  const crypto::Verifier* const verifier_;
  const uint32_t quorum_;
  crypto::Digest genesis_id_{};
};

}  // namespace itmo::sim

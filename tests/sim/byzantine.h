// File: tests/sim/byzantine.h
// Byzantine behaviours as swappable policies. A Corrupter sits between a byzantine validator's
// (otherwise correct) Replica and the network and rewrites what it sends, signing with the
// validator's own key where the attack needs a valid signature:
//   - equivocation: a second proposal for the same round (one more transaction) to half the peers;
//   - lock breaking: a proposal that carries a TC but extends an older QC than the TC allows;
//   - bad signatures, stale and far-future rounds, malformed fields, oversized transactions.
// A Spammer is a non-validator peer that sends forged votes and timeouts (signed by a key that is
// not in the validator set, or claiming another voter), junk certificates and abusive requests. Not
// thread-safe: owned by one simulation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crypto/verifier.h"
#include "itmo/v1/consensus.pb.h"
#include "tests/sim/prng.h"

namespace itmo::sim {

struct CorrupterOptions {
  std::string chain_id;
  uint64_t epoch = 0;
  uint32_t validators = 0;
  const crypto::Signer* signer = nullptr;  // The byzantine validator's own key.
  uint64_t equivocate_per_mille = 300;
  uint64_t fork_per_mille = 500;
  uint64_t bad_signature_per_mille = 80;
  uint64_t bad_round_per_mille = 40;
  uint64_t malformed_per_mille = 20;
  uint64_t oversized_per_mille = 2;
  // Its own proposals (to every peer alike, re-signed): a forged executed_height (height - 1) with
  // a made-up executed_state_root, or a timestamp far in the future (issue 7 defects 1 and 5).
  bool forge_executed = false;
  bool future_timestamps = false;
  uint64_t forge_per_mille = 500;
};

class Corrupter final {
 public:
  Corrupter(CorrupterOptions options, Prng* prng);

  // The message to deliver to validator `to` in place of `message` (often `message` itself).
  v1::ConsensusMessage Rewrite(const v1::ConsensusMessage& message, uint32_t to);
  uint64_t rewrites() const { return rewrites_; }

 private:
  v1::Proposal Resign(v1::Proposal proposal) const;
  std::optional<v1::Proposal> Equivocation(const v1::Proposal& proposal, uint32_t to);
  std::optional<v1::Proposal> Fork(const v1::Proposal& proposal);
  void Damage(v1::ConsensusMessage* message);

  const CorrupterOptions options_;
  Prng* const prng_;
  std::vector<v1::QuorumCert> qcs_seen_;  // QCs of its own earlier proposals, oldest first.
  std::optional<v1::Proposal> Forge(const v1::Proposal& proposal);
  uint64_t forged_round_ = 0;
  std::optional<v1::Proposal> forged_;
  uint64_t equivocation_round_ = 0;
  std::optional<v1::Proposal> equivocation_;
  uint64_t rewrites_ = 0;
};

class Spammer final {
 public:
  static constexpr uint64_t kFakeKeyIndex = 1'000'000;

  Spammer(std::string chain_id, uint64_t epoch, uint32_t validators, Prng* prng);
  // One junk message aimed at a validator of round about `round`.
  v1::ConsensusMessage Make(uint64_t round, const v1::QuorumCert& some_qc);

 private:
  const std::string chain_id_;
  const uint64_t epoch_;
  const uint32_t validators_;
  Prng* const prng_;
  const crypto::Digest secret_;  // A key the validator set does not contain.
};

}  // namespace itmo::sim

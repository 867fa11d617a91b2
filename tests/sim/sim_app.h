// File: tests/sim/sim_app.h
// SimApplication: the in-memory consensus::Application of one simulated node. Its payload is a few
// opaque random transactions drawn from the seed; ValidateProposal checks the tx root (the replica
// checks the proposer's executed state root through ExecutedRootAt); its executed head is a running
// BLAKE2b over the ids of committed blocks; it keeps every committed block (with its proof) to
// serve sync. It stands for the node's durable ledger, so it survives a simulated crash of its
// node. Not thread-safe: used by the simulation's one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "consensus/interfaces.h"
#include "crypto/digest.h"
#include "itmo/v1/consensus.pb.h"
#include "tests/sim/prng.h"

namespace itmo::sim {

class SimApplication final : public consensus::Application {
 public:
  static constexpr uint32_t kPayloadTxsMax = 4;
  static constexpr uint32_t kTxBytesMax = 48;
  static constexpr uint64_t kCommittedBlocksMax = 1 << 20;

  explicit SimApplication(uint64_t payload_seed);

  std::vector<std::string> Payload(uint64_t height, uint32_t txs_max, uint64_t bytes_max) override;
  absl::Status ValidateProposal(const v1::Block& block) override;
  std::optional<crypto::Digest> ExecutedRootAt(uint64_t height) override;
  consensus::ExecutedHead executed_head() const override;
  std::vector<v1::CommittedBlock> CommittedRange(uint64_t from_height, uint32_t count_max,
                                                 uint64_t bytes_max) override;

  // Executes a committed block. REQUIRES: its height is executed_height() + 1.
  void Apply(const v1::CommittedBlock& committed);

  uint64_t height() const { return static_cast<uint64_t>(committed_.size()); }
  // The highest committed block (nullptr before the first commit).
  const v1::CommittedBlock* head() const {
    return committed_.empty() ? nullptr : &committed_.back();
  }
  const crypto::Digest& state_root() const { return roots_.back(); }
  const crypto::Digest& RootAt(uint64_t height) const;

 private:
  Prng prng_;
  std::vector<v1::CommittedBlock> committed_;  // committed_[h - 1] is height h.
  std::vector<crypto::Digest> roots_;          // roots_[h] is the state root after height h.
};

}  // namespace itmo::sim

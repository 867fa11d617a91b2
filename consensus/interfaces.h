// File: consensus/interfaces.h
// The interfaces the consensus core calls out through. node/ implements Application over the
// ledger; tests/sim/ implements it in memory. Called only from the thread that calls
// Replica::Handle().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "crypto/digest.h"
#include "itmo/v1/consensus.pb.h"

namespace itmo::consensus {

// Height and state root of the newest committed block the application has executed.
struct ExecutedHead {
  uint64_t height = 0;
  crypto::Digest state_root{};
};

class Application {
 public:
  virtual ~Application() = default;

  // Transactions for a new block at `height`: at most txs_max of them and bytes_max bytes in total
  // (the replica drops what exceeds either). Opaque bytes to consensus.
  virtual std::vector<std::string> Payload(uint64_t height, uint32_t txs_max,
                                           uint64_t bytes_max) = 0;

  // Whether this replica may vote for `block` (already checked by consensus: structure, signatures,
  // tx_root, payload_digest, linkage, executed_height bounds and executed_state_root against
  // ExecutedRootAt, timestamp bound). A non-OK status means "do not vote" (e.g. a transaction the
  // ledger refuses). Must be deterministic for equal inputs.
  virtual absl::Status ValidateProposal(const v1::Block& block) = 0;

  // The state root after executing committed height `height` (0: the genesis state), or nullopt
  // when this application has not executed `height` yet (it lags: the replica holds its vote back
  // until an Executed event). A replica votes only for a block whose executed_state_root equals
  // ExecutedRootAt(executed_height): a leader cannot get a false root certified. Must be
  // deterministic for equal inputs.
  virtual std::optional<crypto::Digest> ExecutedRootAt(uint64_t height) = 0;

  // The head for BlockHeader.executed_height / executed_state_root of this replica's proposals.
  virtual ExecutedHead executed_head() const = 0;

  // Committed blocks with their proofs (as received in Commit actions), ascending from from_height,
  // at most count_max, gap-free; fewer (or none) when the application no longer or not yet has
  // them. Bounded by bytes too: stops before the sum of the blocks' ByteSizeLong() would exceed
  // bytes_max, but returns at least one block when it has from_height (so one block of maximum
  // size is always served).
  virtual std::vector<v1::CommittedBlock> CommittedRange(uint64_t from_height, uint32_t count_max,
                                                         uint64_t bytes_max) = 0;
};

}  // namespace itmo::consensus

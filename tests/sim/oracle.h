// File: tests/sim/oracle.h
// AcceptanceOracle: judges, with the checkers' own code (IndependentVerifier, never consensus/'s
// ValidatorSet::VerifyQc, BlockId or TcHighQcRound), every message a simulated replica receives and
// every message it emits.
//   - Evaluate(), before Replica::Handle(): whether the message is invalid for this receiver (bad
//     signature, wrong epoch, out-of-range voter or signer, from != voter/signer, a message from
//     the receiver itself, a sub-quorum or malformed QC or TC, bad block fields or justification,
//     wrong proposer, a vote sent to a replica that is not the next leader, an unsolicited or
//     forged retrieval response, a forged sync response, a request from a non-validator). An
//     invalid message that Handle() returns OK for is a violation: the replica accepted it.
//   - CheckInserted(), after Handle(): a block that entered the replica's tree must pass the
//     stateless block checks and extend its parent there.
//   - CheckEmitted(): every vote, timeout, proposal, certificate, sync info and response a
//     replica sends verifies (an honest replica never emits an invalid message).
// Messages that only exceed a size limit are not judged (the replica may refuse them either way).
// Not thread-safe: owned by one simulation.
#pragma once

#include <cstdint>
#include <string>

#include "absl/container/btree_set.h"
#include "absl/status/status.h"
#include "consensus/replica.h"
#include "itmo/v1/consensus.pb.h"
#include "tests/sim/independent.h"

namespace itmo::sim {

class AcceptanceOracle final {
 public:
  explicit AcceptanceOracle(const IndependentVerifier* verifier);

  // `requested`: block ids the receiver ever asked for (BlockRetrievalRequest.block_id).
  // kInvalidArgument naming the defect when `message` is invalid for validator `me` (whose replica
  // is `receiver`, in its state before the message) coming from `from`.
  absl::Status Evaluate(uint32_t me, uint32_t from, const v1::ConsensusMessage& message,
                        const consensus::Replica& receiver,
                        const absl::btree_set<std::string>& requested) const;
  // `id` entered `receiver`'s block tree during the last Handle().
  absl::Status CheckInserted(const crypto::Digest& id, const consensus::Replica& receiver) const;
  // `sender` (validator `me`) is about to send `message`.
  absl::Status CheckEmitted(uint32_t me, const v1::ConsensusMessage& message,
                            const consensus::Replica& sender) const;

 private:
  absl::Status EvaluateBlockResponse(const v1::BlockRetrievalResponse& response,
                                     const consensus::Replica& receiver,
                                     const absl::btree_set<std::string>& requested) const;
  absl::Status EvaluateSyncResponse(const v1::SyncResponse& response,
                                    const consensus::Replica& receiver) const;
  bool IsGenesis(const v1::Block& block) const;

  const IndependentVerifier* const verifier_;
};

}  // namespace itmo::sim

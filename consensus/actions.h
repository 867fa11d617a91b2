// File: consensus/actions.h
// The outputs of Replica::Handle(). The node executes them strictly in order, and completes
// (fsyncs) a PersistSafetyState before it executes the next action: a vote or timeout is always
// preceded by the PersistSafetyState that covers it. Thread-safe: plain values.
#pragma once

#include <cstdint>
#include <variant>

#include "itmo/v1/consensus.pb.h"

namespace itmo::consensus {

// Durably store `state` (fsync) before executing any later action.
struct PersistSafetyState {
  v1::SafetyState state;
};

// Send to validator `to`, or to the non-validator peer that a MessageReceived named as `from`
// (see events.h). Never the replica itself: the replica handles its own messages.
struct SendTo {
  uint32_t to = 0;
  v1::ConsensusMessage message;
};

// Send to every other validator (and, at the node's discretion, to observers).
struct Broadcast {
  v1::ConsensusMessage message;
};

// `committed.block()` is committed. Emitted in height order, exactly once per height, gap-free from
// the recovered committed height + 1. `committed` is its commit proof, to store and to serve to
// SyncRequests through Application::CommittedRange().
struct Commit {
  v1::CommittedBlock committed;
  const v1::Block& block() const { return committed.block(); }
  uint64_t height() const { return committed.block().header().height(); }
};

// `block` passed every check a proposal gets (VerifyBlock: structure, limits, certificates, the
// proposer is the leader of its round; a received proposal's signature too) and is now in the
// block tree, or it is this replica's own proposal (emitted before its PersistSafetyState and
// Broadcast). The host may store it durably for RecoveredChain::pending_blocks; it must not store
// blocks from messages before the replica has handled them, so that a peer cannot fill the store
// with junk (issue 7, defect 4). Not emitted for blocks recovered on Start.
struct KeepBlock {
  v1::Block block;
};

using Action = std::variant<PersistSafetyState, SendTo, Broadcast, Commit, KeepBlock>;

}  // namespace itmo::consensus

// File: consensus/limits.h
// Every bound of the consensus core. Config may lower a limit, never raise it. Thread-safe:
// constants.
#pragma once

#include <cstdint>

namespace itmo::consensus {

inline constexpr uint32_t kValidatorsMax = 256;
inline constexpr uint32_t kSignerBitmapBytesMax = kValidatorsMax / 8;
// One consensus message on the wire (a proposal with a full block is the largest).
inline constexpr uint64_t kMessageBytesMax = 64ull << 20;
inline constexpr uint32_t kBlockTxsMax = 20'000;
inline constexpr uint64_t kBlockBytesMax = 32ull << 20;
inline constexpr uint64_t kTxBytesMax = 1ull << 20;
// Uncommitted blocks held in the block tree.
inline constexpr uint32_t kPendingBlocksMax = 1'024;
// Pending blocks of one round: an honest leader makes one, a byzantine one cannot flood the tree.
inline constexpr uint32_t kBlocksPerRoundMax = 4;
// Blocks in one BlockRetrievalResponse.
inline constexpr uint32_t kRetrievalBlocksMax = 64;
// Committed blocks in one SyncResponse.
inline constexpr uint32_t kSyncBlocksMax = 64;
// Serialized bytes of a QC / TC / header at most (n = kValidatorsMax signers; 64-byte signatures
// with their framing; a TC also carries a high QC round per signer), with room for the fields.
inline constexpr uint64_t kQcBytesMax = 256 + kSignerBitmapBytesMax + kValidatorsMax * (64 + 4);
inline constexpr uint64_t kTcBytesMax = kQcBytesMax + kValidatorsMax * 11;
inline constexpr uint64_t kHeaderBytesMax = 512;
// Serialized bytes of one CommittedBlock beyond its transactions' own bytes: block header, parent
// QC and TC, the framing of up to kBlockTxsMax transactions, its QC, child header and child QC.
inline constexpr uint64_t kCommittedBlockOverheadBytesMax =
    2 * kHeaderBytesMax + 3 * kQcBytesMax + kTcBytesMax + kBlockTxsMax * 8ull + 1024;
// Bytes of one SyncResponse or BlockRetrievalResponse: a responder stops adding blocks before the
// response would exceed this, and always sends at least one. Well below the node's peer message
// limit (node/node.cc static_asserts it), because a message above that is dropped on send, and a
// count-only bound let 64 large blocks make a response nobody could send: a node behind a run of
// large blocks never caught up (issue 7, defect 7).
inline constexpr uint64_t kResponseBytesMax = 36ull << 20;
// A replica whose committed height lags a seen commit by more than this syncs committed blocks
// instead of retrieving ancestors.
inline constexpr uint64_t kSyncLagBlocksMin = 8;
// An unanswered retrieval or sync request is sent again after this many rounds (or a round
// timeout).
inline constexpr uint64_t kRequestRetryRounds = 3;
// Verified certificates remembered by hash.
inline constexpr uint32_t kVerifiedCacheMax = 4'096;
// Rounds for which votes / timeouts are collected at once (beyond the current round).
inline constexpr uint32_t kCollectorRoundsMax = 64;
// Round timer.
inline constexpr uint32_t kRoundTimeoutTicksMin = 1;
inline constexpr uint32_t kRoundTimeoutTicksMax = 1'000'000;
inline constexpr uint32_t kBackoffExponentMax = 30;
// How far a block's timestamp may be ahead of a voter's clock (ReplicaOptions::
// timestamp_ahead_ms_max, genesis ConsensusParams.block_timestamp_ahead_ms_max). The default, 10 s,
// is far above the skew of NTP-synced servers (tens of ms) and the simulator's (at most +-500 ms
// plus +-10 per mille drift per clock, so about 1.6 s between two clocks after 30 s), yet it lets a
// byzantine leader move ledger time only seconds ahead, never into a later reporting year. A
// voter that sees a block further ahead holds its vote and looks again on every tick.
inline constexpr uint64_t kTimestampAheadMsDefault = 10'000;
inline constexpr uint64_t kTimestampAheadMsMin = 1'000;  // Below it honest skew would halt rounds.
inline constexpr uint64_t kTimestampAheadMsMax = 60'000;
// SyncRequests served per peer (token bucket on the replica's injected clock): each one reads up
// to kResponseBytesMax of committed blocks from disk on the consensus thread. An honest lagging
// peer keeps one request outstanding and sends the next on the response, so a round trip apart;
// 10 per second (64 blocks each) still catches up 640 blocks a second from one peer, while a
// flooding peer gets at most that (its excess is refused with kResourceExhausted, unread). Every
// non-validator peer shares one bucket.
inline constexpr uint32_t kSyncRequestsBurst = 4;
inline constexpr int64_t kSyncRequestRefillMs = 100;
// Actions one Handle() may return.
inline constexpr uint32_t kActionsMax = 2 * kSyncBlocksMax + 4 * kPendingBlocksMax + 64;
inline constexpr uint32_t kChainIdBytesMax = 128;

static_assert(kValidatorsMax % 8 == 0);
static_assert(kSignerBitmapBytesMax * 8 == kValidatorsMax);
static_assert(kRetrievalBlocksMax <= kPendingBlocksMax);
static_assert(kBlocksPerRoundMax >= 1 && kBlocksPerRoundMax < kPendingBlocksMax);
static_assert(kSyncLagBlocksMin < kRetrievalBlocksMax);
static_assert(kBlockBytesMax < kMessageBytesMax);
// One block of maximum size (with all its overhead) always fits in a response on its own...
static_assert(kBlockBytesMax + kCommittedBlockOverheadBytesMax <= kResponseBytesMax);
// ...and a full response, with its message framing, in one consensus message.
static_assert(kResponseBytesMax + (1ull << 20) <= kMessageBytesMax);
static_assert(kTxBytesMax < (1ull << 21));  // A tx's length framing takes at most 3 + 1 bytes.
static_assert(kTxBytesMax <= kBlockBytesMax);
static_assert(kRoundTimeoutTicksMin <= kRoundTimeoutTicksMax);
static_assert(kTimestampAheadMsMin <= kTimestampAheadMsDefault);
static_assert(kSyncRequestsBurst >= 1 && kSyncRequestRefillMs > 0);
static_assert(kTimestampAheadMsDefault <= kTimestampAheadMsMax);
static_assert(kActionsMax > kSyncBlocksMax + kPendingBlocksMax);

}  // namespace itmo::consensus

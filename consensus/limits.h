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
// Actions one Handle() may return.
inline constexpr uint32_t kActionsMax = 2 * kSyncBlocksMax + 4 * kPendingBlocksMax + 64;
inline constexpr uint32_t kChainIdBytesMax = 128;

static_assert(kValidatorsMax % 8 == 0);
static_assert(kSignerBitmapBytesMax * 8 == kValidatorsMax);
static_assert(kRetrievalBlocksMax <= kPendingBlocksMax);
static_assert(kBlocksPerRoundMax >= 1 && kBlocksPerRoundMax < kPendingBlocksMax);
static_assert(kSyncLagBlocksMin < kRetrievalBlocksMax);
static_assert(kBlockBytesMax < kMessageBytesMax);
static_assert(kTxBytesMax <= kBlockBytesMax);
static_assert(kRoundTimeoutTicksMin <= kRoundTimeoutTicksMax);
static_assert(kActionsMax > kSyncBlocksMax + kPendingBlocksMax);

}  // namespace itmo::consensus

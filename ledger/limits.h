// File: ledger/limits.h
// Limits of the ITMO ledger. Every list or string in a transaction is bounded; exceeding a bound is
// a precise reason code (never a crash). Config may lower these, never raise them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace itmo::ledger {

inline constexpr size_t kTransactionBytesMax = 1 << 20;  // Serialized TransactionBody.
inline constexpr size_t kSignaturesMax = 64;             // Per transaction (RegisterApproach).
inline constexpr size_t kClientTxIdBytesMax = 128;
inline constexpr size_t kIdBytesMax = 64;               // Registry, account, approach, auth ids.
inline constexpr size_t kTextBytesMax = 1024;           // Names, notes, reasons, metric, sector.
inline constexpr size_t kRangesPerTxMax = 256;          // UnitRanges in one transaction.
inline constexpr size_t kIssueBlocksMax = 256;          // IssuanceSpecs in one Issue.
inline constexpr size_t kBlocksTouchedPerTxMax = 4096;  // Unit blocks one transaction may touch.
inline constexpr size_t kUnderlyingIdsMax = 64;         // Underlying block ids per IssuanceSpec.
inline constexpr size_t kApproachPartiesMax = 64;       // Parties of one cooperative approach.
inline constexpr size_t kPurposesMax = 16;              // OIMP purposes of one authorization.
inline constexpr size_t kSectorsMax = 64;            // Sectors or activity types per authorization.
inline constexpr size_t kRevokeBlocksMax = 1 << 16;  // Blocks one revocation may flip to REVOKED.
inline constexpr size_t kBlockTxsMax = 1 << 16;      // Transactions per ExecuteBlock call.
inline constexpr size_t kGenesisEntriesMax = 1 << 16;  // Parties, registries, accounts, approaches.
inline constexpr size_t kHistoryEntriesMax = 1 << 16;  // Entries one history query returns.
inline constexpr size_t kHoldingsBlocksMax = 1 << 20;  // Blocks one holdings query returns.
inline constexpr uint32_t kVintageMin = 2021;          // R9.
inline constexpr uint32_t kYearMax = 9999;
// Conversion factors (t CO2e per unit = numerator / denominator): numerator in
// [1, kConversionNumeratorMax], denominator in [1, kConversionDenominatorMax] and a divisor of it,
// so every t CO2e figure is an exact number of micro-tonnes. Bound on sums: registries are fixed at
// genesis (<= kGenesisEntriesMax), serials unique per registry (< 2^64), so a Party ever adjusts
// fewer than 2^80 units; times the numerator (< 2^20) and 10^6/denominator (< 2^20): < 2^120.
inline constexpr uint64_t kConversionNumeratorMax = 1'000'000;
inline constexpr uint64_t kConversionDenominatorMax = 1'000'000;

static_assert(kGenesisEntriesMax <= (size_t{1} << 16), "unit sums stay below 2^80");
static_assert(kConversionNumeratorMax < (uint64_t{1} << 20));
static_assert(kConversionDenominatorMax < (uint64_t{1} << 20));
static_assert(kRangesPerTxMax <= kBlocksTouchedPerTxMax);
static_assert(kIssueBlocksMax <= kBlocksTouchedPerTxMax);
static_assert(kSignaturesMax >= kApproachPartiesMax,
              "RegisterApproach needs every Party's signature");

}  // namespace itmo::ledger

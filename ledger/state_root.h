// File: ledger/state_root.h
// LtHash: an incremental multiset hash over the ledger state's (key, value) entries. Adding an
// entry adds its 1024 16-bit lanes (derived from BLAKE2b-512 in counter mode) lane-wise modulo
// 2^16; removing one subtracts them. The result depends only on the set of entries, never on the
// order they were written, so every node computes the same root for the same state. Root() is
// BLAKE2b-256 of the lanes. Not thread-safe; a value type.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/digest.h"

namespace itmo::ledger {

class LtHash final {
 public:
  static constexpr size_t kLanes = 1024;
  static constexpr size_t kBytes = kLanes * 2;

  LtHash() { lanes_.fill(0); }

  void Add(std::string_view key, std::string_view value);
  void Remove(std::string_view key, std::string_view value);
  crypto::Digest Root() const;

  // Little-endian lanes, kBytes long.
  std::string Serialize() const;
  // Errors: kDataLoss unless exactly kBytes.
  static absl::StatusOr<LtHash> Parse(std::string_view bytes);

  bool operator==(const LtHash& other) const { return lanes_ == other.lanes_; }

 private:
  std::array<uint16_t, kLanes> lanes_;
};

}  // namespace itmo::ledger

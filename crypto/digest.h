// File: crypto/digest.h
// BLAKE2b-256 digests and hex helpers. Thread-safe: free functions without shared state; a Hasher is
// owned by one thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace itmo::crypto {

inline constexpr size_t kDigestBytes = 32;
using Digest = std::array<uint8_t, kDigestBytes>;

// Returns BLAKE2b-256 of `data`.
Digest Blake2b256(std::string_view data);

// Incremental BLAKE2b-256.
//
// Example:
//   Hasher h;
//   h.Update("leaf:");
//   h.Update(bytes);
//   Digest d = h.Finish();
class Hasher final {
 public:
  Hasher();
  void Update(std::string_view data);
  void Update(std::span<const uint8_t> data);
  void UpdateU64(uint64_t value);  // Little-endian, 8 bytes: for canonical encodings.
  // Length-prefixed (u64) string: unambiguous concatenation of variable-length fields.
  void UpdateField(std::string_view data);
  // REQUIRES: called once.
  Digest Finish();

 private:
  alignas(64) unsigned char state_[384];
  bool finished_ = false;
};

std::string ToHex(std::span<const uint8_t> bytes);
std::string ToHex(std::string_view bytes);
// Errors: kInvalidArgument for odd length or a non-hex character.
absl::StatusOr<std::string> FromHex(std::string_view hex);
std::string_view AsStringView(const Digest& digest);
// Errors: kInvalidArgument unless `bytes` is exactly 32 bytes.
absl::StatusOr<Digest> DigestFromBytes(std::string_view bytes);

}  // namespace itmo::crypto

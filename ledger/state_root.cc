#include "ledger/state_root.h"

#include <sodium.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace itmo::ledger {
namespace {

constexpr size_t kChunkBytes = crypto_generichash_BYTES_MAX;  // 64: one BLAKE2b-512 output.
constexpr size_t kChunks = LtHash::kBytes / kChunkBytes;
static_assert(LtHash::kBytes % kChunkBytes == 0);

void AppendU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// The lanes of one entry: seed = BLAKE2b-256("itmo/ltHash" | len | key | len | value), then chunk i
// = BLAKE2b-512(seed | u32 i).
void EntryLanes(std::string_view key, std::string_view value,
                std::array<uint16_t, LtHash::kLanes>& out) {
  std::string framed = "itmo/v1/lthash";
  framed.reserve(framed.size() + 16 + key.size() + value.size());
  AppendU64(framed, key.size());
  framed.append(key);
  AppendU64(framed, value.size());
  framed.append(value);
  unsigned char seed[36];
  crypto_generichash(seed, 32, reinterpret_cast<const unsigned char*>(framed.data()), framed.size(),
                     nullptr, 0);
  unsigned char bytes[LtHash::kBytes];
  for (uint32_t i = 0; i < kChunks; ++i) {
    seed[32] = static_cast<unsigned char>(i & 0xff);
    seed[33] = static_cast<unsigned char>((i >> 8) & 0xff);
    seed[34] = 0;
    seed[35] = 0;
    crypto_generichash(bytes + i * kChunkBytes, kChunkBytes, seed, sizeof(seed), nullptr, 0);
  }
  for (size_t i = 0; i < LtHash::kLanes; ++i) {
    out[i] = static_cast<uint16_t>(bytes[2 * i] | (static_cast<uint16_t>(bytes[2 * i + 1]) << 8));
  }
}

}  // namespace

void LtHash::Add(std::string_view key, std::string_view value) {
  ITMO_CHECK(!key.empty());
  std::array<uint16_t, kLanes> lanes;
  EntryLanes(key, value, lanes);
  for (size_t i = 0; i < kLanes; ++i) lanes_[i] = static_cast<uint16_t>(lanes_[i] + lanes[i]);
}

void LtHash::Remove(std::string_view key, std::string_view value) {
  ITMO_CHECK(!key.empty());
  std::array<uint16_t, kLanes> lanes;
  EntryLanes(key, value, lanes);
  for (size_t i = 0; i < kLanes; ++i) lanes_[i] = static_cast<uint16_t>(lanes_[i] - lanes[i]);
}

crypto::Digest LtHash::Root() const {
  std::string bytes = Serialize();
  ITMO_CHECK(bytes.size() == kBytes);
  return crypto::Blake2b256(bytes);
}

std::string LtHash::Serialize() const {
  std::string out(kBytes, '\0');
  for (size_t i = 0; i < kLanes; ++i) {
    out[2 * i] = static_cast<char>(lanes_[i] & 0xff);
    out[2 * i + 1] = static_cast<char>(lanes_[i] >> 8);
  }
  return out;
}

absl::StatusOr<LtHash> LtHash::Parse(std::string_view bytes) {
  if (bytes.size() != kBytes) {
    return absl::DataLossError(absl::StrCat("state hash has ", bytes.size(), " bytes"));
  }
  LtHash h;
  for (size_t i = 0; i < kLanes; ++i) {
    h.lanes_[i] =
        static_cast<uint16_t>(static_cast<uint8_t>(bytes[2 * i]) |
                              (static_cast<uint16_t>(static_cast<uint8_t>(bytes[2 * i + 1])) << 8));
  }
  return h;
}

}  // namespace itmo::ledger

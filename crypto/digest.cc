#include "crypto/digest.h"

#include <sodium.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace itmo::crypto {
namespace {

static_assert(crypto_generichash_BYTES == kDigestBytes);

crypto_generichash_state* AsState(unsigned char* buffer) {
  static_assert(sizeof(crypto_generichash_state) <= 384);
  static_assert(alignof(crypto_generichash_state) <= 64);
  return reinterpret_cast<crypto_generichash_state*>(buffer);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Digest Blake2b256(std::string_view data) {
  Digest out;
  const int rc = crypto_generichash(out.data(), out.size(),
                                    reinterpret_cast<const unsigned char*>(data.data()),
                                    data.size(), nullptr, 0);
  ITMO_CHECK(rc == 0);
  return out;
}

Hasher::Hasher() {
  const int rc = crypto_generichash_init(AsState(state_), nullptr, 0, kDigestBytes);
  ITMO_CHECK(rc == 0);
}

void Hasher::Update(std::string_view data) {
  ITMO_CHECK(!finished_);
  crypto_generichash_update(AsState(state_), reinterpret_cast<const unsigned char*>(data.data()),
                            data.size());
}

void Hasher::Update(std::span<const uint8_t> data) {
  ITMO_CHECK(!finished_);
  crypto_generichash_update(AsState(state_), data.data(), data.size());
}

void Hasher::UpdateU64(uint64_t value) {
  unsigned char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(value >> (8 * i));
  Update(std::span<const uint8_t>(bytes, 8));
}

void Hasher::UpdateField(std::string_view data) {
  UpdateU64(data.size());
  Update(data);
}

Digest Hasher::Finish() {
  ITMO_CHECK(!finished_);
  finished_ = true;
  Digest out;
  const int rc = crypto_generichash_final(AsState(state_), out.data(), out.size());
  ITMO_CHECK(rc == 0);
  return out;
}

std::string ToHex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.resize(bytes.size() * 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return out;
}

std::string ToHex(std::string_view bytes) {
  return ToHex(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()),
                                        bytes.size()));
}

absl::StatusOr<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return absl::InvalidArgumentError(absl::StrCat("hex string of odd length ", hex.size()));
  }
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = HexValue(hex[2 * i]);
    const int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(absl::StrCat("not a hex digit at offset ", 2 * i));
    }
    out[i] = static_cast<char>((hi << 4) | lo);
  }
  return out;
}

std::string_view AsStringView(const Digest& digest) {
  return std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size());
}

absl::StatusOr<Digest> DigestFromBytes(std::string_view bytes) {
  if (bytes.size() != kDigestBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("digest must be ", kDigestBytes, " bytes, got ", bytes.size()));
  }
  Digest out;
  std::memcpy(out.data(), bytes.data(), kDigestBytes);
  return out;
}

}  // namespace itmo::crypto

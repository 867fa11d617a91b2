#include "tests/sim/fake_crypto.h"

#include <algorithm>

#include "base/check.h"

namespace itmo::sim {

crypto::Digest FakeSecret(uint64_t index) {
  crypto::Hasher hasher;
  hasher.Update("itmo-sim/fake-secret");
  hasher.UpdateU64(index);
  return hasher.Finish();
}

crypto::PublicKey FakePublicKey(const crypto::Digest& secret) {
  crypto::Hasher hasher;
  hasher.Update("itmo-sim/fake-public");
  hasher.Update(std::span<const uint8_t>(secret));
  const crypto::Digest digest = hasher.Finish();
  crypto::PublicKey key{};
  static_assert(sizeof(key) == sizeof(digest));
  std::copy(digest.begin(), digest.end(), key.begin());
  return key;
}

crypto::Signature FakeSign(const crypto::Digest& secret, std::string_view context,
                           std::string_view chain_id, std::string_view message) {
  crypto::Hasher hasher;
  hasher.Update(std::span<const uint8_t>(secret));
  hasher.UpdateField(context);
  hasher.UpdateField(chain_id);
  hasher.UpdateField(message);
  const crypto::Digest digest = hasher.Finish();
  crypto::Signature signature{};
  static_assert(sizeof(signature) >= sizeof(digest));
  std::copy(digest.begin(), digest.end(), signature.begin());
  return signature;
}

FakeSigner::FakeSigner(const crypto::Digest& secret)
    : secret_(secret), public_key_(FakePublicKey(secret)) {}

crypto::Signature FakeSigner::Sign(std::string_view context, std::string_view chain_id,
                                   std::string_view message) const {
  return FakeSign(secret_, context, chain_id, message);
}

void FakeVerifier::AddKey(const crypto::Digest& secret) {
  const crypto::PublicKey key = FakePublicKey(secret);
  const auto [it, inserted] = secrets_.emplace(key, secret);
  ITMO_CHECK(inserted || it->second == secret);
}

bool FakeVerifier::Verify(const crypto::PublicKey& public_key, std::string_view context,
                          std::string_view chain_id, std::string_view message,
                          const crypto::Signature& signature) const {
  const auto it = secrets_.find(public_key);
  if (it == secrets_.end()) return false;
  return FakeSign(it->second, context, chain_id, message) == signature;
}

}  // namespace itmo::sim

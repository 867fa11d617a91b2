// File: tests/sim/fake_crypto.h
// A cheap deterministic stand-in for Ed25519 so that thousands of seeds run fast: a signature is
// the keyed BLAKE2b-256 of SigningBytes(context, chain_id, message) under a per-key secret, padded
// with zeros to 64 bytes. The verifier knows every secret (it is the whole simulated world), so it
// can check any signature; a key it does not know (a non-validator) never verifies. Twins share one
// FakeSigner secret, exactly as two machines loaded with one key file would. Thread-safety:
// immutable after construction.
#pragma once

#include <cstdint>
#include <map>
#include <string_view>

#include "crypto/digest.h"
#include "crypto/keys.h"
#include "crypto/verifier.h"

namespace itmo::sim {

// The secret of fake key number `index`; the same index always yields the same key.
crypto::Digest FakeSecret(uint64_t index);
crypto::PublicKey FakePublicKey(const crypto::Digest& secret);

class FakeSigner final : public crypto::Signer {
 public:
  explicit FakeSigner(const crypto::Digest& secret);
  const crypto::PublicKey& public_key() const override { return public_key_; }
  crypto::Signature Sign(std::string_view context, std::string_view chain_id,
                         std::string_view message) const override;

 private:
  const crypto::Digest secret_;
  const crypto::PublicKey public_key_;
};

class FakeVerifier final : public crypto::Verifier {
 public:
  // Makes signatures of `secret` verifiable.
  void AddKey(const crypto::Digest& secret);
  bool Verify(const crypto::PublicKey& public_key, std::string_view context,
              std::string_view chain_id, std::string_view message,
              const crypto::Signature& signature) const override;

 private:
  std::map<crypto::PublicKey, crypto::Digest> secrets_;
};

// The fake signature itself (shared by signer and verifier).
crypto::Signature FakeSign(const crypto::Digest& secret, std::string_view context,
                           std::string_view chain_id, std::string_view message);

}  // namespace itmo::sim

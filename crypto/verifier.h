// File: crypto/verifier.h
// Signer and Verifier: the interfaces consensus and the ledger sign and verify through, so that the
// simulator can swap in a cheap deterministic double. Implementations must be thread-safe.
#pragma once

#include <string_view>

#include "crypto/keys.h"

namespace itmo::crypto {

class Signer {
 public:
  virtual ~Signer() = default;
  virtual const PublicKey& public_key() const = 0;
  virtual Signature Sign(std::string_view context, std::string_view chain_id,
                         std::string_view message) const = 0;
};

class Verifier {
 public:
  virtual ~Verifier() = default;
  virtual bool Verify(const PublicKey& public_key, std::string_view context,
                      std::string_view chain_id, std::string_view message,
                      const Signature& signature) const = 0;
};

// Ed25519 through libsodium.
class Ed25519Signer final : public Signer {
 public:
  explicit Ed25519Signer(KeyPair key) : key_(std::move(key)) {}
  const PublicKey& public_key() const override { return key_.public_key(); }
  Signature Sign(std::string_view context, std::string_view chain_id,
                 std::string_view message) const override {
    return key_.Sign(context, chain_id, message);
  }

 private:
  const KeyPair key_;
};

class Ed25519Verifier final : public Verifier {
 public:
  bool Verify(const PublicKey& public_key, std::string_view context, std::string_view chain_id,
              std::string_view message, const Signature& signature) const override {
    return crypto::Verify(public_key, context, chain_id, message, signature);
  }
};

}  // namespace itmo::crypto

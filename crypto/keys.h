// File: crypto/keys.h
// Ed25519 key pairs, domain-separated signatures and key files. Thread-safe: a KeyPair is immutable
// after construction; the free functions share no state.
//
// Every signature covers SigningBytes(context, chain_id, message): the message is never signed raw, so a
// vote can never be replayed as a transaction signature or on another chain (STYLE.md 12).
//
// Example:
//   ITMO_ASSIGN_OR_RETURN(crypto::KeyPair key, crypto::LoadKeyPair("keys/che-registry.key"));
//   crypto::Signature sig = key.Sign(crypto::kContextTransaction, chain_id, body_bytes);
//   bool ok = crypto::Verify(key.public_key(), crypto::kContextTransaction, chain_id, body_bytes, sig);
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/digest.h"  // AsStringView(): PublicKey is the same array type as Digest.

namespace itmo::crypto {

inline constexpr size_t kPublicKeyBytes = 32;
inline constexpr size_t kSeedBytes = 32;
inline constexpr size_t kSignatureBytes = 64;
using PublicKey = std::array<uint8_t, kPublicKeyBytes>;
using Signature = std::array<uint8_t, kSignatureBytes>;

// Signing contexts: one per message kind.
inline constexpr std::string_view kContextTransaction = "itmo/v1/transaction";
inline constexpr std::string_view kContextProposal = "itmo/v1/proposal";
inline constexpr std::string_view kContextVote = "itmo/v1/vote";
inline constexpr std::string_view kContextTimeout = "itmo/v1/timeout";

// The exact bytes a signature covers: "itmo-ledger\0" | u64 len | context | u64 len | chain_id | message.
std::string SigningBytes(std::string_view context, std::string_view chain_id, std::string_view message);

// An Ed25519 key pair. The secret key is wiped on destruction and never printed.
class KeyPair final {
 public:
  // A fresh key from the operating system's CSPRNG.
  static KeyPair Generate();
  // Deterministic key from a 32-byte seed (tests and simulations).
  // Errors: kInvalidArgument unless seed is 32 bytes.
  static absl::StatusOr<KeyPair> FromSeed(std::string_view seed);

  KeyPair(const KeyPair& other);
  KeyPair& operator=(const KeyPair& other);
  ~KeyPair();

  const PublicKey& public_key() const { return public_key_; }
  Signature Sign(std::string_view context, std::string_view chain_id, std::string_view message) const;

  // The 32-byte seed. Only key files and secure channels may see it; never log it.
  std::string SecretSeed() const;

 private:
  KeyPair() = default;
  PublicKey public_key_{};
  std::array<uint8_t, 64> secret_key_{};
};

// Verifies `signature` by `public_key` over SigningBytes(context, chain_id, message).
bool Verify(const PublicKey& public_key, std::string_view context, std::string_view chain_id,
            std::string_view message, const Signature& signature);

// Errors: kInvalidArgument unless exactly 32 (64) bytes.
absl::StatusOr<PublicKey> PublicKeyFromBytes(std::string_view bytes);
absl::StatusOr<Signature> SignatureFromBytes(std::string_view bytes);
std::string_view AsStringView(const Signature& signature);

// Key files hold "itmo-ed25519-v1\npublic <hex>\nsecret <hex seed>\n". Saved with mode 0600 (written to a
// temporary file then renamed, so a crash never leaves half a key). Errors: kAlreadyExists if `path`
// exists, kInternal on I/O errors.
absl::Status SaveKeyPair(const KeyPair& key, const std::string& path);
// Errors: kNotFound, kPermissionDenied if the file is readable by group or others, kInvalidArgument for
// a malformed file (naming the line) or a public key that does not match the secret.
absl::StatusOr<KeyPair> LoadKeyPair(const std::string& path);
// Public key files hold the hex key on one line (or a key file, whose public line is read).
absl::StatusOr<PublicKey> LoadPublicKey(const std::string& path);

}  // namespace itmo::crypto

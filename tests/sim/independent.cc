#include "tests/sim/independent.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "crypto/merkle.h"

namespace itmo::sim {
namespace {

// Little-endian u64 and length-prefixed fields, as docs/consensus.md "Block id" describes.
void PutU64(std::string* out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xffu));
}

void PutBytes(std::string* out, std::string_view bytes) {
  PutU64(out, bytes.size());
  out->append(bytes);
}

std::string VoteBytes(uint64_t epoch, uint64_t round, std::string_view block_id, uint64_t height) {
  std::string out;
  PutBytes(&out, "vote");
  PutU64(&out, epoch);
  PutU64(&out, round);
  PutBytes(&out, block_id);
  PutU64(&out, height);
  return out;
}

std::string TimeoutBytes(uint64_t epoch, uint64_t round, uint64_t high_qc_round) {
  std::string out;
  PutBytes(&out, "timeout");
  PutU64(&out, epoch);
  PutU64(&out, round);
  PutU64(&out, high_qc_round);
  return out;
}

// The digest of what a QC certifies, (epoch, round, block_id, height).
crypto::Digest CertifiedDigest(const v1::QuorumCert& qc) {
  std::string bytes;
  PutBytes(&bytes, "itmo/v1/qc-content");
  PutU64(&bytes, qc.epoch());
  PutU64(&bytes, qc.round());
  PutBytes(&bytes, qc.block_id());
  PutU64(&bytes, qc.height());
  return crypto::Blake2b256(bytes);
}

bool ValidSignature(const crypto::Verifier& verifier, const crypto::PublicKey& key,
                    std::string_view context, std::string_view chain_id, std::string_view message,
                    std::string_view signature) {
  if (signature.size() != crypto::kSignatureBytes) return false;
  crypto::Signature sig{};
  std::copy(signature.begin(), signature.end(), reinterpret_cast<char*>(sig.data()));
  return verifier.Verify(key, context, chain_id, message, sig);
}

uint32_t QuorumOf(size_t validators) {
  ITMO_CHECK(validators >= 1);
  const uint64_t n = validators;
  const uint64_t f = (n - 1) / 3;
  const uint64_t q = (n + f) / 2 + 1;
  ITMO_CHECK(q <= n);
  return static_cast<uint32_t>(q);
}

}  // namespace

IndependentVerifier::IndependentVerifier(std::string chain_id, uint64_t epoch,
                                         std::vector<crypto::PublicKey> keys,
                                         const crypto::Verifier* verifier)
    : chain_id_(std::move(chain_id)),
      epoch_(epoch),
      keys_(std::move(keys)),
      verifier_(verifier),
      quorum_(QuorumOf(keys_.size())) {
  ITMO_CHECK(verifier_ != nullptr);
  ITMO_CHECK(!keys_.empty());
  // The genesis block: parent_id = H("itmo/v1/genesis" | chain_id | epoch), round 0, height 0,
  // the digest and Merkle root of no transactions, certified by the empty round-0 QC.
  std::string seed;
  PutBytes(&seed, "itmo/v1/genesis");
  PutBytes(&seed, chain_id_);
  PutU64(&seed, epoch_);
  const crypto::Digest parent = crypto::Blake2b256(seed);
  std::string payload;
  PutBytes(&payload, "itmo/v1/payload");
  PutU64(&payload, 0);
  v1::BlockHeader header;
  header.set_parent_id(std::string(crypto::AsStringView(parent)));
  header.set_epoch(epoch_);
  header.set_payload_digest(std::string(crypto::AsStringView(crypto::Blake2b256(payload))));
  header.set_tx_root(std::string(crypto::AsStringView(crypto::MerkleRoot({}))));
  v1::QuorumCert empty;
  empty.set_epoch(epoch_);
  genesis_id_ = BlockIdOf(header, empty);
}

crypto::Digest IndependentVerifier::BlockIdOf(const v1::BlockHeader& header,
                                              const v1::QuorumCert& parent_qc) const {
  std::string bytes;
  PutBytes(&bytes, "itmo/v1/block");
  PutBytes(&bytes, header.parent_id());
  PutU64(&bytes, header.round());
  PutU64(&bytes, header.height());
  PutU64(&bytes, header.epoch());
  PutU64(&bytes, header.proposer());
  PutU64(&bytes, static_cast<uint64_t>(header.timestamp_ms()));
  PutBytes(&bytes, header.payload_digest());
  PutBytes(&bytes, header.tx_root());
  PutU64(&bytes, header.executed_height());
  PutBytes(&bytes, header.executed_state_root());
  const crypto::Digest certified = CertifiedDigest(parent_qc);
  bytes.append(crypto::AsStringView(certified));
  return crypto::Blake2b256(bytes);
}

absl::Status IndependentVerifier::Signers(std::string_view bitmap, int signatures,
                                          std::vector<uint32_t>* out) const {
  out->clear();
  if (bitmap.size() != (keys_.size() + 7) / 8) {
    return absl::InvalidArgumentError(absl::StrCat("bitmap of ", bitmap.size(), " bytes"));
  }
  for (uint32_t i = 0; i < bitmap.size() * 8; ++i) {
    if (((static_cast<uint8_t>(bitmap[i / 8]) >> (i % 8)) & 1u) == 0) continue;
    if (i >= keys_.size()) return absl::InvalidArgumentError(absl::StrCat("signer bit ", i));
    out->push_back(i);
  }
  if (out->size() != static_cast<size_t>(signatures)) {
    return absl::InvalidArgumentError(
        absl::StrCat(out->size(), " signer bits for ", signatures, " signatures"));
  }
  if (out->size() < quorum_) {
    return absl::InvalidArgumentError(
        absl::StrCat("only ", out->size(), " signers, quorum is ", quorum_));
  }
  return absl::OkStatus();
}

absl::Status IndependentVerifier::CheckQc(const v1::QuorumCert& qc) const {
  if (qc.epoch() != epoch_) return absl::InvalidArgumentError("qc of another epoch");
  if (qc.round() == 0) {
    const bool genesis = qc.block_id() == crypto::AsStringView(genesis_id_) && qc.height() == 0 &&
                         qc.signers().empty() && qc.signatures_size() == 0;
    return genesis ? absl::OkStatus() : absl::InvalidArgumentError("round-0 qc is not genesis");
  }
  std::vector<uint32_t> signers;
  if (absl::Status s = Signers(qc.signers(), qc.signatures_size(), &signers); !s.ok()) return s;
  const std::string message = VoteBytes(qc.epoch(), qc.round(), qc.block_id(), qc.height());
  for (size_t i = 0; i < signers.size(); ++i) {
    if (!ValidSignature(*verifier_, keys_[signers[i]], crypto::kContextVote, chain_id_, message,
                        qc.signatures(static_cast<int>(i)))) {
      return absl::InvalidArgumentError(absl::StrCat("bad vote signature of ", signers[i]));
    }
  }
  return absl::OkStatus();
}

absl::Status IndependentVerifier::CheckTc(const v1::TimeoutCertificate& tc) const {
  if (tc.epoch() != epoch_) return absl::InvalidArgumentError("tc of another epoch");
  if (tc.round() == 0) return absl::InvalidArgumentError("tc of round 0");
  std::vector<uint32_t> signers;
  if (absl::Status s = Signers(tc.signers(), tc.signatures_size(), &signers); !s.ok()) return s;
  if (tc.high_qc_rounds_size() != tc.signatures_size()) {
    return absl::InvalidArgumentError("tc high_qc_rounds and signatures differ in number");
  }
  for (size_t i = 0; i < signers.size(); ++i) {
    const int k = static_cast<int>(i);
    if (tc.high_qc_rounds(k) >= tc.round()) {
      return absl::InvalidArgumentError("tc high qc round not below its round");
    }
    if (!ValidSignature(*verifier_, keys_[signers[i]], crypto::kContextTimeout, chain_id_,
                        TimeoutBytes(tc.epoch(), tc.round(), tc.high_qc_rounds(k)),
                        tc.signatures(k))) {
      return absl::InvalidArgumentError(absl::StrCat("bad timeout signature of ", signers[i]));
    }
  }
  return absl::OkStatus();
}

uint64_t IndependentVerifier::MaxHighQcRound(const v1::TimeoutCertificate& tc) {
  uint64_t high = 0;
  for (int i = 0; i < tc.high_qc_rounds_size(); ++i) high = std::max(high, tc.high_qc_rounds(i));
  return high;
}

}  // namespace itmo::sim

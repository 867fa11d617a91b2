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

namespace {

template <typename Cert>
crypto::Digest BytesDigest(std::string_view tag, const Cert& cert) {
  std::string bytes;
  PutBytes(&bytes, tag);
  PutBytes(&bytes, cert.SerializeAsString());
  return crypto::Blake2b256(bytes);
}

std::string ProposalBytes(uint64_t epoch, uint64_t round, std::string_view block_id) {
  std::string out;
  PutBytes(&out, "proposal");
  PutU64(&out, epoch);
  PutU64(&out, round);
  PutBytes(&out, block_id);
  return out;
}

}  // namespace

absl::Status IndependentVerifier::CheckQc(const v1::QuorumCert& qc) const {
  const crypto::Digest key = BytesDigest("qc", qc);
  if (auto it = cache_.find(key); it != cache_.end()) {
    return it->second.empty() ? absl::OkStatus() : absl::InvalidArgumentError(it->second);
  }
  const absl::Status status = CheckQcUncached(qc);
  if (cache_.size() >= kCacheMax) cache_.erase(cache_.begin());
  cache_.emplace(key, status.ok() ? std::string() : std::string(status.message()));
  return status;
}

absl::Status IndependentVerifier::CheckTc(const v1::TimeoutCertificate& tc) const {
  const crypto::Digest key = BytesDigest("tc", tc);
  if (auto it = cache_.find(key); it != cache_.end()) {
    return it->second.empty() ? absl::OkStatus() : absl::InvalidArgumentError(it->second);
  }
  const absl::Status status = CheckTcUncached(tc);
  if (cache_.size() >= kCacheMax) cache_.erase(cache_.begin());
  cache_.emplace(key, status.ok() ? std::string() : std::string(status.message()));
  return status;
}

bool IndependentVerifier::Signed(uint32_t signer, std::string_view context,
                                 std::string_view message, std::string_view signature) const {
  ITMO_CHECK(signer < keys_.size());
  return ValidSignature(*verifier_, keys_[signer], context, chain_id_, message, signature);
}

absl::Status IndependentVerifier::CheckQcUncached(const v1::QuorumCert& qc) const {
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

absl::Status IndependentVerifier::CheckTcUncached(const v1::TimeoutCertificate& tc) const {
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

absl::Status IndependentVerifier::CheckVote(const v1::Vote& vote) const {
  if (vote.epoch() != epoch_) return absl::InvalidArgumentError("vote of another epoch");
  if (vote.voter() >= keys_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("voter ", vote.voter(), " out of range"));
  }
  if (vote.round() == 0) return absl::InvalidArgumentError("vote of round 0");
  if (vote.block_id().size() != crypto::kDigestBytes) {
    return absl::InvalidArgumentError("vote block id is not a digest");
  }
  if (!Signed(vote.voter(), crypto::kContextVote,
              VoteBytes(vote.epoch(), vote.round(), vote.block_id(), vote.height()),
              vote.signature())) {
    return absl::InvalidArgumentError(absl::StrCat("bad vote signature of ", vote.voter()));
  }
  return absl::OkStatus();
}

absl::Status IndependentVerifier::CheckTimeout(const v1::Timeout& timeout) const {
  if (timeout.epoch() != epoch_) return absl::InvalidArgumentError("timeout of another epoch");
  if (timeout.signer() >= keys_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("timeout signer ", timeout.signer(), " out of range"));
  }
  if (timeout.high_qc().round() >= timeout.round()) {
    return absl::InvalidArgumentError("timeout high qc round not below its round");
  }
  if (!Signed(timeout.signer(), crypto::kContextTimeout,
              TimeoutBytes(timeout.epoch(), timeout.round(), timeout.high_qc().round()),
              timeout.signature())) {
    return absl::InvalidArgumentError(absl::StrCat("bad timeout signature of ", timeout.signer()));
  }
  if (absl::Status s = CheckQc(timeout.high_qc()); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("timeout high qc: ", s.message()));
  }
  if (timeout.has_high_tc()) {
    if (absl::Status s = CheckTc(timeout.high_tc()); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("timeout high tc: ", s.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status IndependentVerifier::CheckSyncInfo(const v1::SyncInfo& info) const {
  if (info.has_high_qc()) {
    if (absl::Status s = CheckQc(info.high_qc()); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("sync info high qc: ", s.message()));
    }
  }
  if (info.has_high_tc()) {
    if (absl::Status s = CheckTc(info.high_tc()); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("sync info high tc: ", s.message()));
    }
  }
  if (info.has_highest_commit_qc()) {
    if (absl::Status s = CheckQc(info.highest_commit_qc()); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("sync info commit qc: ", s.message()));
    }
  }
  return absl::OkStatus();
}

crypto::Digest IndependentVerifier::PayloadDigestOf(
    const google::protobuf::RepeatedPtrField<std::string>& txs) {
  std::string bytes;
  PutBytes(&bytes, "itmo/v1/payload");
  PutU64(&bytes, static_cast<uint64_t>(txs.size()));
  for (const std::string& tx : txs) PutBytes(&bytes, tx);
  return crypto::Blake2b256(bytes);
}

crypto::Digest IndependentVerifier::TxRootOf(
    const google::protobuf::RepeatedPtrField<std::string>& txs) {
  std::vector<crypto::Digest> leaves;
  leaves.reserve(static_cast<size_t>(txs.size()));
  for (const std::string& tx : txs) leaves.push_back(crypto::LeafHash(tx));
  return crypto::MerkleRoot(leaves);
}

absl::Status IndependentVerifier::CheckBlock(const v1::Block& block) const {
  const v1::BlockHeader& header = block.header();
  const uint64_t round = header.round();
  if (header.epoch() != epoch_) return absl::InvalidArgumentError("block of another epoch");
  if (round == 0 || round <= block.qc().round()) {
    return absl::InvalidArgumentError(
        absl::StrCat("block round ", round, " not above qc round ", block.qc().round()));
  }
  if (header.proposer() != LeaderOf(round)) {
    return absl::InvalidArgumentError(
        absl::StrCat("proposer ", header.proposer(), " is not the leader of round ", round));
  }
  if (header.payload_digest() != crypto::AsStringView(PayloadDigestOf(block.txs())) ||
      header.tx_root() != crypto::AsStringView(TxRootOf(block.txs()))) {
    return absl::InvalidArgumentError("payload digest or tx root does not match the txs");
  }
  if (block.qc().block_id() != header.parent_id()) {
    return absl::InvalidArgumentError("block qc does not name parent_id");
  }
  if (header.executed_height() >= header.height()) {  // Issue 7: executed below the block.
    return absl::InvalidArgumentError("block executed_height not below its height");
  }
  if (absl::Status s = CheckQc(block.qc()); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("block qc: ", s.message()));
  }
  if (block.has_tc()) {
    if (absl::Status s = CheckTc(block.tc()); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("block tc: ", s.message()));
    }
    if (round != block.tc().round() + 1) {
      return absl::InvalidArgumentError("block round does not follow its tc");
    }
  } else if (round != block.qc().round() + 1) {
    return absl::InvalidArgumentError("block round != qc round + 1 and no tc");
  }
  return absl::OkStatus();
}

absl::Status IndependentVerifier::CheckProposal(const v1::Proposal& proposal) const {
  const v1::Block& block = proposal.block();
  if (absl::Status s = CheckBlock(block); !s.ok()) return s;
  const crypto::Digest id = BlockIdOf(block);
  ITMO_CHECK(block.header().proposer() < keys_.size());  // CheckBlock: the round's leader.
  if (!Signed(
          block.header().proposer(), crypto::kContextProposal,
          ProposalBytes(block.header().epoch(), block.header().round(), crypto::AsStringView(id)),
          proposal.signature())) {
    return absl::InvalidArgumentError("bad proposal signature");
  }
  return CheckSyncInfo(proposal.sync_info());
}

absl::Status IndependentVerifier::CheckExtends(const v1::Block& child,
                                               const v1::Block& parent) const {
  const v1::BlockHeader& c = child.header();
  const v1::BlockHeader& p = parent.header();
  if (c.parent_id() != crypto::AsStringView(BlockIdOf(parent)) ||
      child.qc().block_id() != c.parent_id()) {
    return absl::InvalidArgumentError("block does not name its parent");
  }
  if (c.epoch() != p.epoch() || c.height() != p.height() + 1 || c.round() <= p.round() ||
      child.qc().round() != p.round() || child.qc().height() != p.height()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "block (round ", c.round(), ", height ", c.height(), ") does not extend its parent (round ",
        p.round(), ", height ", p.height(), ")"));
  }
  if (c.timestamp_ms() < p.timestamp_ms()) {
    return absl::InvalidArgumentError("block timestamp below its parent's");
  }
  if (c.executed_height() < p.executed_height()) {  // Issue 7: the executed head never goes back.
    return absl::InvalidArgumentError("block executed_height below its parent's");
  }
  return absl::OkStatus();
}

absl::Status IndependentVerifier::CheckCommitted(const v1::CommittedBlock& committed) const {
  const v1::Block& block = committed.block();
  const crypto::Digest id = BlockIdOf(block);
  const v1::QuorumCert& qc = committed.qc();
  if (qc.block_id() != crypto::AsStringView(id) || qc.round() != block.header().round() ||
      qc.height() != block.header().height()) {
    return absl::InvalidArgumentError("committed block: qc does not certify it");
  }
  if (absl::Status s = CheckQc(qc); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("committed block qc: ", s.message()));
  }
  if (!committed.has_child_header()) return absl::OkStatus();
  const v1::BlockHeader& child = committed.child_header();
  const v1::QuorumCert& child_qc = committed.child_qc();
  if (child.parent_id() != crypto::AsStringView(id) ||
      child.round() != block.header().round() + 1 ||
      child_qc.block_id() != crypto::AsStringView(BlockIdOf(child, qc)) ||
      child_qc.round() != child.round() || child_qc.height() != child.height()) {
    return absl::InvalidArgumentError("committed block: child header / qc do not form a 2-chain");
  }
  if (absl::Status s = CheckQc(child_qc); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("committed block child qc: ", s.message()));
  }
  return absl::OkStatus();
}

uint64_t IndependentVerifier::MaxHighQcRound(const v1::TimeoutCertificate& tc) {
  uint64_t high = 0;
  for (int i = 0; i < tc.high_qc_rounds_size(); ++i) high = std::max(high, tc.high_qc_rounds(i));
  return high;
}

}  // namespace itmo::sim

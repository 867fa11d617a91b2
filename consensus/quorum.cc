#include "consensus/quorum.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "consensus/canonical.h"
#include "consensus/limits.h"

namespace itmo::consensus {

uint32_t FaultsMax(uint32_t validators) {
  ITMO_CHECK(validators >= 1);
  ITMO_CHECK(validators <= kValidatorsMax);
  return (validators - 1) / 3;
}

uint32_t QuorumSize(uint32_t validators) {
  const uint32_t f = FaultsMax(validators);
  const uint32_t q = (validators + f) / 2 + 1;
  ITMO_CHECK(q <= validators);
  ITMO_CHECK(2 * q > validators + f);  // Two quorums intersect in an honest validator.
  return q;
}

uint64_t TcHighQcRound(const v1::TimeoutCertificate& tc) {
  uint64_t high = 0;
  for (uint64_t r : tc.high_qc_rounds()) high = std::max(high, r);
  return high;
}

ValidatorSet::ValidatorSet(std::string chain_id, uint64_t epoch,
                           std::vector<crypto::PublicKey> keys, const crypto::Verifier* verifier)
    : chain_id_(std::move(chain_id)),
      epoch_(epoch),
      keys_(std::move(keys)),
      verifier_(verifier),
      faults_max_(FaultsMax(static_cast<uint32_t>(keys_.size()))),
      quorum_(QuorumSize(static_cast<uint32_t>(keys_.size()))),
      genesis_id_(BlockId(GenesisBlock(chain_id_, epoch_))) {
  ITMO_CHECK(verifier_ != nullptr);
  ITMO_CHECK(!keys_.empty());
  ITMO_CHECK(keys_.size() <= kValidatorsMax);
}

const crypto::PublicKey& ValidatorSet::key(uint32_t index) const {
  ITMO_CHECK(index < keys_.size());
  return keys_[index];
}

uint32_t ValidatorSet::LeaderOf(uint64_t round) const {
  const uint32_t leader = static_cast<uint32_t>((round + epoch_) % keys_.size());
  ITMO_CHECK(leader < keys_.size());
  return leader;
}

absl::Status ValidatorSet::CheckBitmap(std::string_view bitmap, int signatures) const {
  const size_t expected_bytes = (keys_.size() + 7) / 8;
  if (bitmap.size() != expected_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("signer bitmap has ", bitmap.size(), " bytes, want ", expected_bytes));
  }
  const std::vector<uint32_t> signers = BitmapSigners(bitmap);
  if (!signers.empty() && signers.back() >= keys_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("signer ", signers.back(), " is not a validator (n = ", keys_.size(), ")"));
  }
  if (signers.size() != static_cast<size_t>(signatures)) {
    return absl::InvalidArgumentError(absl::StrCat("bitmap has ", signers.size(),
                                                   " signers but there are ", signatures,
                                                   " signatures (duplicate or missing signer)"));
  }
  if (signers.size() < quorum_) {
    return absl::InvalidArgumentError(
        absl::StrCat("too few signers: ", signers.size(), " < quorum ", quorum_));
  }
  return absl::OkStatus();
}

void ValidatorSet::Remember(const crypto::Digest& digest, uint64_t round) {
  if (verified_.size() >= kVerifiedCacheMax) {
    // Evict the lowest round: old certificates are the least likely to be seen again.
    auto lowest = verified_.begin();
    for (auto it = verified_.begin(); it != verified_.end(); ++it) {
      if (it->second < lowest->second) lowest = it;
    }
    verified_.erase(lowest);
  }
  verified_[digest] = round;
  ITMO_CHECK(verified_.size() <= kVerifiedCacheMax);
}

absl::Status ValidatorSet::VerifyQc(const v1::QuorumCert& qc) {
  if (qc.epoch() != epoch_) {
    return absl::InvalidArgumentError(
        absl::StrCat("qc epoch ", qc.epoch(), " != current epoch ", epoch_));
  }
  if (qc.round() == 0) {
    // Only the genesis QC lives in round 0, and it carries no signatures.
    if (qc.block_id() != crypto::AsStringView(genesis_id_) || qc.height() != 0 ||
        !qc.signers().empty() || qc.signatures_size() != 0) {
      return absl::InvalidArgumentError("round-0 qc is not the genesis qc");
    }
    return absl::OkStatus();
  }
  if (qc.block_id().size() != crypto::kDigestBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("qc block id has ", qc.block_id().size(), " bytes"));
  }
  const crypto::Digest digest = QcFullDigest(qc);
  if (verified_.contains(digest)) return absl::OkStatus();
  ITMO_RETURN_IF_ERROR(CheckBitmap(qc.signers(), qc.signatures_size()));
  const std::vector<uint32_t> signers = BitmapSigners(qc.signers());
  ITMO_CHECK(signers.size() == static_cast<size_t>(qc.signatures_size()));
  const std::string message = VoteMessage(qc.epoch(), qc.round(), qc.block_id(), qc.height());
  for (size_t i = 0; i < signers.size(); ++i) {
    absl::StatusOr<crypto::Signature> sig =
        crypto::SignatureFromBytes(qc.signatures(static_cast<int>(i)));
    ++verifications_;
    if (!sig.ok() ||
        !verifier_->Verify(keys_[signers[i]], crypto::kContextVote, chain_id_, message, *sig)) {
      return absl::InvalidArgumentError(
          absl::StrCat("qc round ", qc.round(), ": bad signature of validator ", signers[i]));
    }
  }
  Remember(digest, qc.round());
  return absl::OkStatus();
}

absl::Status ValidatorSet::VerifyTc(const v1::TimeoutCertificate& tc) {
  if (tc.epoch() != epoch_) {
    return absl::InvalidArgumentError(
        absl::StrCat("tc epoch ", tc.epoch(), " != current epoch ", epoch_));
  }
  if (tc.round() == 0) return absl::InvalidArgumentError("tc for round 0");
  const crypto::Digest digest = TcFullDigest(tc);
  if (verified_.contains(digest)) return absl::OkStatus();
  ITMO_RETURN_IF_ERROR(CheckBitmap(tc.signers(), tc.signatures_size()));
  if (tc.high_qc_rounds_size() != tc.signatures_size()) {
    return absl::InvalidArgumentError(absl::StrCat("tc has ", tc.high_qc_rounds_size(),
                                                   " high qc rounds for ", tc.signatures_size(),
                                                   " signatures"));
  }
  const std::vector<uint32_t> signers = BitmapSigners(tc.signers());
  ITMO_CHECK(signers.size() == static_cast<size_t>(tc.signatures_size()));
  for (size_t i = 0; i < signers.size(); ++i) {
    const int k = static_cast<int>(i);
    if (tc.high_qc_rounds(k) >= tc.round()) {
      return absl::InvalidArgumentError(absl::StrCat("tc round ", tc.round(), ": high qc round ",
                                                     tc.high_qc_rounds(k), " of validator ",
                                                     signers[i], " is not below it"));
    }
    absl::StatusOr<crypto::Signature> sig = crypto::SignatureFromBytes(tc.signatures(k));
    ++verifications_;
    if (!sig.ok() ||
        !verifier_->Verify(keys_[signers[i]], crypto::kContextTimeout, chain_id_,
                           TimeoutMessage(tc.epoch(), tc.round(), tc.high_qc_rounds(k)), *sig)) {
      return absl::InvalidArgumentError(
          absl::StrCat("tc round ", tc.round(), ": bad signature of validator ", signers[i]));
    }
  }
  Remember(digest, tc.round());
  return absl::OkStatus();
}

absl::Status ValidatorSet::VerifyVote(const v1::Vote& vote) const {
  if (vote.epoch() != epoch_) {
    return absl::InvalidArgumentError(
        absl::StrCat("vote epoch ", vote.epoch(), " != current epoch ", epoch_));
  }
  if (vote.voter() >= keys_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("voter ", vote.voter(), " is not a validator"));
  }
  if (vote.round() == 0 || vote.block_id().size() != crypto::kDigestBytes) {
    return absl::InvalidArgumentError("malformed vote (round 0 or bad block id)");
  }
  absl::StatusOr<crypto::Signature> sig = crypto::SignatureFromBytes(vote.signature());
  if (!sig.ok() ||
      !verifier_->Verify(keys_[vote.voter()], crypto::kContextVote, chain_id_,
                         VoteMessage(vote.epoch(), vote.round(), vote.block_id(), vote.height()),
                         *sig)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad vote signature of validator ", vote.voter(), " round ", vote.round()));
  }
  return absl::OkStatus();
}

absl::Status ValidatorSet::VerifyTimeout(const v1::Timeout& timeout) {
  if (timeout.epoch() != epoch_) {
    return absl::InvalidArgumentError(
        absl::StrCat("timeout epoch ", timeout.epoch(), " != current epoch ", epoch_));
  }
  if (timeout.signer() >= keys_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("timeout signer ", timeout.signer(), " is not a validator"));
  }
  if (timeout.high_qc().round() >= timeout.round()) {
    return absl::InvalidArgumentError(absl::StrCat("timeout round ", timeout.round(),
                                                   " not above its high qc round ",
                                                   timeout.high_qc().round()));
  }
  absl::StatusOr<crypto::Signature> sig = crypto::SignatureFromBytes(timeout.signature());
  if (!sig.ok() ||
      !verifier_->Verify(
          keys_[timeout.signer()], crypto::kContextTimeout, chain_id_,
          TimeoutMessage(timeout.epoch(), timeout.round(), timeout.high_qc().round()), *sig)) {
    return absl::InvalidArgumentError(absl::StrCat("bad timeout signature of validator ",
                                                   timeout.signer(), " round ", timeout.round()));
  }
  return VerifyQc(timeout.high_qc());
}

absl::Status ValidatorSet::VerifyProposalSignature(const v1::Block& block, const crypto::Digest& id,
                                                   std::string_view signature) const {
  const uint32_t proposer = block.header().proposer();
  if (proposer >= keys_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("proposer ", proposer, " is not a validator"));
  }
  absl::StatusOr<crypto::Signature> sig = crypto::SignatureFromBytes(signature);
  if (!sig.ok() ||
      !verifier_->Verify(
          keys_[proposer], crypto::kContextProposal, chain_id_,
          ProposalMessage(block.header().epoch(), block.header().round(), crypto::AsStringView(id)),
          *sig)) {
    return absl::InvalidArgumentError(absl::StrCat("bad proposal signature of validator ", proposer,
                                                   " round ", block.header().round()));
  }
  return absl::OkStatus();
}

VoteCollector::VoteCollector(const ValidatorSet* validators) : validators_(validators) {
  ITMO_CHECK(validators_ != nullptr);
}

absl::StatusOr<std::optional<v1::QuorumCert>> VoteCollector::Add(const v1::Vote& vote) {
  ITMO_CHECK(vote.voter() < validators_->size());
  if (vote.round() < floor_round_) {
    return absl::OutOfRangeError(
        absl::StrCat("vote round ", vote.round(), " below ", floor_round_));
  }
  if (!by_round_.contains(vote.round()) && by_round_.size() >= kCollectorRoundsMax) {
    return absl::ResourceExhaustedError(
        absl::StrCat("collecting votes for ", by_round_.size(), " rounds already"));
  }
  RoundVotes& round = by_round_[vote.round()];
  auto it = round.votes.find(vote.voter());
  if (it != round.votes.end()) {
    if (it->second.block_id() == vote.block_id()) {
      return absl::AlreadyExistsError(absl::StrCat("duplicate vote of ", vote.voter()));
    }
    return absl::InvalidArgumentError(absl::StrCat("equivocation: validator ", vote.voter(),
                                                   " voted twice in round ", vote.round()));
  }
  round.votes.emplace(vote.voter(), vote);
  if (round.certified) return std::optional<v1::QuorumCert>();
  std::vector<uint32_t> signers;
  for (const auto& [voter, v] : round.votes) {
    if (v.block_id() == vote.block_id() && v.height() == vote.height()) signers.push_back(voter);
  }
  if (signers.size() < validators_->quorum()) return std::optional<v1::QuorumCert>();
  ITMO_CHECK(signers.size() == validators_->quorum());
  round.certified = true;
  v1::QuorumCert qc;
  qc.set_epoch(vote.epoch());
  qc.set_round(vote.round());
  qc.set_block_id(vote.block_id());
  qc.set_height(vote.height());
  qc.set_signers(MakeBitmap(signers, validators_->size()));
  for (uint32_t s : signers) qc.add_signatures(round.votes.at(s).signature());
  return std::optional<v1::QuorumCert>(std::move(qc));
}

void VoteCollector::PruneBelow(uint64_t round) {
  floor_round_ = std::max(floor_round_, round);
  while (!by_round_.empty() && by_round_.begin()->first < floor_round_) {
    by_round_.erase(by_round_.begin());
  }
  ITMO_CHECK(by_round_.empty() || by_round_.begin()->first >= floor_round_);
}

TimeoutCollector::TimeoutCollector(const ValidatorSet* validators) : validators_(validators) {
  ITMO_CHECK(validators_ != nullptr);
}

absl::StatusOr<std::optional<v1::TimeoutCertificate>> TimeoutCollector::Add(
    const v1::Timeout& timeout) {
  ITMO_CHECK(timeout.signer() < validators_->size());
  ITMO_CHECK(timeout.high_qc().round() < timeout.round());
  if (timeout.round() < floor_round_) {
    return absl::OutOfRangeError(
        absl::StrCat("timeout round ", timeout.round(), " below ", floor_round_));
  }
  if (!by_round_.contains(timeout.round()) && by_round_.size() >= kCollectorRoundsMax) {
    return absl::ResourceExhaustedError(
        absl::StrCat("collecting timeouts for ", by_round_.size(), " rounds already"));
  }
  RoundTimeouts& round = by_round_[timeout.round()];
  if (round.timeouts.contains(timeout.signer())) {
    return absl::AlreadyExistsError(absl::StrCat("duplicate timeout of ", timeout.signer()));
  }
  round.timeouts.emplace(timeout.signer(), timeout);
  if (round.certified || round.timeouts.size() < validators_->quorum()) {
    return std::optional<v1::TimeoutCertificate>();
  }
  round.certified = true;
  v1::TimeoutCertificate tc;
  tc.set_epoch(timeout.epoch());
  tc.set_round(timeout.round());
  std::vector<uint32_t> signers;
  for (const auto& [signer, t] : round.timeouts) {
    signers.push_back(signer);
    tc.add_high_qc_rounds(t.high_qc().round());
    tc.add_signatures(t.signature());
  }
  tc.set_signers(MakeBitmap(signers, validators_->size()));
  return std::optional<v1::TimeoutCertificate>(std::move(tc));
}

uint32_t TimeoutCollector::SignersOf(uint64_t round) const {
  auto it = by_round_.find(round);
  return it == by_round_.end() ? 0 : static_cast<uint32_t>(it->second.timeouts.size());
}

void TimeoutCollector::PruneBelow(uint64_t round) {
  floor_round_ = std::max(floor_round_, round);
  while (!by_round_.empty() && by_round_.begin()->first < floor_round_) {
    by_round_.erase(by_round_.begin());
  }
  ITMO_CHECK(by_round_.empty() || by_round_.begin()->first >= floor_round_);
}

}  // namespace itmo::consensus

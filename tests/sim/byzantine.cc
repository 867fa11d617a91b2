#include "tests/sim/byzantine.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "consensus/canonical.h"
#include "consensus/limits.h"
#include "crypto/keys.h"
#include "tests/sim/fake_crypto.h"

namespace itmo::sim {
namespace {

constexpr uint64_t kFarFutureRounds = 1'000'000;
constexpr size_t kQcsSeenMax = 16;
constexpr int64_t kFarFutureMs = 1'000'000'000;  // About 11.6 days.

void FlipByte(std::string* bytes, Prng* prng) {
  if (bytes->empty()) {
    bytes->push_back('x');
    return;
  }
  (*bytes)[prng->Below(bytes->size())] ^= static_cast<char>(1 + prng->Below(255));
}

}  // namespace

Corrupter::Corrupter(CorrupterOptions options, Prng* prng)
    : options_(std::move(options)), prng_(prng) {
  ITMO_CHECK(options_.signer != nullptr);
  ITMO_CHECK(prng_ != nullptr);
  ITMO_CHECK(options_.validators > 0);
}

v1::Proposal Corrupter::Resign(v1::Proposal proposal) const {
  v1::Block* block = proposal.mutable_block();
  v1::BlockHeader* header = block->mutable_header();
  header->set_payload_digest(
      std::string(crypto::AsStringView(consensus::PayloadDigest(block->txs()))));
  header->set_tx_root(std::string(crypto::AsStringView(consensus::TxRoot(block->txs()))));
  const crypto::Digest id = consensus::BlockId(*block);
  const crypto::Signature signature = options_.signer->Sign(
      crypto::kContextProposal, options_.chain_id,
      consensus::ProposalMessage(header->epoch(), header->round(), crypto::AsStringView(id)));
  proposal.set_signature(std::string(crypto::AsStringView(signature)));
  return proposal;
}

std::optional<v1::Proposal> Corrupter::Fork(const v1::Proposal& proposal) {
  const v1::Block& block = proposal.block();
  // Any strictly older QC it saw (the further back, the more a lock matters).
  std::vector<const v1::QuorumCert*> older;
  for (const v1::QuorumCert& qc : qcs_seen_) {
    if (qc.round() < block.qc().round()) older.push_back(&qc);
  }
  if (!block.has_tc() || older.empty()) return std::nullopt;
  const v1::QuorumCert* chosen = older[prng_->Below(older.size())];
  v1::Proposal fork = proposal;
  v1::Block* forked = fork.mutable_block();
  *forked->mutable_qc() = *chosen;
  forked->mutable_header()->set_parent_id(chosen->block_id());
  forked->mutable_header()->set_height(chosen->height() + 1);
  return Resign(std::move(fork));
}

std::optional<v1::Proposal> Corrupter::Equivocation(const v1::Proposal& proposal, uint32_t to) {
  const uint64_t round = proposal.block().header().round();
  if (round != equivocation_round_) {
    equivocation_round_ = round;
    equivocation_.reset();
    const v1::QuorumCert& qc = proposal.block().qc();
    if (qcs_seen_.empty() || qcs_seen_.back().round() < qc.round()) {
      if (qcs_seen_.size() >= kQcsSeenMax) qcs_seen_.erase(qcs_seen_.begin());
      qcs_seen_.push_back(qc);
    }
    if (prng_->PerMille(options_.fork_per_mille)) equivocation_ = Fork(proposal);
    if (!equivocation_.has_value() && prng_->PerMille(options_.equivocate_per_mille)) {
      v1::Proposal other = proposal;
      other.mutable_block()->add_txs(absl::StrCat("equivocation/", round, "/", prng_->Next()));
      equivocation_ = Resign(std::move(other));
    }
  }
  if (!equivocation_.has_value()) return std::nullopt;
  // A fork goes to everyone; an equivocation to the upper half of the validators only.
  const bool forked = equivocation_->block().qc().round() != proposal.block().qc().round();
  if (!forked && 2 * to < options_.validators) return std::nullopt;
  return equivocation_;
}

void Corrupter::Damage(v1::ConsensusMessage* message) {
  const uint64_t kind = prng_->Below(3);
  if (message->has_vote()) {
    v1::Vote* vote = message->mutable_vote();
    if (kind == 0) FlipByte(vote->mutable_signature(), prng_);
    if (kind == 1) vote->set_round(vote->round() + kFarFutureRounds);
    if (kind == 2) vote->set_block_id(vote->block_id().substr(0, 7));
  } else if (message->has_timeout()) {
    v1::Timeout* timeout = message->mutable_timeout();
    if (kind == 0) FlipByte(timeout->mutable_signature(), prng_);
    if (kind == 1) timeout->set_round(timeout->round() > 3 ? timeout->round() - 3 : 1 << 30);
    if (kind == 2) timeout->mutable_high_qc()->set_signers(std::string(40, '\xff'));
  } else if (message->has_proposal()) {
    v1::Proposal* proposal = message->mutable_proposal();
    if (kind == 0) FlipByte(proposal->mutable_signature(), prng_);
    if (kind == 1) {
      proposal->mutable_block()->mutable_header()->set_round(proposal->block().header().round() +
                                                             kFarFutureRounds);
    }
    if (kind == 2) proposal->mutable_block()->mutable_header()->clear_parent_id();
  } else if (message->has_tc()) {
    message->mutable_tc()->add_high_qc_rounds(prng_->Next());
  } else if (message->has_sync_info()) {
    message->mutable_sync_info()->mutable_high_qc()->set_round(prng_->Next());
  }
}

std::optional<v1::Proposal> Corrupter::Forge(const v1::Proposal& proposal) {
  const uint64_t round = proposal.block().header().round();
  if (round != forged_round_) {
    forged_round_ = round;
    forged_.reset();
    const bool executed = options_.forge_executed && prng_->PerMille(options_.forge_per_mille);
    const bool future = options_.future_timestamps && prng_->PerMille(options_.forge_per_mille);
    if (executed || future) {
      v1::Proposal forged = proposal;
      v1::BlockHeader* header = forged.mutable_block()->mutable_header();
      if (executed) {
        header->set_executed_height(header->height() - 1);
        header->set_executed_state_root(
            std::string(crypto::AsStringView(FakeSecret(prng_->Next()))));
      }
      if (future) header->set_timestamp_ms(header->timestamp_ms() + kFarFutureMs);
      forged_ = Resign(std::move(forged));
    }
  }
  return forged_;
}

v1::ConsensusMessage Corrupter::Rewrite(const v1::ConsensusMessage& message, uint32_t to) {
  v1::ConsensusMessage out = message;
  if (message.has_proposal()) {
    if (std::optional<v1::Proposal> forged = Forge(message.proposal()); forged.has_value()) {
      ++rewrites_;
      *out.mutable_proposal() = *std::move(forged);
      return out;
    }
    std::optional<v1::Proposal> other = Equivocation(message.proposal(), to);
    if (other.has_value()) {
      ++rewrites_;
      *out.mutable_proposal() = *std::move(other);
      return out;
    }
    if (prng_->PerMille(options_.oversized_per_mille)) {
      ++rewrites_;
      out.mutable_proposal()->mutable_block()->add_txs(
          std::string(consensus::kTxBytesMax + 1, 'o'));
      *out.mutable_proposal() = Resign(out.proposal());
      return out;
    }
  }
  if (prng_->PerMille(options_.bad_signature_per_mille + options_.bad_round_per_mille +
                      options_.malformed_per_mille)) {
    ++rewrites_;
    Damage(&out);
  }
  return out;
}

Spammer::Spammer(std::string chain_id, uint64_t epoch, uint32_t validators, Prng* prng)
    : chain_id_(std::move(chain_id)),
      epoch_(epoch),
      validators_(validators),
      prng_(prng),
      secret_(FakeSecret(kFakeKeyIndex)) {
  ITMO_CHECK(validators_ > 0);
  ITMO_CHECK(prng_ != nullptr);
}

v1::ConsensusMessage Spammer::Make(uint64_t round, const v1::QuorumCert& some_qc) {
  v1::ConsensusMessage message;
  const uint64_t kind = prng_->Below(7);
  const uint32_t claimed = static_cast<uint32_t>(prng_->Below(validators_));
  if (kind == 0) {  // A vote signed by a key outside the validator set, claiming a validator.
    v1::Vote* vote = message.mutable_vote();
    vote->set_epoch(epoch_);
    vote->set_round(round);
    vote->set_block_id(std::string(crypto::AsStringView(FakeSecret(prng_->Next()))));
    vote->set_height(round);
    vote->set_voter(claimed);
    vote->set_signature(std::string(crypto::AsStringView(
        FakeSign(secret_, crypto::kContextVote, chain_id_,
                 consensus::VoteMessage(epoch_, round, vote->block_id(), round)))));
  } else if (kind == 1 || kind == 2) {  // A forged timeout, now or in the far future.
    v1::Timeout* timeout = message.mutable_timeout();
    timeout->set_epoch(epoch_);
    timeout->set_round(kind == 1 ? round : round + kFarFutureRounds);
    *timeout->mutable_high_qc() = some_qc;
    timeout->set_signer(claimed);
    timeout->set_signature(std::string(crypto::AsStringView(
        FakeSign(secret_, crypto::kContextTimeout, chain_id_,
                 consensus::TimeoutMessage(epoch_, timeout->round(), some_qc.round())))));
  } else if (kind == 3) {  // A QC whose round was raised after signing.
    *message.mutable_sync_info()->mutable_high_qc() = some_qc;
    message.mutable_sync_info()->mutable_high_qc()->set_round(some_qc.round() + 2);
  } else if (kind == 4) {  // An abusive retrieval request.
    message.mutable_block_request()->set_block_id(some_qc.block_id());
    message.mutable_block_request()->set_count(UINT32_MAX);
  } else if (kind == 5) {
    message.mutable_sync_request()->set_from_height(0);
    message.mutable_sync_request()->set_count(UINT32_MAX);
  } else {  // A junk TC: signers bitmap that does not match its signatures.
    v1::TimeoutCertificate* tc = message.mutable_tc();
    tc->set_epoch(epoch_);
    tc->set_round(round);
    tc->set_signers(std::string(static_cast<size_t>((validators_ + 7) / 8), '\xff'));
    tc->add_high_qc_rounds(0);
    tc->add_signatures(std::string(64, 's'));
  }
  return message;
}

}  // namespace itmo::sim

#include "tests/sim/adversary.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "consensus/canonical.h"
#include "consensus/events.h"
#include "crypto/keys.h"
#include "tests/sim/fake_crypto.h"

namespace itmo::sim {
namespace {

using consensus::kFromNonValidator;

constexpr size_t kCertsKept = 32;
constexpr size_t kVotesKept = 32;
constexpr size_t kTimeoutRoundsKept = 8;
constexpr size_t kBlocksKept = 128;
constexpr size_t kRequestsKept = 16;
constexpr size_t kSentKept = 16;
constexpr size_t kCommittedKept = 256;
constexpr int64_t kFarFutureMs = 1'000'000'000;

void Flip(std::string* bytes, Prng* prng) {
  if (bytes->empty()) {
    bytes->push_back('x');
    return;
  }
  (*bytes)[prng->Below(bytes->size())] ^= static_cast<char>(1 + prng->Below(255));
}

std::string RandomDigest(Prng* prng) {
  return std::string(crypto::AsStringView(FakeSecret(prng->Next())));
}

template <typename T>
const T& Pick(const std::deque<T>& items, Prng* prng) {
  ITMO_CHECK(!items.empty());
  return items[prng->Below(items.size())];
}

}  // namespace

Adversary::Adversary(AdversaryOptions options, Prng* prng)
    : options_(std::move(options)), prng_(prng) {
  ITMO_CHECK(prng_ != nullptr);
  ITMO_CHECK(options_.validators > 0);
  for (const auto& [index, signer] : options_.keys) {
    ITMO_CHECK(index < options_.validators && signer != nullptr);
    if (KeyOf(index) == nullptr) keys_.push_back(Key{index, signer});
  }
  std::sort(keys_.begin(), keys_.end(),
            [](const Key& a, const Key& b) { return a.index < b.index; });
}

const Adversary::Key* Adversary::AnyKey() {
  return keys_.empty() ? nullptr : &keys_[prng_->Below(keys_.size())];
}

const Adversary::Key* Adversary::KeyOf(uint32_t validator) const {
  for (const Key& key : keys_) {
    if (key.index == validator) return &key;
  }
  return nullptr;
}

const v1::QuorumCert* Adversary::AnyQc() { return qcs_.empty() ? nullptr : &Pick(qcs_, prng_); }

const v1::TimeoutCertificate* Adversary::AnyTc() {
  return tcs_.empty() ? nullptr : &Pick(tcs_, prng_);
}

void Adversary::Observe(uint32_t sender, const v1::ConsensusMessage& message) {
  auto add_qc = [this](const v1::QuorumCert& qc) {
    if (qc.round() == 0) return;
    for (const v1::QuorumCert& known : qcs_) {
      if (known.round() == qc.round()) return;
    }
    if (qcs_.size() >= kCertsKept) qcs_.pop_front();
    qcs_.push_back(qc);
  };
  auto add_tc = [this](const v1::TimeoutCertificate& tc) {
    for (const v1::TimeoutCertificate& known : tcs_) {
      if (known.round() == tc.round()) return;
    }
    if (tcs_.size() >= kCertsKept) tcs_.pop_front();
    tcs_.push_back(tc);
  };
  auto add_block = [this](const v1::Block& block) {
    std::string id(crypto::AsStringView(consensus::BlockId(block)));
    if (blocks_.contains(id)) return;
    if (block_order_.size() >= kBlocksKept) {
      blocks_.erase(block_order_.front());
      block_order_.pop_front();
    }
    block_order_.push_back(id);
    blocks_.emplace(std::move(id), block);
    max_timestamp_ms_ = std::max(max_timestamp_ms_, block.header().timestamp_ms());
  };
  auto add_sync_info = [&](const v1::SyncInfo& info) {
    if (info.has_high_qc()) add_qc(info.high_qc());
    if (info.has_high_tc()) add_tc(info.high_tc());
    if (info.has_highest_commit_qc()) add_qc(info.highest_commit_qc());
  };
  if (message.has_proposal()) {
    add_block(message.proposal().block());
    add_qc(message.proposal().block().qc());
    if (message.proposal().block().has_tc()) add_tc(message.proposal().block().tc());
    add_sync_info(message.proposal().sync_info());
  } else if (message.has_vote()) {
    if (votes_.size() >= kVotesKept) votes_.pop_front();
    votes_.push_back(message.vote());
  } else if (message.has_timeout()) {
    const v1::Timeout& timeout = message.timeout();
    timeouts_[timeout.round()][timeout.signer()] = timeout;
    while (timeouts_.size() > kTimeoutRoundsKept) timeouts_.erase(timeouts_.begin());
    add_qc(timeout.high_qc());
    if (timeout.has_high_tc()) add_tc(timeout.high_tc());
  } else if (message.has_tc()) {
    add_tc(message.tc());
  } else if (message.has_sync_info()) {
    add_sync_info(message.sync_info());
  } else if (message.has_block_request()) {
    if (requests_.size() >= kRequestsKept) requests_.pop_front();
    requests_.emplace_back(sender, message.block_request().block_id());
  } else if (message.has_block_response()) {
    for (const v1::Block& block : message.block_response().blocks()) add_block(block);
  }
  if (sender != kFromNonValidator && !message.has_sync_response()) {
    if (sent_.size() >= kSentKept) sent_.pop_front();
    sent_.emplace_back(sender, message);
  }
}

void Adversary::ObserveCommit(const v1::CommittedBlock& committed) {
  const uint64_t height = committed.block().header().height();
  if (committed_.contains(height)) {
    // Keep the copy with a direct 2-chain proof when there is one.
    if (committed.has_child_header()) committed_[height] = committed;
    return;
  }
  committed_.emplace(height, committed);
  while (committed_.size() > kCommittedKept) committed_.erase(committed_.begin());
  for (const v1::QuorumCert& qc : qcs_) {  // A block certified at this height, abandoned.
    auto block = blocks_.find(qc.block_id());
    if (qc.height() != height || qc.block_id() == committed.qc().block_id() ||
        block == blocks_.end()) {
      continue;
    }
    v1::CommittedBlock sibling;
    *sibling.mutable_block() = block->second;
    *sibling.mutable_qc() = qc;
    siblings_[height] = std::move(sibling);
    while (siblings_.size() > kCommittedKept) siblings_.erase(siblings_.begin());
  }
}

void Adversary::SignVote(const Key& key, v1::Vote* vote) const {
  vote->set_signature(std::string(crypto::AsStringView(key.signer->Sign(
      crypto::kContextVote, options_.chain_id,
      consensus::VoteMessage(vote->epoch(), vote->round(), vote->block_id(), vote->height())))));
}

void Adversary::SignTimeout(const Key& key, v1::Timeout* timeout) const {
  timeout->set_signature(std::string(crypto::AsStringView(key.signer->Sign(
      crypto::kContextTimeout, options_.chain_id,
      consensus::TimeoutMessage(timeout->epoch(), timeout->round(), timeout->high_qc().round())))));
}

v1::QuorumCert Adversary::ForgeQc(const v1::QuorumCert& real, const char** kind) {
  const uint32_t n = options_.validators;
  v1::QuorumCert qc = real;
  switch (prng_->Below(10)) {
    case 0:
      if (!keys_.empty()) {
        *kind = "qc signed by the byzantine keys only (sub-quorum)";
        std::vector<uint32_t> signers;
        qc.clear_signatures();
        for (const Key& key : keys_) {
          signers.push_back(key.index);
          qc.add_signatures(std::string(crypto::AsStringView(key.signer->Sign(
              crypto::kContextVote, options_.chain_id,
              consensus::VoteMessage(qc.epoch(), qc.round(), qc.block_id(), qc.height())))));
        }
        qc.set_signers(consensus::MakeBitmap(signers, n));
        return qc;
      }
      [[fallthrough]];
    case 1:
      *kind = "qc bitmap one byte too long";
      qc.mutable_signers()->push_back('\0');
      return qc;
    case 2:
      if (n % 8 != 0 && !qc.signers().empty()) {
        *kind = "qc bitmap with a signer bit beyond n";
        (*qc.mutable_signers())[qc.signers().size() - 1] |= static_cast<char>(1u << (n % 8));
        qc.add_signatures(std::string(crypto::kSignatureBytes, 's'));
        return qc;
      }
      [[fallthrough]];
    case 3:
      *kind = "qc with one signature more than its bitmap";
      qc.add_signatures(qc.signatures_size() > 0 ? qc.signatures(0) : std::string(64, 's'));
      return qc;
    case 4:
      *kind = "qc with one signature less than its bitmap";
      if (qc.signatures_size() > 0) qc.mutable_signatures()->RemoveLast();
      return qc;
    case 5:
      *kind = "qc with a flipped signature";
      if (qc.signatures_size() > 0) {
        Flip(qc.mutable_signatures(static_cast<int>(prng_->Below(qc.signatures_size()))), prng_);
      }
      return qc;
    case 6:
      *kind = "round-0 qc that is not genesis";
      qc.Clear();
      qc.set_epoch(options_.epoch);
      qc.set_round(0);
      qc.set_block_id(RandomDigest(prng_));
      qc.set_height(1 + prng_->Below(5));
      return qc;
    case 7:
      *kind = "genesis qc of another epoch";
      qc = consensus::GenesisQc(options_.chain_id, options_.epoch);
      qc.set_epoch(options_.epoch + 1);
      return qc;
    case 8:
      *kind = "qc relabelled to another epoch";
      qc.set_epoch(options_.epoch + 1);
      return qc;
    default:
      *kind = "qc with a malformed block id";
      qc.set_block_id(qc.block_id().substr(0, 31));
      return qc;
  }
}

std::optional<v1::TimeoutCertificate> Adversary::TcWithHighRound() {
  const uint32_t n = options_.validators;
  const uint32_t f = (n - 1) / 3;
  const uint32_t q = (n + f) / 2 + 1;
  for (auto it = timeouts_.rbegin(); it != timeouts_.rend(); ++it) {
    const uint64_t round = it->first;
    std::vector<uint32_t> signers;
    absl::btree_map<uint32_t, std::pair<uint64_t, std::string>> parts;
    for (const Key& key : keys_) {
      v1::Timeout mine;
      mine.set_epoch(options_.epoch);
      mine.set_round(round);
      mine.mutable_high_qc()->set_round(round + prng_->Below(3));  // At or above the TC's round.
      SignTimeout(key, &mine);
      parts[key.index] = {mine.high_qc().round(), mine.signature()};
    }
    if (parts.empty()) return std::nullopt;
    for (const auto& [signer, timeout] : it->second) {
      if (parts.size() >= q) break;
      if (!parts.contains(signer)) parts[signer] = {timeout.high_qc().round(), timeout.signature()};
    }
    if (parts.size() < q) continue;
    v1::TimeoutCertificate tc;
    tc.set_epoch(options_.epoch);
    tc.set_round(round);
    for (const auto& [signer, part] : parts) {
      signers.push_back(signer);
      tc.add_high_qc_rounds(part.first);
      tc.add_signatures(part.second);
    }
    tc.set_signers(consensus::MakeBitmap(signers, n));
    return tc;
  }
  return std::nullopt;
}

v1::TimeoutCertificate Adversary::ForgeTc(const v1::TimeoutCertificate& real, const char** kind) {
  const uint32_t n = options_.validators;
  v1::TimeoutCertificate tc = real;
  switch (prng_->Below(9)) {
    case 0:
      if (!keys_.empty()) {
        *kind = "tc signed by the byzantine keys only (sub-quorum)";
        std::vector<uint32_t> signers;
        const uint64_t high = real.high_qc_rounds_size() > 0 ? real.high_qc_rounds(0) : 0;
        tc.clear_signatures();
        tc.clear_high_qc_rounds();
        for (const Key& key : keys_) {
          signers.push_back(key.index);
          tc.add_high_qc_rounds(high);
          tc.add_signatures(std::string(crypto::AsStringView(
              key.signer->Sign(crypto::kContextTimeout, options_.chain_id,
                               consensus::TimeoutMessage(tc.epoch(), tc.round(), high)))));
        }
        tc.set_signers(consensus::MakeBitmap(signers, n));
        return tc;
      }
      [[fallthrough]];
    case 1:
      *kind = "tc bitmap one byte too long";
      tc.mutable_signers()->push_back('\0');
      return tc;
    case 2:
      if (n % 8 != 0 && !tc.signers().empty()) {
        *kind = "tc bitmap with a signer bit beyond n";
        (*tc.mutable_signers())[tc.signers().size() - 1] |= static_cast<char>(1u << (n % 8));
        tc.add_signatures(std::string(crypto::kSignatureBytes, 's'));
        tc.add_high_qc_rounds(0);
        return tc;
      }
      [[fallthrough]];
    case 3:
      *kind = "tc with one signature more than its bitmap";
      tc.add_signatures(tc.signatures_size() > 0 ? tc.signatures(0) : std::string(64, 's'));
      tc.add_high_qc_rounds(0);
      return tc;
    case 4:
      *kind = "tc with a high_qc_round more than its signatures";
      tc.add_high_qc_rounds(tc.round() > 0 ? tc.round() - 1 : 0);
      return tc;
    case 5:
      *kind = "tc with a flipped signature";
      if (tc.signatures_size() > 0) {
        Flip(tc.mutable_signatures(static_cast<int>(prng_->Below(tc.signatures_size()))), prng_);
      }
      return tc;
    case 6:
      if (std::optional<v1::TimeoutCertificate> high = TcWithHighRound(); high.has_value()) {
        *kind = "tc with a signed high qc round at or above its round";
        return *high;
      }
      [[fallthrough]];
    case 7:
      *kind = "tc relabelled to another epoch";
      tc.set_epoch(options_.epoch + 1);
      return tc;
    default:
      *kind = "tc of round 0";
      tc.set_round(0);
      return tc;
  }
}

void Adversary::Sign(const Key& key, v1::Proposal* proposal) const {
  const v1::Block& block = proposal->block();
  const crypto::Digest id = consensus::BlockId(block);
  proposal->set_signature(std::string(crypto::AsStringView(
      key.signer->Sign(crypto::kContextProposal, options_.chain_id,
                       consensus::ProposalMessage(block.header().epoch(), block.header().round(),
                                                  crypto::AsStringView(id))))));
}

v1::Proposal Adversary::MakeProposal(const Key& key, uint64_t round, const v1::QuorumCert& qc,
                                     const v1::TimeoutCertificate* tc, uint64_t now_ms) {
  v1::Proposal proposal;
  v1::Block* block = proposal.mutable_block();
  v1::BlockHeader* header = block->mutable_header();
  header->set_parent_id(qc.block_id());
  header->set_round(round);
  header->set_height(qc.height() + 1);
  header->set_epoch(options_.epoch);
  header->set_proposer(key.index);
  int64_t timestamp = static_cast<int64_t>(now_ms);
  if (auto parent = blocks_.find(qc.block_id()); parent != blocks_.end()) {
    const v1::BlockHeader& ph = parent->second.header();
    timestamp = std::max(timestamp, ph.timestamp_ms());
    header->set_executed_height(ph.executed_height());
    header->set_executed_state_root(ph.executed_state_root());
  } else {
    crypto::Hasher genesis_state;
    genesis_state.Update("itmo-sim/genesis-state");
    header->set_executed_state_root(std::string(crypto::AsStringView(genesis_state.Finish())));
  }
  header->set_timestamp_ms(timestamp);
  block->add_txs(absl::StrCat("junk/", prng_->Next()));
  header->set_payload_digest(
      std::string(crypto::AsStringView(consensus::PayloadDigest(block->txs()))));
  header->set_tx_root(std::string(crypto::AsStringView(consensus::TxRoot(block->txs()))));
  *block->mutable_qc() = qc;
  if (tc != nullptr) *block->mutable_tc() = *tc;
  Sign(key, &proposal);
  return proposal;
}

std::optional<Adversary::Junk> Adversary::MakeVote(uint32_t to) {
  const Key* key = AnyKey();
  if (votes_.empty()) return std::nullopt;
  const v1::Vote base = Pick(votes_, prng_);
  Junk junk;
  junk.to = LeaderOf(base.round() + 1);
  v1::Vote* vote = junk.message.mutable_vote();
  *vote = base;
  const uint64_t kind = prng_->Below(7);
  if (kind == 6 || key == nullptr) {
    junk.kind = "vote by a voter index out of range (from a non-validator)";
    junk.from = kFromNonValidator;
    vote->set_voter(options_.validators + static_cast<uint32_t>(prng_->Below(5)));
    vote->set_signature(std::string(crypto::kSignatureBytes, 'v'));
    return junk;
  }
  junk.from = key->index;
  if (kind == 5) {
    if (base.voter() == key->index || junk.to == key->index) return std::nullopt;
    junk.kind = "honest vote relayed by another validator (from != voter)";
    return junk;
  }
  vote->set_voter(key->index);
  if (kind == 1) vote->set_epoch(options_.epoch + 1);
  if (kind == 2) {
    vote->set_round(0);
    junk.to = LeaderOf(1);
  }
  if (kind == 3) vote->set_block_id(vote->block_id().substr(0, 31));
  SignVote(*key, vote);
  if (kind == 0) Flip(vote->mutable_signature(), prng_);
  if (kind == 4) {
    junk.to = to;
    if (to == LeaderOf(vote->round() + 1)) return std::nullopt;
  }
  if (junk.to == key->index) return std::nullopt;
  static constexpr const char* kKinds[] = {
      "vote with a bad signature", "vote of another epoch (signed)", "vote of round 0 (signed)",
      "vote with a malformed block id (signed)", "vote sent to a replica that is not next leader"};
  junk.kind = kKinds[kind];
  return junk;
}

std::optional<Adversary::Junk> Adversary::MakeTimeout(uint32_t to) {
  const Key* key = AnyKey();
  const v1::QuorumCert* qc = AnyQc();
  if (qc == nullptr) return std::nullopt;
  Junk junk;
  junk.to = to;
  v1::Timeout* timeout = junk.message.mutable_timeout();
  timeout->set_epoch(options_.epoch);
  timeout->set_round(qc->round() + 1 + prng_->Below(3));
  *timeout->mutable_high_qc() = *qc;
  const uint64_t kind = prng_->Below(8);
  if (kind == 6 || key == nullptr) {
    junk.kind = "timeout by a signer index out of range (from a non-validator)";
    junk.from = kFromNonValidator;
    timeout->set_signer(options_.validators + static_cast<uint32_t>(prng_->Below(5)));
    timeout->set_signature(std::string(crypto::kSignatureBytes, 't'));
    return junk;
  }
  junk.from = key->index;
  if (to == key->index) return std::nullopt;
  if (kind == 5) {
    for (auto it = timeouts_.rbegin(); it != timeouts_.rend(); ++it) {
      for (const auto& [signer, honest] : it->second) {
        if (signer == key->index || signer == to) continue;
        *timeout = honest;
        junk.kind = "honest timeout relayed by another validator (from != signer)";
        return junk;
      }
    }
    return std::nullopt;
  }
  timeout->set_signer(key->index);
  const char* cert_kind = "";
  switch (kind) {
    case 0:
      junk.kind = "timeout with a bad signature";
      break;
    case 1:
      junk.kind = "timeout of another epoch (signed)";
      timeout->set_epoch(options_.epoch + 1);
      break;
    case 2:
      junk.kind = "timeout whose high qc is not below its round (signed)";
      timeout->set_round(std::max<uint64_t>(1, qc->round() - prng_->Below(2)));
      break;
    case 3:
      *timeout->mutable_high_qc() = ForgeQc(*qc, &cert_kind);
      timeout->set_round(timeout->high_qc().round() + 1);
      junk.kind = "timeout carrying a forged high qc (signed)";
      break;
    case 4: {
      const v1::TimeoutCertificate* tc = AnyTc();
      if (tc == nullptr) return std::nullopt;
      *timeout->mutable_high_tc() = ForgeTc(*tc, &cert_kind);
      junk.kind = "timeout carrying a forged high tc (signed)";
      break;
    }
    default:
      *timeout->mutable_high_qc() = consensus::GenesisQc(options_.chain_id, options_.epoch);
      timeout->mutable_high_qc()->set_epoch(options_.epoch + 1);
      junk.kind = "timeout carrying a genesis qc of another epoch (signed)";
      break;
  }
  SignTimeout(*key, timeout);
  if (kind == 0) Flip(timeout->mutable_signature(), prng_);
  return junk;
}

std::optional<Adversary::Junk> Adversary::MakeCertificate(uint32_t to) {
  const Key* key = AnyKey();
  const v1::QuorumCert* qc = AnyQc();
  const v1::TimeoutCertificate* tc = AnyTc();
  Junk junk;
  junk.to = to;
  junk.from = key != nullptr && key->index != to ? key->index : kFromNonValidator;
  const char* kind = "";
  switch (prng_->Below(5)) {
    case 0:
      if (tc == nullptr) return std::nullopt;
      *junk.message.mutable_tc() = ForgeTc(*tc, &kind);
      junk.kind = "tc message with a forged tc";
      return junk;
    case 1:
      if (qc == nullptr) return std::nullopt;
      *junk.message.mutable_sync_info()->mutable_high_qc() = ForgeQc(*qc, &kind);
      junk.kind = "sync info with a forged high qc";
      return junk;
    case 2:
      if (tc == nullptr) return std::nullopt;
      *junk.message.mutable_sync_info()->mutable_high_tc() = ForgeTc(*tc, &kind);
      junk.kind = "sync info with a forged high tc";
      return junk;
    case 3:
      if (qc == nullptr) return std::nullopt;
      *junk.message.mutable_sync_info()->mutable_highest_commit_qc() = ForgeQc(*qc, &kind);
      junk.kind = "sync info with a forged commit qc";
      return junk;
    default: {
      std::optional<v1::TimeoutCertificate> high = TcWithHighRound();
      if (!high.has_value()) return std::nullopt;
      *junk.message.mutable_tc() = *high;
      junk.kind = "tc with a signed high qc round at or above its round";
      return junk;
    }
  }
}

std::optional<Adversary::Junk> Adversary::MakeProposalJunk(uint32_t to, uint64_t now_ms,
                                                           uint64_t to_committed) {
  const Key* key = AnyKey();
  if (key == nullptr || qcs_.empty() || to == key->index) return std::nullopt;
  Junk junk;
  junk.to = to;
  junk.from = key->index;
  // A justification this key may propose on: a QC whose next round it leads, or a TC.
  std::vector<const v1::QuorumCert*> led_qcs;
  for (const v1::QuorumCert& qc : qcs_) {
    if (LeaderOf(qc.round() + 1) == key->index) led_qcs.push_back(&qc);
  }
  std::vector<const v1::TimeoutCertificate*> led_tcs;
  for (const v1::TimeoutCertificate& tc : tcs_) {
    if (LeaderOf(tc.round() + 1) == key->index) led_tcs.push_back(&tc);
  }
  const v1::QuorumCert& any_qc = Pick(qcs_, prng_);
  std::optional<v1::Proposal> base;
  if (!led_qcs.empty() && (led_tcs.empty() || prng_->Percent(60))) {
    const v1::QuorumCert& qc = *led_qcs[prng_->Below(led_qcs.size())];
    base = MakeProposal(*key, qc.round() + 1, qc, nullptr, now_ms);
  } else if (!led_tcs.empty()) {
    const v1::TimeoutCertificate& tc = *led_tcs[prng_->Below(led_tcs.size())];
    const v1::QuorumCert* older = nullptr;
    for (const v1::QuorumCert& qc : qcs_) {
      if (qc.round() <= tc.round() && (older == nullptr || qc.round() > older->round())) {
        older = &qc;
      }
    }
    if (older != nullptr) base = MakeProposal(*key, tc.round() + 1, *older, &tc, now_ms);
  }
  const uint64_t kind = prng_->Below(16);
  auto finish = [&](v1::Proposal proposal, const char* what) -> std::optional<Junk> {
    *junk.message.mutable_proposal() = std::move(proposal);
    junk.kind = what;
    return junk;
  };
  if (kind == 1) {  // Needs no leadership: any round this key does not lead.
    if (LeaderOf(any_qc.round() + 1) == key->index) return std::nullopt;
    return finish(MakeProposal(*key, any_qc.round() + 1, any_qc, nullptr, now_ms),
                  "proposal by a validator that does not lead its round (signed)");
  }
  if (kind == 3) {  // A stale TC with a newer QC: round <= qc round.
    for (const v1::TimeoutCertificate* tc : led_tcs) {
      for (const v1::QuorumCert& qc : qcs_) {
        if (qc.round() >= tc->round() + 1) {
          return finish(MakeProposal(*key, tc->round() + 1, qc, tc, now_ms),
                        "proposal with a stale tc and a newer qc (round <= qc round, signed)");
        }
      }
    }
    return std::nullopt;
  }
  if (kind == 9) {  // No TC and a round that skips ahead of the QC.
    for (uint64_t r = any_qc.round() + 2; r < any_qc.round() + 2 + options_.validators; ++r) {
      if (LeaderOf(r) == key->index) {
        return finish(MakeProposal(*key, r, any_qc, nullptr, now_ms),
                      "proposal whose round != qc round + 1 without a tc (signed)");
      }
    }
    return std::nullopt;
  }
  if (!base.has_value()) return std::nullopt;
  v1::Proposal proposal = *std::move(base);
  v1::Block* block = proposal.mutable_block();
  v1::BlockHeader* header = block->mutable_header();
  const char* cert_kind = "";
  switch (kind) {
    case 0:
      Flip(proposal.mutable_signature(), prng_);
      return finish(std::move(proposal), "proposal with a bad signature");
    case 2:
      header->set_epoch(options_.epoch + 1);
      header->set_height(1);
      Sign(*key, &proposal);
      return finish(std::move(proposal), "proposal of another epoch (signed, low height)");
    case 4:
      block->add_txs("smuggled");
      return finish(std::move(proposal), "proposal whose txs do not match its payload digest");
    case 5:
      header->set_parent_id(RandomDigest(prng_));
      header->set_height(1);
      Sign(*key, &proposal);
      return finish(std::move(proposal), "proposal whose parent id its qc does not name (signed)");
    case 6:
      *block->mutable_qc() = ForgeQc(block->qc(), &cert_kind);
      header->set_parent_id(block->qc().block_id());
      Sign(*key, &proposal);
      return finish(std::move(proposal), "proposal with a forged qc (signed)");
    case 7: {
      const v1::TimeoutCertificate* tc = block->has_tc() ? &block->tc() : AnyTc();
      if (tc == nullptr) return std::nullopt;
      const v1::TimeoutCertificate forged = ForgeTc(*tc, &cert_kind);
      *block->mutable_tc() = forged;
      Sign(*key, &proposal);
      return finish(std::move(proposal), "proposal with a forged tc (signed)");
    }
    case 8: {
      if (block->has_tc()) return std::nullopt;
      for (const v1::TimeoutCertificate& tc : tcs_) {
        if (tc.round() + 1 != header->round()) {
          *block->mutable_tc() = tc;
          Sign(*key, &proposal);
          return finish(std::move(proposal), "proposal with a tc it does not follow (signed)");
        }
      }
      return std::nullopt;
    }
    case 10: {
      const v1::QuorumCert* qc = AnyQc();
      *proposal.mutable_sync_info()->mutable_high_qc() = ForgeQc(*qc, &cert_kind);
      Sign(*key, &proposal);
      return finish(std::move(proposal), "proposal with a forged sync info (signed)");
    }
    case 11:
      header->set_height(header->height() + 1);
      Sign(*key, &proposal);
      return finish(std::move(proposal), "proposal with a height its parent does not allow");
    case 12:
      header->set_height(1 + prng_->Below(std::max<uint64_t>(1, to_committed)));
      Sign(*key, &proposal);
      return finish(std::move(proposal), "proposal with a height at or below the committed one");
    case 13: {
      auto parent = blocks_.find(block->qc().block_id());
      if (parent == blocks_.end() || parent->second.header().timestamp_ms() <= 0) {
        return std::nullopt;
      }
      header->set_timestamp_ms(parent->second.header().timestamp_ms() - 1);
      Sign(*key, &proposal);
      return finish(std::move(proposal), "proposal with a timestamp below its parent's");
    }
    case 14:
      if (!options_.forge_executed) return std::nullopt;
      // By the round (no extra PRNG draw): height - 1 (a height only certified, not committed,
      // at the voters), the block's own height or above (VerifyBlock's bound), or 0 below a
      // parent that executed more (CheckExtends' bound).
      header->set_executed_height(
          header->round() % 4 == 3 ? 0 : header->height() - 1 + header->round() % 4);
      header->set_executed_state_root(RandomDigest(prng_));
      Sign(*key, &proposal);
      return finish(std::move(proposal), "proposal with a forged executed height and root");
    default:
      if (!options_.future_timestamps) return std::nullopt;
      header->set_timestamp_ms(static_cast<int64_t>(now_ms) + kFarFutureMs);
      Sign(*key, &proposal);
      return finish(std::move(proposal), "proposal with a timestamp far in the future");
  }
}

std::optional<Adversary::Junk> Adversary::MakeRetrieval(uint32_t to) {
  const Key* key = AnyKey();
  Junk junk;
  junk.to = to;
  junk.from = key != nullptr && key->index != to ? key->index : kFromNonValidator;
  v1::BlockRetrievalResponse* response = junk.message.mutable_block_response();
  const uint64_t kind = prng_->Below(4);
  if (kind == 0 || blocks_.empty()) {
    response->set_block_id(RandomDigest(prng_));
    response->set_status(v1::RETRIEVAL_NOT_FOUND);
    junk.kind = "unsolicited retrieval response (unknown id, not found)";
    return junk;
  }
  if (kind == 1) {
    const std::string& id = Pick(block_order_, prng_);
    response->set_block_id(id);
    response->set_status(v1::RETRIEVAL_SUCCEEDED);
    *response->add_blocks() = blocks_.at(id);
    junk.kind = "retrieval response to nobody's request";
    return junk;
  }
  if (kind == 2) {
    response->set_block_id(std::string(5, 'i'));
    junk.kind = "retrieval response for a malformed id";
    return junk;
  }
  if (requests_.empty()) return std::nullopt;
  const auto& [requester, id] = Pick(requests_, prng_);
  junk.to = requester;
  if (junk.from == requester) return std::nullopt;
  response->set_block_id(id);
  response->set_status(v1::RETRIEVAL_SUCCEEDED);
  auto asked = blocks_.find(id);
  const uint64_t variant = prng_->Below(3);
  if (variant == 0 || asked == blocks_.end()) {
    const std::string& other = Pick(block_order_, prng_);
    if (other == id) return std::nullopt;
    *response->add_blocks() = blocks_.at(other);
    junk.kind = "retrieval response with another block than the one asked for";
    return junk;
  }
  v1::Block* block = response->add_blocks();
  *block = asked->second;
  if (variant == 1 && block->qc().signatures_size() > 0) {
    Flip(block->mutable_qc()->mutable_signatures(0), prng_);  // The id does not cover them.
    junk.kind = "retrieval response: the asked block with a bad qc signature";
  } else {
    block->add_txs("smuggled");  // The id covers the digest, not the txs.
    junk.kind = "retrieval response: the asked block with txs its digest does not match";
  }
  return junk;
}

std::optional<Adversary::Junk> Adversary::MakeSync(uint32_t to, uint64_t to_committed) {
  auto first = committed_.find(to_committed + 1);
  if (first == committed_.end()) return std::nullopt;
  const Key* key = AnyKey();
  Junk junk;
  junk.to = to;
  junk.from = key != nullptr && key->index != to ? key->index : kFromNonValidator;
  v1::SyncResponse* response = junk.message.mutable_sync_response();
  // Up to 3 real committed blocks, the last of them (which carries the proof) tampered with.
  for (auto it = first; it != committed_.end() && response->blocks_size() < 3; ++it) {
    if (it->first != to_committed + 1 + static_cast<uint64_t>(response->blocks_size())) break;
    *response->add_blocks() = it->second;
    if (it->second.has_child_header() && prng_->Percent(50)) break;
  }
  v1::CommittedBlock* last = response->mutable_blocks(response->blocks_size() - 1);
  const uint64_t height = last->block().header().height();
  switch (prng_->Below(7)) {
    case 0:
      if (last->qc().signatures_size() == 0) return std::nullopt;
      Flip(last->mutable_qc()->mutable_signatures(0), prng_);
      junk.kind = "sync response: a commit qc with a bad signature";
      return junk;
    case 1:
      if (!last->has_child_header() || last->child_qc().signatures_size() == 0) {
        return std::nullopt;
      }
      Flip(last->mutable_child_qc()->mutable_signatures(0), prng_);
      junk.kind = "sync response: a child qc with a bad signature";
      return junk;
    case 2:
      if (!last->has_child_header()) return std::nullopt;
      last->mutable_child_header()->set_round(last->child_header().round() + 1);
      junk.kind = "sync response: a child header its child qc does not certify";
      return junk;
    case 3: {
      auto next = committed_.find(height + 1);
      if (next == committed_.end()) return std::nullopt;
      if (response->blocks_size() >= 2) {  // An ancestor, proven by the next block's 2-chain.
        *response->mutable_blocks(0)->mutable_qc() = response->blocks(1).qc();
      } else {  // Alone, as an ancestor (no child proof to contradict the qc).
        last->clear_child_header();
        last->clear_child_qc();
        *last->mutable_qc() = next->second.qc();
      }
      junk.kind = "sync response: the qc of another block";
      return junk;
    }
    case 4:
      if (last->block().qc().signatures_size() == 0) return std::nullopt;
      Flip(last->mutable_block()->mutable_qc()->mutable_signatures(0), prng_);
      junk.kind = "sync response: a block whose own qc has a bad signature";
      return junk;
    case 5:
      last->mutable_block()->add_txs("smuggled");
      junk.kind = "sync response: a block with txs its digest does not match";
      return junk;
    default: {
      // A 2-chain proof made up for the block: a child one round later, "certified" by the
      // byzantine keys only.
      v1::BlockHeader child;
      child.set_parent_id(last->qc().block_id());
      child.set_round(last->block().header().round() + 1);
      child.set_height(height + 1);
      child.set_epoch(options_.epoch);
      child.set_proposer(LeaderOf(child.round()));
      child.set_timestamp_ms(last->block().header().timestamp_ms());
      const crypto::Digest child_id = consensus::BlockId(child, last->qc());
      v1::QuorumCert child_qc;
      child_qc.set_epoch(options_.epoch);
      child_qc.set_round(child.round());
      child_qc.set_block_id(std::string(crypto::AsStringView(child_id)));
      child_qc.set_height(child.height());
      const char* kind = "";
      const v1::QuorumCert forged = ForgeQc(child_qc, &kind);
      *last->mutable_child_header() = child;
      *last->mutable_child_qc() = forged;
      if (keys_.empty()) last->mutable_child_qc()->set_signers(std::string(1, '\x01'));
      junk.kind = "sync response: a made-up 2-chain proof";
      return junk;
    }
  }
}

// A certified block at some validator's next height that was not committed (a sibling of the
// committed one, certified in a round that then timed out), followed by the committed block above
// it: each block carries a valid QC, but the second does not extend the first.
std::optional<Adversary::Junk> Adversary::MakeSiblingSync(
    const std::vector<uint64_t>& committed_heights) {
  for (uint32_t v = 0; v < committed_heights.size(); ++v) {
    if (KeyOf(v) != nullptr) continue;
    auto sibling = siblings_.find(committed_heights[v] + 1);
    if (sibling == siblings_.end()) continue;
    auto above = committed_.find(committed_heights[v] + 2);
    if (above == committed_.end()) continue;
    const Key* key = AnyKey();
    Junk junk;
    junk.to = v;
    junk.from = key != nullptr ? key->index : kFromNonValidator;
    v1::SyncResponse* response = junk.message.mutable_sync_response();
    *response->add_blocks() = sibling->second;
    *response->add_blocks() = above->second;
    junk.kind =
        "sync response: a certified sibling, then a committed block it is not the parent of";
    return junk;
  }
  return std::nullopt;
}

std::optional<Adversary::Junk> Adversary::MakeRequest(uint32_t to) {
  const Key* key = AnyKey();
  Junk junk;
  junk.to = to;
  junk.from = kFromNonValidator;
  const uint64_t kind = prng_->Below(4);
  if ((kind == 0 || kind == 2) && key != nullptr && key->index != to) {
    junk.from = key->index;
    if (kind == 0) {
      junk.message.mutable_block_request()->set_block_id(std::string(7, 'r'));
      junk.message.mutable_block_request()->set_count(1);
      junk.kind = "block request for a malformed id";
    } else {
      junk.message.mutable_sync_request()->set_from_height(0);
      junk.message.mutable_sync_request()->set_count(4);
      junk.kind = "sync request from height 0";
    }
    return junk;
  }
  if (kind % 2 == 1) {
    junk.message.mutable_block_request()->set_block_id(
        block_order_.empty() ? RandomDigest(prng_) : Pick(block_order_, prng_));
    junk.message.mutable_block_request()->set_count(4);
    junk.kind = "block request from a non-validator";
  } else {
    junk.message.mutable_sync_request()->set_from_height(1);
    junk.message.mutable_sync_request()->set_count(4);
    junk.kind = "sync request from a non-validator";
  }
  return junk;
}

// Valid, signed timeouts of the byzantine keys for the next rounds, to every validator: a flood
// that may never make an honest replica join a round's timeout (they are at most f).
std::vector<Adversary::Junk> Adversary::TimeoutFlood() {
  std::vector<Junk> flood;
  if (qcs_.empty() || keys_.empty()) return flood;
  const v1::QuorumCert* high = &qcs_.front();
  for (const v1::QuorumCert& qc : qcs_) {
    if (qc.round() > high->round()) high = &qc;
  }
  for (const Key& key : keys_) {
    for (uint64_t r = high->round() + 1; r <= high->round() + 3; ++r) {
      for (uint32_t to = 0; to < options_.validators; ++to) {
        if (to == key.index) continue;
        Junk junk;
        junk.from = key.index;
        junk.to = to;
        v1::Timeout* timeout = junk.message.mutable_timeout();
        timeout->set_epoch(options_.epoch);
        timeout->set_round(r);
        *timeout->mutable_high_qc() = *high;
        timeout->set_signer(key.index);
        SignTimeout(key, timeout);
        junk.kind = "timeout flood (valid, signed by a byzantine key)";
        flood.push_back(std::move(junk));
      }
    }
  }
  made_ += flood.size();
  return flood;
}

std::optional<Adversary::Junk> Adversary::MakeEcho() {
  if (sent_.empty()) return std::nullopt;
  const auto& [sender, message] = Pick(sent_, prng_);
  if (sender >= options_.validators) return std::nullopt;
  Junk junk;
  junk.from = sender;
  junk.to = sender;
  junk.message = message;
  junk.kind = "a replica's own message echoed back to it";
  return junk;
}

std::optional<Adversary::Junk> Adversary::Make(uint64_t now_ms, uint32_t to,
                                               const std::vector<uint64_t>& committed_heights) {
  ITMO_CHECK(to < options_.validators);
  ITMO_CHECK(committed_heights.size() == options_.validators);
  const uint64_t to_committed_height = committed_heights[to];
  std::optional<Junk> junk;
  const uint64_t pick = prng_->Below(20);
  if (pick % 4 == 0) junk = MakeSiblingSync(committed_heights);  // Rare: whenever possible.
  if (junk.has_value()) {
  } else if (pick < 3) {
    junk = MakeVote(to);
  } else if (pick < 6) {
    junk = MakeTimeout(to);
  } else if (pick < 9) {
    junk = MakeCertificate(to);
  } else if (pick < 14) {
    junk = MakeProposalJunk(to, now_ms, to_committed_height);
  } else if (pick < 16) {
    junk = MakeRetrieval(to);
  } else if (pick < 18) {
    junk = MakeSync(to, to_committed_height);
  } else if (pick < 19) {
    junk = MakeRequest(to);
  } else {
    junk = MakeEcho();
  }
  if (junk.has_value()) {
    ITMO_CHECK(junk->to < options_.validators);
    ++made_;
  }
  return junk;
}

}  // namespace itmo::sim

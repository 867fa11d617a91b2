// File: node/mempool.cc
#include "node/mempool.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "crypto/digest.h"

namespace itmo::node {
namespace {

std::string ClientKey(std::string_view submitter, std::string_view client_tx_id) {
  std::string key;
  key.reserve(submitter.size() + 1 + client_tx_id.size());
  key.append(submitter);
  key.push_back('\0');
  key.append(client_tx_id);
  return key;
}

std::string Digest(std::string_view bytes) {
  return std::string(crypto::AsStringView(crypto::Blake2b256(bytes)));
}

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Mempool::Mempool(const MempoolOptions& options, TxVerifyFn verify, TxAdmitFn admit)
    : options_(options), verify_(std::move(verify)), admit_(std::move(admit)) {
  ITMO_CHECK(options_.txs_max > 0);
  ITMO_CHECK(options_.bytes_max > 0);
  ITMO_CHECK(options_.txs_per_submitter_max > 0);
  ITMO_CHECK(options_.tx_bytes_max > 0);
  ITMO_CHECK(options_.lifetime_ms_max > 0 && options_.lifetime_ms_max <= kTxLifetimeMsMax);
  ITMO_CHECK(verify_ != nullptr);
}

int64_t Mempool::NowMs() const { return options_.now_ms ? options_.now_ms() : SystemNowMs(); }

absl::Status Mempool::CheckDeadline(uint64_t valid_until_ms) const {
  if (valid_until_ms == 0) {
    return absl::InvalidArgumentError(
        "malformed transaction: valid_until_ms (the signed deadline) is required");
  }
  const int64_t now = NowMs();
  const uint64_t now_ms = now > 0 ? static_cast<uint64_t>(now) : 0;
  if (valid_until_ms < now_ms) {
    return absl::InvalidArgumentError(
        absl::StrCat("transaction expired: valid_until_ms ", valid_until_ms, " < now ", now_ms));
  }
  if (valid_until_ms - now_ms > options_.lifetime_ms_max) {
    return absl::InvalidArgumentError(
        absl::StrCat("valid_until_ms ", valid_until_ms, " is more than ", options_.lifetime_ms_max,
                     " ms ahead of now ", now_ms, " (the maximum lifetime)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::pair<v1::SignedTransaction, VerifiedTx>> Mempool::ParseAndVerify(
    std::string_view tx_bytes) {
  if (tx_bytes.size() > options_.tx_bytes_max) {
    return absl::InvalidArgumentError(
        absl::StrCat("REASON_TRANSACTION_TOO_LARGE: transaction too large: ", tx_bytes.size(),
                     " bytes > limit ", options_.tx_bytes_max));
  }
  v1::SignedTransaction tx;
  if (!tx.ParseFromArray(tx_bytes.data(), static_cast<int>(tx_bytes.size()))) {
    return absl::InvalidArgumentError(
        "REASON_MALFORMED_TRANSACTION: malformed transaction: not a SignedTransaction");
  }
  if (tx.body().empty())
    return absl::InvalidArgumentError(
        "REASON_MALFORMED_TRANSACTION: malformed transaction: empty body");
  ITMO_ASSIGN_OR_RETURN(VerifiedTx verified, verify_(tx));
  ITMO_CHECK(!verified.tx_id.empty());
  return std::make_pair(std::move(tx), std::move(verified));
}

absl::Status Mempool::CheckAdmissibleLocked(const VerifiedTx& verified, uint64_t tx_bytes) const {
  mu_.AssertReaderHeld();
  if (by_id_.contains(verified.tx_id)) {
    return absl::AlreadyExistsError(
        "REASON_DUPLICATE_TRANSACTION: duplicate transaction: already pending");
  }
  if (recent_committed_.contains(verified.tx_id)) {
    return absl::AlreadyExistsError(
        "REASON_DUPLICATE_TRANSACTION: duplicate transaction: already committed");
  }
  if (expired_.contains(verified.tx_id)) {
    return absl::InvalidArgumentError("transaction expired: a committed block passed its deadline");
  }
  if (by_client_.contains(ClientKey(verified.submitter, verified.client_tx_id))) {
    return absl::AlreadyExistsError(absl::StrCat(
        "REASON_DUPLICATE_TRANSACTION: duplicate client_tx_id \"", verified.client_tx_id,
        "\" of submitter \"", verified.submitter, "\": already pending"));
  }
  if (entries_.size() >= options_.txs_max) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "mempool full: ", entries_.size(), " transactions (limit ", options_.txs_max, ")"));
  }
  if (bytes_ + tx_bytes > options_.bytes_max) {
    return absl::ResourceExhaustedError(
        absl::StrCat("mempool full: ", bytes_, " bytes (limit ", options_.bytes_max, ")"));
  }
  auto it = per_submitter_.find(verified.submitter);
  if (it != per_submitter_.end() && it->second >= options_.txs_per_submitter_max) {
    return absl::ResourceExhaustedError(absl::StrCat("submitter \"", verified.submitter, "\" has ",
                                                     it->second, " pending transactions (limit ",
                                                     options_.txs_per_submitter_max, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Mempool::Add(std::string tx_bytes, bool gossip) {
  ITMO_ASSIGN_OR_RETURN(auto parsed, ParseAndVerify(tx_bytes));
  // (A duplicate is found only after verification: ids come from the verified body.)
  VerifiedTx& verified = parsed.second;
  ITMO_RETURN_IF_ERROR(CheckDeadline(verified.valid_until_ms));
  if (admit_ != nullptr) ITMO_RETURN_IF_ERROR(admit_(parsed.first, verified));
  std::string digest = Digest(tx_bytes);
  absl::MutexLock lock(&mu_);
  ITMO_RETURN_IF_ERROR(CheckAdmissibleLocked(verified, tx_bytes.size()));
  RememberVerifiedLocked(std::move(digest));
  uint64_t seq = next_seq_++;
  by_id_.emplace(verified.tx_id, seq);
  std::string client_key = ClientKey(verified.submitter, verified.client_tx_id);
  by_client_.emplace(client_key, seq);
  per_submitter_[verified.submitter] += 1;
  bytes_ += tx_bytes.size();
  if (gossip) {
    if (gossip_.size() >= options_.txs_max) gossip_.pop_front();  // Bounded; the pool keeps it.
    gossip_.push_back(tx_bytes);
  }
  auto [entry, inserted] =
      entries_.emplace(seq, Entry{std::move(tx_bytes), verified.tx_id, verified.submitter,
                                  std::move(client_key), 0, verified.valid_until_ms});
  ITMO_CHECK(inserted);
  by_deadline_.insert({verified.valid_until_ms, seq});
  if (auto proposed = proposed_height_.find(verified.tx_id); proposed != proposed_height_.end()) {
    SetInFlightLocked(seq, entry->second, proposed->second);
  }
  ITMO_DCHECK(entries_.size() == by_id_.size());
  return verified.tx_id;
}

absl::StatusOr<VerifiedTx> Mempool::VerifyForProposal(std::string_view tx_bytes) {
  ITMO_ASSIGN_OR_RETURN(auto parsed, ParseAndVerify(tx_bytes));
  std::string digest = Digest(tx_bytes);
  absl::MutexLock lock(&mu_);
  RememberVerifiedLocked(std::move(digest));
  return std::move(parsed.second);
}

bool Mempool::IsVerified(std::string_view tx_bytes) const {
  std::string digest = Digest(tx_bytes);
  absl::MutexLock lock(&mu_);
  return verified_.contains(digest);
}

void Mempool::RememberVerifiedLocked(std::string digest) {
  mu_.AssertHeld();
  if (!verified_.insert(digest).second) return;
  verified_order_.push_back(std::move(digest));
  if (verified_order_.size() > kVerifiedCacheMax) {
    verified_.erase(verified_order_.front());
    verified_order_.pop_front();
  }
  ITMO_DCHECK(verified_.size() == verified_order_.size());
}

std::vector<std::string> Mempool::Batch(uint64_t height, uint32_t txs_max, uint64_t bytes_max,
                                        uint64_t timestamp_ms,
                                        const std::function<bool(const std::string&)>& exclude) {
  ITMO_CHECK(height > 0);
  std::vector<std::string> batch;
  uint64_t total = 0;
  absl::MutexLock lock(&mu_);
  for (auto& [seq, entry] : entries_) {
    if (batch.size() >= txs_max) break;
    if (entry.in_flight_height != 0) continue;
    if (entry.valid_until_ms < timestamp_ms) continue;  // Voters would refuse the block.
    if (exclude != nullptr && exclude(entry.tx_id)) continue;
    if (total + entry.bytes.size() > bytes_max) break;
    total += entry.bytes.size();
    SetInFlightLocked(seq, entry, height);
    batch.push_back(entry.bytes);
  }
  ITMO_CHECK(total <= bytes_max);
  return batch;
}

void Mempool::MarkInFlight(uint64_t height, const std::vector<std::string>& tx_ids) {
  ITMO_CHECK(height > 0);
  absl::MutexLock lock(&mu_);
  for (const std::string& id : tx_ids) {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) {
      RememberProposedLocked(height, id);
      continue;
    }
    Entry& entry = entries_.at(it->second);
    if (entry.in_flight_height == 0 || entry.in_flight_height > height) {
      SetInFlightLocked(it->second, entry, height);
    }
  }
}

void Mempool::RememberProposedLocked(uint64_t height, const std::string& tx_id) {
  mu_.AssertHeld();
  auto [it, inserted] = proposed_height_.try_emplace(tx_id, height);
  if (!inserted) {
    if (it->second <= height) return;
    proposed_.erase({it->second, tx_id});
    it->second = height;
  }
  proposed_.insert({height, tx_id});
  // Bounded: forget the highest heights first (the ones furthest from committing).
  while (proposed_.size() > options_.txs_max) {
    auto last = std::prev(proposed_.end());
    proposed_height_.erase(last->second);
    proposed_.erase(last);
  }
  ITMO_DCHECK(proposed_.size() == proposed_height_.size());
}

void Mempool::SetInFlightLocked(uint64_t seq, Entry& entry, uint64_t height) {
  mu_.AssertHeld();
  if (entry.in_flight_height != 0) in_flight_.erase({entry.in_flight_height, seq});
  entry.in_flight_height = height;
  if (height != 0) in_flight_.insert({height, seq});
}

void Mempool::EraseLocked(uint64_t seq) {
  mu_.AssertHeld();
  auto it = entries_.find(seq);
  ITMO_CHECK(it != entries_.end());
  Entry& entry = it->second;
  if (entry.in_flight_height != 0) in_flight_.erase({entry.in_flight_height, seq});
  by_deadline_.erase({entry.valid_until_ms, seq});
  ITMO_CHECK(bytes_ >= entry.bytes.size());
  bytes_ -= entry.bytes.size();
  by_id_.erase(entry.tx_id);
  by_client_.erase(entry.client_key);
  auto sub = per_submitter_.find(entry.submitter);
  ITMO_CHECK(sub != per_submitter_.end());
  if (--sub->second == 0) per_submitter_.erase(sub);
  entries_.erase(it);
}

void Mempool::RememberCommittedLocked(const std::string& tx_id) {
  mu_.AssertHeld();
  if (!recent_committed_.insert(tx_id).second) return;
  recent_committed_order_.push_back(tx_id);
  if (recent_committed_order_.size() > kRecentCommittedMax) {
    recent_committed_.erase(recent_committed_order_.front());
    recent_committed_order_.pop_front();
  }
  ITMO_DCHECK(recent_committed_.size() == recent_committed_order_.size());
}

void Mempool::ExpireLocked(uint64_t timestamp_ms) {
  mu_.AssertHeld();
  while (!by_deadline_.empty() && by_deadline_.begin()->first < timestamp_ms) {
    const uint64_t seq = by_deadline_.begin()->second;
    const Entry& entry = entries_.at(seq);
    ITMO_CHECK(entry.valid_until_ms < timestamp_ms);
    if (expired_.emplace(entry.tx_id, entry.client_key).second) {
      expired_by_client_[entry.client_key] = entry.tx_id;
      expired_order_.push_back(entry.tx_id);
    }
    ++expired_total_;
    EraseLocked(seq);  // Also erases it from by_deadline_.
  }
  while (expired_order_.size() > kExpiredRememberedMax) {
    auto it = expired_.find(expired_order_.front());
    ITMO_CHECK(it != expired_.end());
    auto client = expired_by_client_.find(it->second);
    if (client != expired_by_client_.end() && client->second == it->first) {
      expired_by_client_.erase(client);
    }
    expired_.erase(it);
    expired_order_.pop_front();
  }
}

void Mempool::RemoveCommitted(uint64_t height, const std::vector<std::string>& tx_ids,
                              uint64_t timestamp_ms) {
  absl::MutexLock lock(&mu_);
  for (const std::string& id : tx_ids) {
    RememberCommittedLocked(id);
    auto it = by_id_.find(id);
    if (it != by_id_.end()) EraseLocked(it->second);
  }
  ExpireLocked(timestamp_ms);
  // A block at `height` committed: any proposal at or below it that is not committed never will be.
  while (!in_flight_.empty() && in_flight_.begin()->first <= height) {
    const uint64_t seq = in_flight_.begin()->second;
    in_flight_.erase(in_flight_.begin());
    Entry& entry = entries_.at(seq);
    entry.in_flight_height = 0;
  }
  while (!proposed_.empty() && proposed_.begin()->first <= height) {
    proposed_height_.erase(proposed_.begin()->second);
    proposed_.erase(proposed_.begin());
  }
  ITMO_DCHECK(in_flight_.size() <= entries_.size());
  ITMO_DCHECK(entries_.size() == by_id_.size());
  ITMO_DCHECK(entries_.size() == by_client_.size());
}

std::vector<std::string> Mempool::TakeGossip(uint64_t txs_max) {
  std::vector<std::string> out;
  absl::MutexLock lock(&mu_);
  while (!gossip_.empty() && out.size() < txs_max) {
    out.push_back(std::move(gossip_.front()));
    gossip_.pop_front();
  }
  return out;
}

bool Mempool::Contains(std::string_view tx_id) const {
  absl::MutexLock lock(&mu_);
  return by_id_.contains(std::string(tx_id));
}

std::string Mempool::FindByClientId(std::string_view submitter,
                                    std::string_view client_tx_id) const {
  absl::MutexLock lock(&mu_);
  auto it = by_client_.find(ClientKey(submitter, client_tx_id));
  if (it == by_client_.end()) return "";
  return entries_.at(it->second).tx_id;
}

std::optional<uint64_t> Mempool::PendingDeadline(std::string_view tx_id) const {
  absl::MutexLock lock(&mu_);
  auto it = by_id_.find(std::string(tx_id));
  if (it == by_id_.end()) return std::nullopt;
  return entries_.at(it->second).valid_until_ms;
}

bool Mempool::IsExpired(std::string_view tx_id) const {
  absl::MutexLock lock(&mu_);
  return expired_.contains(std::string(tx_id));
}

std::string Mempool::FindExpiredByClientId(std::string_view submitter,
                                           std::string_view client_tx_id) const {
  absl::MutexLock lock(&mu_);
  auto it = expired_by_client_.find(ClientKey(submitter, client_tx_id));
  return it == expired_by_client_.end() ? "" : it->second;
}

uint64_t Mempool::expired_total() const {
  absl::MutexLock lock(&mu_);
  return expired_total_;
}

uint64_t Mempool::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

uint64_t Mempool::bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

}  // namespace itmo::node

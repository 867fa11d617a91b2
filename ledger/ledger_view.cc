// LedgerView: the ledger's queries over a RocksDB snapshot (ledger/ledger_view.h).
#include "ledger/ledger_view.h"

#include <utility>

#include "absl/container/btree_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "ledger/internal/keys.h"
#include "ledger/internal/quantity.h"
#include "ledger/limits.h"
#include "ledger/state_root.h"

namespace itmo::ledger {
namespace {

template <typename T>
absl::StatusOr<T> Parse(std::string_view bytes, std::string_view what) {
  T message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat("unparsable ", ToAbsl(what)));
  }
  return message;
}

// The smallest key greater than every key that starts with `prefix` (prefixes end in '/' or '\0').
std::string PrefixEnd(std::string prefix) {
  ITMO_CHECK(!prefix.empty());
  ITMO_CHECK(static_cast<unsigned char>(prefix.back()) < 0xff);
  prefix.back() = static_cast<char>(prefix.back() + 1);
  return prefix;
}

}  // namespace

LedgerView::LedgerView(const storage::Store* store, const Families& families,
                       std::unique_ptr<storage::Snapshot> snapshot)
    : store_(store), families_(families), snapshot_(std::move(snapshot)) {
  ITMO_CHECK(store_ != nullptr);
  ITMO_CHECK(snapshot_ != nullptr);
}

LedgerView::~LedgerView() = default;

absl::Status LedgerView::Init() {
  ITMO_ASSIGN_OR_RETURN(std::optional<std::string> height,
                        store_->Get(families_.meta, internal::kMetaHeight, snapshot_.get()));
  ITMO_ASSIGN_OR_RETURN(std::optional<std::string> hash,
                        store_->Get(families_.meta, internal::kMetaHash, snapshot_.get()));
  if (!height.has_value() || height->size() != 8 || !hash.has_value()) {
    return absl::DataLossError("ledger height or state hash missing");
  }
  height_ = 0;
  for (char c : *height) height_ = (height_ << 8) | static_cast<uint8_t>(c);
  ITMO_ASSIGN_OR_RETURN(LtHash lt_hash, LtHash::Parse(*hash));
  root_ = lt_hash.Root();
  return absl::OkStatus();
}

absl::Status LedgerView::ApplyRevocation(v1::UnitBlock* block) const {
  if (block->state() != v1::UNIT_STATE_AUTHORIZED) return absl::OkStatus();
  ITMO_ASSIGN_OR_RETURN(std::optional<v1::Authorization> a,
                        GetAuthorization(block->authorization_id()));
  if (!a.has_value()) return absl::DataLossError("unit block of an unknown authorization");
  if (a->status() == v1::AUTHORIZATION_REVOKED) block->set_state(v1::UNIT_STATE_REVOKED);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::pair<std::string, v1::UnitBlock>>> LedgerView::BlockContaining(
    const std::string& registry, uint64_t serial) const {
  using Found = std::optional<std::pair<std::string, v1::UnitBlock>>;
  ITMO_ASSIGN_OR_RETURN(auto at,
                        store_->SeekAtOrBefore(families_.state, internal::UnitKey(registry, serial),
                                               snapshot_.get()));
  if (!at.has_value() || !absl::StartsWith(at->first, internal::UnitPrefix(registry))) {
    return Found();
  }
  ITMO_ASSIGN_OR_RETURN(v1::UnitBlock block, Parse<v1::UnitBlock>(at->second, "unit block"));
  ITMO_CHECK(block.first() <= serial);
  if (block.last() < serial) return Found();
  ITMO_RETURN_IF_ERROR(ApplyRevocation(&block));
  return Found(std::make_pair(std::move(at->first), std::move(block)));
}

absl::StatusOr<v1::Holdings> LedgerView::GetHoldings(const v1::AccountRef& account) const {
  ITMO_ASSIGN_OR_RETURN(std::optional<v1::Account> known, GetAccount(account));
  if (!known.has_value()) {
    return absl::NotFoundError(absl::StrCat("REASON_UNKNOWN_ACCOUNT: unknown account ",
                                            account.registry_id(), "/", account.account_id()));
  }
  v1::Holdings holdings;
  *holdings.mutable_account() = account;
  holdings.set_height(height_);
  absl::btree_map<std::pair<uint32_t, int>, std::pair<internal::U128, uint64_t>> totals;
  internal::U128 held = 0;  // 128 bits: an account may hold more than 2^64 units.
  internal::U128 retired = 0;
  const std::string prefix = internal::HolderPrefix(account.registry_id(), account.account_id());
  std::vector<std::string> unit_keys;
  bool too_many = false;
  ITMO_RETURN_IF_ERROR(store_->ScanPrefix(
      families_.index, prefix,
      [&](std::string_view key, std::string_view) {
        if (unit_keys.size() >= kHoldingsBlocksMax) {
          too_many = true;
          return false;
        }
        unit_keys.push_back(absl::StrCat("u/", ToAbsl(key.substr(prefix.size()))));
        return true;
      },
      snapshot_.get()));
  if (too_many) {
    return absl::ResourceExhaustedError(
        absl::StrCat("account holds more than ", kHoldingsBlocksMax, " blocks"));
  }
  for (const std::string& key : unit_keys) {
    ITMO_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                          store_->Get(families_.state, key, snapshot_.get()));
    if (!bytes.has_value()) return absl::DataLossError("holder index names a missing unit block");
    ITMO_ASSIGN_OR_RETURN(v1::UnitBlock block, Parse<v1::UnitBlock>(*bytes, "unit block"));
    ITMO_CHECK(block.holder().account_id() == account.account_id());
    ITMO_RETURN_IF_ERROR(ApplyRevocation(&block));
    const internal::U128 units = static_cast<internal::U128>(block.last() - block.first()) + 1;
    auto& t = totals[{block.vintage(), static_cast<int>(block.state())}];
    t.first += units;
    t.second += 1;
    const v1::UnitState s = block.state();
    const bool is_retired = s == v1::UNIT_STATE_USED_NDC || s == v1::UNIT_STATE_USED_OIMP ||
                            s == v1::UNIT_STATE_CANCELLED;
    (is_retired ? retired : held) += units;
    *holdings.add_blocks() = std::move(block);
  }
  for (const auto& [key, value] : totals) {
    v1::HoldingsTotal* t = holdings.add_totals();
    t->set_vintage(key.first);
    t->set_state(static_cast<v1::UnitState>(key.second));
    t->set_units(internal::U128ToDecimal(value.first));
    t->set_blocks(value.second);
  }
  holdings.set_held_units(internal::U128ToDecimal(held));
  holdings.set_retired_units(internal::U128ToDecimal(retired));
  return holdings;
}

absl::StatusOr<std::vector<v1::UnitHistoryEntry>> LedgerView::GetUnitHistory(
    const std::string& originating_registry, uint64_t serial) const {
  ITMO_ASSIGN_OR_RETURN(auto block, BlockContaining(originating_registry, serial));
  if (!block.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("REASON_UNITS_NOT_FOUND: no unit ", originating_registry, " ", serial));
  }
  std::vector<v1::UnitHistoryEntry> entries;
  bool too_many = false;
  bool corrupt = false;
  ITMO_RETURN_IF_ERROR(store_->ScanPrefix(
      families_.history,
      internal::HistoryPrefix(originating_registry, block->second.issued_first()),
      [&](std::string_view, std::string_view value) {
        v1::UnitHistoryEntry entry;
        if (!entry.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          corrupt = true;
          return false;
        }
        if (entry.range().first() <= serial && serial <= entry.range().last()) {
          if (entries.size() >= kHistoryEntriesMax) {
            too_many = true;
            return false;
          }
          entries.push_back(std::move(entry));
        }
        return true;
      },
      snapshot_.get()));
  if (corrupt) return absl::DataLossError("unparsable unit history entry");
  if (too_many) {
    return absl::ResourceExhaustedError(absl::StrCat("more than ", kHistoryEntriesMax, " entries"));
  }
  return entries;
}

absl::StatusOr<std::vector<v1::Adjustment>> LedgerView::GetAdjustments(const std::string& party,
                                                                       uint32_t year_first,
                                                                       uint32_t year_last) const {
  if (year_first > year_last) {
    return absl::InvalidArgumentError(absl::StrCat("years ", year_first, " > ", year_last));
  }
  const std::string last = internal::AdjustmentKey(party, year_last);
  std::vector<v1::Adjustment> out;
  absl::Status parsed = absl::OkStatus();
  ITMO_RETURN_IF_ERROR(store_->Scan(
      families_.state, internal::AdjustmentKey(party, year_first), "",
      [&](std::string_view key, std::string_view value) {
        if (key > std::string_view(last)) return false;
        absl::StatusOr<v1::Adjustment> a = Parse<v1::Adjustment>(value, "adjustment");
        if (!a.ok()) {
          parsed = a.status();
          return false;
        }
        ITMO_CHECK(a->party() == party);
        out.push_back(std::move(*a));
        return true;
      },
      snapshot_.get()));
  ITMO_RETURN_IF_ERROR(parsed);
  return out;
}

absl::StatusOr<std::optional<v1::TransactionOutcome>> LedgerView::GetOutcome(
    const std::string& submitter, const std::string& client_tx_id) const {
  ITMO_ASSIGN_OR_RETURN(
      std::optional<std::string> bytes,
      store_->Get(families_.outcomes, internal::OutcomeKey(submitter, client_tx_id),
                  snapshot_.get()));
  if (!bytes.has_value()) return std::optional<v1::TransactionOutcome>();
  ITMO_ASSIGN_OR_RETURN(v1::TransactionOutcome outcome,
                        Parse<v1::TransactionOutcome>(*bytes, "outcome"));
  return std::optional<v1::TransactionOutcome>(std::move(outcome));
}

absl::StatusOr<std::optional<v1::UnitBlock>> LedgerView::GetBlockAt(
    const std::string& originating_registry, uint64_t serial) const {
  ITMO_ASSIGN_OR_RETURN(auto block, BlockContaining(originating_registry, serial));
  if (!block.has_value()) return std::optional<v1::UnitBlock>();
  return std::optional<v1::UnitBlock>(std::move(block->second));
}

absl::StatusOr<std::optional<v1::Authorization>> LedgerView::GetAuthorization(
    const std::string& id) const {
  ITMO_ASSIGN_OR_RETURN(
      std::optional<std::string> bytes,
      store_->Get(families_.state, internal::AuthorizationKey(id), snapshot_.get()));
  if (!bytes.has_value()) return std::optional<v1::Authorization>();
  ITMO_ASSIGN_OR_RETURN(v1::Authorization a, Parse<v1::Authorization>(*bytes, "authorization"));
  return std::optional<v1::Authorization>(std::move(a));
}

absl::StatusOr<std::vector<v1::AuthorizationVersion>> LedgerView::GetAuthorizationVersions(
    const std::string& id) const {
  std::vector<v1::AuthorizationVersion> out;
  absl::Status parsed = absl::OkStatus();
  ITMO_RETURN_IF_ERROR(store_->ScanPrefix(
      families_.state, internal::AuthorizationVersionPrefix(id),
      [&](std::string_view, std::string_view value) {
        absl::StatusOr<v1::AuthorizationVersion> v =
            Parse<v1::AuthorizationVersion>(value, "authorization version");
        if (!v.ok()) {
          parsed = v.status();
          return false;
        }
        ITMO_CHECK(v->authorization_id() == id);
        ITMO_CHECK(v->version() == out.size() + 1);  // Versions 1, 2, ... with no gap.
        if (out.size() >= kHistoryEntriesMax) {
          parsed = absl::ResourceExhaustedError(
              absl::StrCat("more than ", kHistoryEntriesMax, " versions: ask for one version"));
          return false;
        }
        out.push_back(std::move(*v));
        return true;
      },
      snapshot_.get()));
  ITMO_RETURN_IF_ERROR(parsed);
  return out;
}

absl::StatusOr<std::optional<v1::Account>> LedgerView::GetAccount(const v1::AccountRef& ref) const {
  ITMO_ASSIGN_OR_RETURN(
      std::optional<std::string> bytes,
      store_->Get(families_.state, internal::AccountKey(ref.registry_id(), ref.account_id()),
                  snapshot_.get()));
  if (!bytes.has_value()) return std::optional<v1::Account>();
  ITMO_ASSIGN_OR_RETURN(v1::Account a, Parse<v1::Account>(*bytes, "account"));
  return std::optional<v1::Account>(std::move(a));
}

absl::StatusOr<crypto::PublicKey> LedgerView::SubmitterKey(v1::SubmitterKind kind,
                                                           const std::string& submitter) const {
  std::optional<std::string> key_bytes;
  if (kind == v1::SUBMITTER_REGISTRY) {
    ITMO_ASSIGN_OR_RETURN(
        std::optional<std::string> bytes,
        store_->Get(families_.state, internal::RegistryKey(submitter), snapshot_.get()));
    if (bytes.has_value()) {
      ITMO_ASSIGN_OR_RETURN(v1::Registry r, Parse<v1::Registry>(*bytes, "registry"));
      key_bytes = r.registry_key();
    }
  } else if (kind == v1::SUBMITTER_PARTY) {
    ITMO_ASSIGN_OR_RETURN(
        std::optional<std::string> bytes,
        store_->Get(families_.state, internal::PartyKey(submitter), snapshot_.get()));
    if (bytes.has_value()) {
      ITMO_ASSIGN_OR_RETURN(v1::Party p, Parse<v1::Party>(*bytes, "party"));
      key_bytes = p.authority_key();
    }
  } else if (kind == v1::SUBMITTER_SECRETARIAT && submitter == "SECRETARIAT") {
    ITMO_ASSIGN_OR_RETURN(key_bytes,
                          store_->Get(families_.state, internal::kSecretariatKey, snapshot_.get()));
  }
  if (!key_bytes.has_value() || key_bytes->empty()) {
    return absl::NotFoundError(absl::StrCat("unknown submitter '", submitter, "'"));
  }
  return crypto::PublicKeyFromBytes(*key_bytes);
}

bool LedgerView::IsClientTxIdUsed(const std::string& submitter,
                                  const std::string& client_tx_id) const {
  auto stored = store_->Get(families_.outcomes, internal::OutcomeKey(submitter, client_tx_id),
                            snapshot_.get());
  return !stored.ok() || stored->has_value();  // A read error counts as used: never a double.
}

absl::StatusOr<Page<std::string>> LedgerView::Scan(
    const std::string& prefix, const PageRequest& page,
    const std::function<bool(std::string_view)>& keep) const {
  if (page.page_size > kPageSizeMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size ", page.page_size, " > ", kPageSizeMax));
  }
  const uint32_t size = page.page_size == 0 ? kPageSizeDefault : page.page_size;
  std::string start = prefix;
  if (!page.page_token.empty()) {
    // The token is the hex of the last key the previous page visited, under the same prefix.
    absl::StatusOr<std::string> after = crypto::FromHex(page.page_token);
    if (!after.ok() || !absl::StartsWith(*after, prefix) || after->size() > storage::kKeyBytesMax) {
      return absl::InvalidArgumentError("page_token was not made by this listing");
    }
    start = *after;
    start.push_back('\0');  // The smallest key after it.
  }
  Page<std::string> out;
  std::string last_visited;
  uint32_t scanned = 0;
  bool more = false;
  ITMO_RETURN_IF_ERROR(store_->Scan(
      families_.state, start, PrefixEnd(prefix),
      [&](std::string_view key, std::string_view value) {
        if (out.items.size() >= size || scanned >= kListScanEntriesMax) {
          more = true;
          return false;
        }
        ++scanned;
        last_visited.assign(key.data(), key.size());
        if (keep(value)) out.items.emplace_back(value);
        return true;
      },
      snapshot_.get()));
  if (more) out.next_page_token = crypto::ToHex(last_visited);
  ITMO_CHECK(out.items.size() <= size);
  return out;
}

absl::StatusOr<Page<v1::Account>> LedgerView::ListAccounts(const AccountFilter& filter,
                                                           const PageRequest& page) const {
  // A registry filter narrows the scan to that registry's keys; a Party filter is applied per
  // entry (bounded by kListScanEntriesMax per call).
  std::string prefix = "a/";
  if (!filter.registry_id.empty()) {
    prefix = internal::AccountKey(filter.registry_id, "");  // "a/<registry>\0".
  }
  absl::Status parsed = absl::OkStatus();
  ITMO_ASSIGN_OR_RETURN(Page<std::string> raw, Scan(prefix, page, [&](std::string_view value) {
                          if (filter.holder_party.empty()) return true;
                          absl::StatusOr<v1::Account> a = Parse<v1::Account>(value, "account");
                          if (!a.ok()) {
                            parsed = a.status();
                            return false;
                          }
                          return a->holder_party() == filter.holder_party;
                        }));
  ITMO_RETURN_IF_ERROR(parsed);
  Page<v1::Account> out;
  out.next_page_token = std::move(raw.next_page_token);
  for (const std::string& bytes : raw.items) {
    ITMO_ASSIGN_OR_RETURN(v1::Account a, Parse<v1::Account>(bytes, "account"));
    out.items.push_back(std::move(a));
  }
  return out;
}

absl::StatusOr<Page<v1::CooperativeApproach>> LedgerView::ListApproaches(
    const PageRequest& page) const {
  ITMO_ASSIGN_OR_RETURN(Page<std::string> raw, Scan(internal::ApproachKey(""), page,
                                                    [](std::string_view) { return true; }));
  Page<v1::CooperativeApproach> out;
  out.next_page_token = std::move(raw.next_page_token);
  for (const std::string& bytes : raw.items) {
    ITMO_ASSIGN_OR_RETURN(auto c, Parse<v1::CooperativeApproach>(bytes, "approach"));
    out.items.push_back(std::move(c));
  }
  return out;
}

absl::StatusOr<Page<v1::Party>> LedgerView::ListParties(const PageRequest& page) const {
  ITMO_ASSIGN_OR_RETURN(Page<std::string> raw,
                        Scan(internal::PartyKey(""), page, [](std::string_view) { return true; }));
  Page<v1::Party> out;
  out.next_page_token = std::move(raw.next_page_token);
  for (const std::string& bytes : raw.items) {
    ITMO_ASSIGN_OR_RETURN(v1::Party p, Parse<v1::Party>(bytes, "party"));
    out.items.push_back(std::move(p));
  }
  return out;
}

}  // namespace itmo::ledger

#include "ledger/state_machine.h"

#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "ledger/internal/executor.h"
#include "ledger/internal/keys.h"
#include "ledger/internal/kv_state.h"
#include "ledger/internal/rep.h"
#include "ledger/limits.h"

namespace itmo::ledger {

using internal::Table;

namespace {

constexpr std::string_view kStateFamily = "ledger_state";
constexpr std::string_view kOutcomesFamily = "ledger_outcomes";
constexpr std::string_view kHistoryFamily = "ledger_history";
constexpr std::string_view kMetaFamily = "ledger_meta";
constexpr std::string_view kIndexFamily = "ledger_index";
using internal::kMetaHash;
using internal::kMetaHeight;
constexpr std::string_view kMetaChainId = "chain_id";

std::string EncodeBe64(uint64_t v) {
  std::string out;
  internal::AppendBe64(out, v);
  return out;
}

absl::StatusOr<uint64_t> DecodeBe64(std::string_view bytes) {
  if (bytes.size() != 8) return absl::DataLossError("stored height is not 8 bytes");
  uint64_t v = 0;
  for (char c : bytes) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}

absl::Status InvalidGenesis(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("invalid genesis: ", ToAbsl(what)));
}

absl::Status ValidateGenesisParties(const v1::Genesis& g, absl::btree_set<std::string>* names) {
  if (static_cast<size_t>(g.parties_size()) > kGenesisEntriesMax ||
      static_cast<size_t>(g.registries_size()) > kGenesisEntriesMax ||
      static_cast<size_t>(g.accounts_size()) > kGenesisEntriesMax ||
      static_cast<size_t>(g.approaches_size()) > kGenesisEntriesMax) {
    return InvalidGenesis("too many entries");
  }
  names->insert("SECRETARIAT");
  for (const v1::Party& p : g.parties()) {
    if (!internal::ValidId(p.code())) {
      return InvalidGenesis(absl::StrCat("party code '", p.code(), "'"));
    }
    if (p.authority_key().size() != crypto::kPublicKeyBytes) {
      return InvalidGenesis(absl::StrCat("authority key of ", p.code()));
    }
    if (!names->insert(p.code()).second) {
      return InvalidGenesis(absl::StrCat("duplicate name ", p.code()));
    }
  }
  for (const v1::Registry& r : g.registries()) {
    if (!internal::ValidId(r.id())) {
      return InvalidGenesis(absl::StrCat("registry id '", r.id(), "'"));
    }
    if (r.registry_key().size() != crypto::kPublicKeyBytes) {
      return InvalidGenesis(absl::StrCat("registry key of ", r.id()));
    }
    if (!r.party().empty() && !names->contains(r.party())) {
      return InvalidGenesis(absl::StrCat("registry ", r.id(), " of unknown Party ", r.party()));
    }
    if (!names->insert(r.id()).second) {
      return InvalidGenesis(absl::StrCat("duplicate name ", r.id()));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateGenesis(const v1::Genesis& g) {
  if (g.chain_id().empty() || g.chain_id().size() > kIdBytesMax) return InvalidGenesis("chain id");
  if (g.secretariat_key().size() != crypto::kPublicKeyBytes) {
    return InvalidGenesis("secretariat key");
  }
  absl::btree_set<std::string> names;
  ITMO_RETURN_IF_ERROR(ValidateGenesisParties(g, &names));
  absl::btree_map<std::string, std::string> registry_party;  // "" for the international one.
  for (const v1::Registry& r : g.registries()) registry_party[r.id()] = r.party();
  absl::btree_set<std::string> accounts;
  for (const v1::Account& a : g.accounts()) {
    // A national registry hosts only its Party's accounts; the international registry any.
    auto host = registry_party.find(a.ref().registry_id());
    if (host != registry_party.end() && !host->second.empty() && host->second != a.holder_party()) {
      return InvalidGenesis(absl::StrCat("account ", a.ref().registry_id(), "/",
                                         a.ref().account_id(), " of ", a.holder_party(),
                                         " in the registry of ", host->second));
    }
    if (!names.contains(a.ref().registry_id()) || !names.contains(a.holder_party()) ||
        !internal::ValidId(a.ref().account_id())) {
      return InvalidGenesis(
          absl::StrCat("account ", a.ref().registry_id(), "/", a.ref().account_id()));
    }
    if (!accounts.insert(internal::AccountKey(a.ref().registry_id(), a.ref().account_id()))
             .second) {
      return InvalidGenesis(absl::StrCat("duplicate account ", a.ref().account_id()));
    }
  }
  absl::btree_set<std::string> approaches;
  for (const v1::CooperativeApproach& c : g.approaches()) {
    if (!internal::ValidId(c.id()) || !approaches.insert(c.id()).second || c.parties().empty()) {
      return InvalidGenesis(absl::StrCat("approach '", c.id(), "'"));
    }
    for (int i = 0; i < c.parties_size(); ++i) {
      if (!names.contains(c.parties(i)) || (i > 0 && c.parties(i - 1) >= c.parties(i))) {
        return InvalidGenesis(absl::StrCat("parties of approach ", c.id()));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

uint32_t YearOfTimestamp(int64_t timestamp_ms) {
  // Days since 1970-01-01, floored; then H. Hinnant's civil_from_days (integer only).
  int64_t days = timestamp_ms / 86'400'000;
  if (timestamp_ms % 86'400'000 < 0) --days;
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (year < 0) year = 0;
  return static_cast<uint32_t>(year);
}

absl::StatusOr<v1::TransactionBody> VerifyTransaction(const v1::SignedTransaction& tx,
                                                      std::string_view chain_id,
                                                      const crypto::Verifier& verifier) {
  internal::Envelope envelope = internal::OpenEnvelope(tx, chain_id, &verifier);
  if (envelope.code != v1::REASON_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat(v1::ReasonCode_Name(envelope.code), ": ", envelope.message));
  }
  return std::move(envelope.body);
}

crypto::Digest TransactionId(const v1::SignedTransaction& tx) {
  return crypto::Blake2b256(ToStd(tx.body()));
}

std::vector<std::string> StateMachine::ColumnFamilies() {
  return {std::string(kStateFamily), std::string(kOutcomesFamily), std::string(kHistoryFamily),
          std::string(kMetaFamily), std::string(kIndexFamily)};
}

absl::Status StateMachine::Rep::Initialize(const v1::Genesis& genesis) {
  ITMO_CHECK(!kv.open());
  ITMO_CHECK(kv.map(Table::kState).empty());
  kv.Begin();
  kv.Put(Table::kState, internal::kChainIdKey, genesis.chain_id());
  kv.Put(Table::kState, internal::kSecretariatKey, genesis.secretariat_key());
  for (const v1::Party& p : genesis.parties()) {
    kv.Put(Table::kState, internal::PartyKey(p.code()), internal::Serialize(p));
  }
  for (const v1::Registry& r : genesis.registries()) {
    kv.Put(Table::kState, internal::RegistryKey(r.id()), internal::Serialize(r));
  }
  for (const v1::Account& a : genesis.accounts()) {
    kv.Put(Table::kState, internal::AccountKey(a.ref().registry_id(), a.ref().account_id()),
           internal::Serialize(a));
  }
  for (const v1::CooperativeApproach& c : genesis.approaches()) {
    kv.Put(Table::kState, internal::ApproachKey(c.id()), internal::Serialize(c));
  }
  storage::WriteBatch batch;
  kv.WriteDirty(&batch, state_family, index_family);
  batch.Put(meta_family, kMetaHeight, EncodeBe64(0));
  batch.Put(meta_family, kMetaHash, kv.hash().Serialize());
  batch.Put(meta_family, kMetaChainId, genesis.chain_id());
  absl::Status written = store->Write(batch, {.sync = true});
  if (!written.ok()) {
    kv.Abort();
    return written;
  }
  kv.Commit();
  height = 0;
  committed_root = kv.hash().Root();
  return absl::OkStatus();
}

absl::Status StateMachine::Rep::Load() {
  ITMO_CHECK(!kv.open());
  ITMO_ASSIGN_OR_RETURN(std::optional<std::string> height_bytes,
                        store->Get(meta_family, kMetaHeight));
  ITMO_CHECK(height_bytes.has_value());
  ITMO_ASSIGN_OR_RETURN(height, DecodeBe64(*height_bytes));
  ITMO_ASSIGN_OR_RETURN(std::optional<std::string> hash_bytes, store->Get(meta_family, kMetaHash));
  if (!hash_bytes) return absl::DataLossError("ledger state hash missing");
  ITMO_ASSIGN_OR_RETURN(LtHash stored, LtHash::Parse(*hash_bytes));
  std::vector<std::pair<std::string, std::string>> index;
  absl::Status scanned =
      store->Scan(state_family, "", "", [&](std::string_view k, std::string_view v) {
        if (k.substr(0, 2) == "u/") {
          v1::UnitBlock b;
          if (b.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
            for (std::string& entry : internal::IndexEntries(b, k.substr(2))) {
              index.emplace_back(std::move(entry), "");
            }
          }
        }
        kv.Load(Table::kState, std::string(k), std::string(v));
        return true;
      });
  ITMO_RETURN_IF_ERROR(scanned);
  if (!(kv.hash() == stored)) {
    return absl::DataLossError(
        absl::StrCat("ledger state at height ", height, " does not match its root"));
  }
  for (auto& [k, v] : index) kv.Load(Table::kIndex, std::move(k), std::move(v));
  committed_root = kv.hash().Root();
  return ReconcileIndex();
}

absl::Status StateMachine::Rep::ReconcileIndex() {
  ITMO_CHECK(!kv.open());
  const internal::KvState::Map& index = kv.map(Table::kIndex);
  storage::WriteBatch batch;
  constexpr uint64_t kChunkOpsMax = storage::kWriteBatchOpsMax / 2;
  absl::Status written = absl::OkStatus();
  auto flush_if_full = [&]() {
    if (batch.count() < kChunkOpsMax) return true;
    written = store->Write(batch, {.sync = true});
    batch.Clear();
    return written.ok();
  };
  auto next = index.begin();
  absl::Status scanned =
      store->Scan(index_family, "", "", [&](std::string_view k, std::string_view) {
        for (; next != index.end() && std::string_view(next->first) < k; ++next) {
          batch.Put(index_family, next->first, next->second);
          if (!flush_if_full()) return false;
        }
        if (next != index.end() && std::string_view(next->first) == k) {
          ++next;
        } else {
          batch.Delete(index_family, k);
          if (!flush_if_full()) return false;
        }
        return true;
      });
  ITMO_RETURN_IF_ERROR(scanned);
  ITMO_RETURN_IF_ERROR(written);
  for (; next != index.end(); ++next) {
    batch.Put(index_family, next->first, next->second);
    if (!flush_if_full()) return written;
  }
  return store->Write(batch, {.sync = true});
}

StateMachine::StateMachine(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
StateMachine::~StateMachine() = default;

absl::StatusOr<std::unique_ptr<StateMachine>> StateMachine::Open(storage::Store* store,
                                                                 const v1::Genesis& genesis,
                                                                 const crypto::Verifier* verifier) {
  ITMO_CHECK(store != nullptr);
  ITMO_CHECK(verifier != nullptr);
  ITMO_RETURN_IF_ERROR(ValidateGenesis(genesis));
  auto rep = std::make_unique<Rep>();
  rep->store = store;
  ITMO_ASSIGN_OR_RETURN(rep->state_family, store->Family(kStateFamily));
  ITMO_ASSIGN_OR_RETURN(rep->meta_family, store->Family(kMetaFamily));
  ITMO_ASSIGN_OR_RETURN(rep->index_family, store->Family(kIndexFamily));
  ITMO_ASSIGN_OR_RETURN(rep->config.outcomes_family, store->Family(kOutcomesFamily));
  ITMO_ASSIGN_OR_RETURN(rep->config.history_family, store->Family(kHistoryFamily));
  rep->config.chain_id = genesis.chain_id();
  rep->config.store = store;
  rep->config.verifier = verifier;
  ITMO_ASSIGN_OR_RETURN(rep->config.secretariat_key,
                        crypto::PublicKeyFromBytes(ToStd(genesis.secretariat_key())));
  ITMO_ASSIGN_OR_RETURN(std::optional<std::string> chain,
                        store->Get(rep->meta_family, kMetaChainId));
  if (!chain.has_value()) {
    ITMO_RETURN_IF_ERROR(rep->Initialize(genesis));
  } else {
    if (*chain != genesis.chain_id()) {
      return absl::FailedPreconditionError(
          absl::StrCat("store holds chain '", *chain, "', genesis is '", genesis.chain_id(), "'"));
    }
    ITMO_RETURN_IF_ERROR(rep->Load());
  }
  return std::unique_ptr<StateMachine>(new StateMachine(std::move(rep)));
}

absl::StatusOr<std::vector<v1::TransactionOutcome>> StateMachine::ExecuteBlock(
    const BlockContext& ctx, const std::vector<v1::SignedTransaction>& txs,
    bool signatures_verified, storage::WriteBatch* batch) {
  ITMO_CHECK(batch != nullptr);
  ITMO_CHECK(!rep_->kv.open());  // REQUIRES: no block pending.
  if (ctx.height != rep_->height + 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("block height ", ctx.height, " does not follow ", rep_->height));
  }
  if (txs.size() > kBlockTxsMax) {
    return absl::ResourceExhaustedError(
        absl::StrCat(txs.size(), " transactions, limit ", kBlockTxsMax));
  }
  rep_->kv.Begin();
  internal::BlockExecutor executor(&rep_->kv, &rep_->config, ctx, batch);
  std::vector<v1::TransactionOutcome> outcomes;
  outcomes.reserve(txs.size());
  // Worst-case write-batch operations of one transaction (history + outcome now, state entries
  // later).
  // (x6: the persisted index entries of every touched block too.)
  constexpr uint64_t kTxOpsWorst = 6 * (kRevokeBlocksMax + 3 * kBlocksTouchedPerTxMax) + 16;
  static_assert(kTxOpsWorst * 2 < storage::kWriteBatchOpsMax);
  for (size_t i = 0; i < txs.size(); ++i) {
    if (batch->count() + rep_->kv.dirty_count() + kTxOpsWorst >= storage::kWriteBatchOpsMax) {
      rep_->kv.Abort();
      return absl::ResourceExhaustedError(
          absl::StrCat("block too large for one write batch at transaction ", i));
    }
    absl::StatusOr<v1::TransactionOutcome> outcome =
        executor.Execute(txs[i], static_cast<uint32_t>(i), signatures_verified);
    if (!outcome.ok()) {
      rep_->kv.Abort();
      return outcome.status();
    }
    outcomes.push_back(std::move(*outcome));
  }
  // The store's WriteBatch has a hard operation limit: refuse (deterministically) rather than
  // crash.
  if (batch->count() + rep_->kv.dirty_count() + 2 >= storage::kWriteBatchOpsMax) {
    rep_->kv.Abort();
    return absl::ResourceExhaustedError(absl::StrCat("block changes ", rep_->kv.dirty_count(),
                                                     " state entries: over the write batch limit"));
  }
  rep_->kv.WriteDirty(batch, rep_->state_family, rep_->index_family);
  batch->Put(rep_->meta_family, kMetaHeight, EncodeBe64(ctx.height));
  batch->Put(rep_->meta_family, kMetaHash, rep_->kv.hash().Serialize());
  rep_->pending_height = ctx.height;
  ITMO_CHECK(outcomes.size() == txs.size());
  return outcomes;
}

void StateMachine::CommitBlock() {
  ITMO_CHECK(rep_->kv.open());
  ITMO_CHECK(rep_->pending_height == rep_->height + 1);
  rep_->kv.Commit();
  rep_->height = rep_->pending_height;
  rep_->committed_root = rep_->kv.hash().Root();
}

void StateMachine::AbortBlock() {
  ITMO_CHECK(rep_->kv.open());
  rep_->kv.Abort();
  ITMO_CHECK(rep_->kv.hash().Root() == rep_->committed_root);
}

bool StateMachine::block_pending() const { return rep_->kv.open(); }

crypto::Digest StateMachine::pending_state_root() const {
  ITMO_CHECK(rep_->kv.open());
  ITMO_CHECK(rep_->pending_height == rep_->height + 1);
  return rep_->kv.hash().Root();
}
uint64_t StateMachine::height() const { return rep_->height; }
crypto::Digest StateMachine::state_root() const { return rep_->committed_root; }
const std::string& StateMachine::chain_id() const { return rep_->config.chain_id; }

}  // namespace itmo::ledger

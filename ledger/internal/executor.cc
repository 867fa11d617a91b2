// The transaction envelope, the submitter and role checks (DOMAIN.md "who signs"), R12 records, and
// the dispatch to the actions (actions.cc, units.cc).
#include "ledger/internal/executor.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/strings.h"
#include "crypto/digest.h"
#include "ledger/internal/keys.h"
#include "ledger/limits.h"

namespace itmo::ledger::internal {
namespace {

constexpr std::string_view kSecretariat = "SECRETARIAT";

std::string KeyHex(const crypto::PublicKey& key) { return crypto::ToHex(key).substr(0, 16); }

Envelope Fail(v1::ReasonCode code, std::string message) {
  Envelope e;
  e.code = code;
  e.message = std::move(message);
  return e;
}

bool Contains(const std::vector<crypto::PublicKey>& keys, const crypto::PublicKey& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

}  // namespace

bool ValidId(std::string_view id) {
  if (id.empty() || id.size() > kIdBytesMax) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == ':';
    if (!ok) return false;
  }
  return true;
}

Check CheckId(std::string_view id, std::string_view what) {
  if (id.size() > kIdBytesMax) {
    return Reject(v1::REASON_FIELD_TOO_LONG,
                  absl::StrCat(ToAbsl(what), " longer than ", kIdBytesMax));
  }
  if (!ValidId(id)) {
    return Reject(v1::REASON_INVALID_FIELD, absl::StrCat(ToAbsl(what), " '", ToAbsl(id),
                                                         "' is empty or has invalid characters"));
  }
  return std::nullopt;
}

Check CheckText(std::string_view text, std::string_view what) {
  if (text.size() > kTextBytesMax) {
    return Reject(v1::REASON_FIELD_TOO_LONG,
                  absl::StrCat(ToAbsl(what), " longer than ", kTextBytesMax));
  }
  return std::nullopt;
}

bool IsTerminal(v1::UnitState state) {
  return state == v1::UNIT_STATE_USED_NDC || state == v1::UNIT_STATE_USED_OIMP ||
         state == v1::UNIT_STATE_CANCELLED || state == v1::UNIT_STATE_REVOKED;
}

Envelope OpenEnvelope(const v1::SignedTransaction& tx, std::string_view chain_id,
                      const crypto::Verifier* verifier) {
  if (tx.body().size() > kTransactionBytesMax) {
    return Fail(
        v1::REASON_TRANSACTION_TOO_LARGE,
        absl::StrCat("body has ", tx.body().size(), " bytes, limit ", kTransactionBytesMax));
  }
  if (tx.signatures_size() == 0) return Fail(v1::REASON_MISSING_SIGNATURE, "no signature");
  if (static_cast<size_t>(tx.signatures_size()) > kSignaturesMax) {
    return Fail(v1::REASON_TOO_MANY_SIGNATURES,
                absl::StrCat(tx.signatures_size(), " signatures, limit ", kSignaturesMax));
  }
  Envelope envelope;
  envelope.signers.reserve(tx.signatures_size());
  bool bad_signature = false;
  for (const v1::Signature& s : tx.signatures()) {
    absl::StatusOr<crypto::PublicKey> key = crypto::PublicKeyFromBytes(ToStd(s.public_key()));
    absl::StatusOr<crypto::Signature> sig = crypto::SignatureFromBytes(ToStd(s.signature()));
    if (!key.ok() || !sig.ok()) return Fail(v1::REASON_BAD_SIGNATURE, "malformed key or signature");
    if (Contains(envelope.signers, *key)) {
      return Fail(v1::REASON_MALFORMED_TRANSACTION,
                  absl::StrCat("key ", KeyHex(*key), " signed twice"));
    }
    if (verifier != nullptr &&
        !verifier->Verify(*key, crypto::kContextTransaction, chain_id, ToStd(tx.body()), *sig)) {
      bad_signature = true;
    }
    envelope.signers.push_back(*key);
  }
  bool parsed = envelope.body.ParseFromString(tx.body());
  if (parsed && envelope.body.chain_id() != ToAbsl(chain_id)) {
    // A body for another chain: its signatures cover another chain id, so say which check failed.
    return Fail(v1::REASON_WRONG_CHAIN_ID, absl::StrCat("chain id '", envelope.body.chain_id(),
                                                        "' is not '", ToAbsl(chain_id), "'"));
  }
  if (bad_signature) return Fail(v1::REASON_BAD_SIGNATURE, "a signature does not verify");
  if (!parsed) return Fail(v1::REASON_MALFORMED_TRANSACTION, "body is not a TransactionBody");
  if (envelope.body.action_case() == v1::TransactionBody::ACTION_NOT_SET) {
    return Fail(v1::REASON_MALFORMED_TRANSACTION, "no action");
  }
  return envelope;
}

void ApplyRevocation(const KvState& kv, v1::UnitBlock* block) {
  if (block->state() != v1::UNIT_STATE_AUTHORIZED) return;
  auto a =
      ReadProto<v1::Authorization>(kv, Table::kState, AuthorizationKey(block->authorization_id()));
  ITMO_CHECK(a.has_value());
  if (a->status() == v1::AUTHORIZATION_REVOKED) block->set_state(v1::UNIT_STATE_REVOKED);
}

std::optional<std::pair<std::string, v1::UnitBlock>> BlockAtOrBefore(const KvState& kv,
                                                                     std::string_view registry,
                                                                     uint64_t serial) {
  const KvState::Map& m = kv.map(Table::kState);
  auto it = m.upper_bound(UnitKey(registry, serial));
  if (it == m.begin()) return std::nullopt;
  --it;
  std::string prefix = UnitPrefix(registry);
  if (it->first.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  v1::UnitBlock block;
  bool parsed = block.ParseFromString(it->second);
  ITMO_CHECK(parsed);
  ITMO_CHECK(block.first() <= serial);
  ApplyRevocation(kv, &block);
  return std::make_pair(it->first, std::move(block));
}

std::optional<std::pair<std::string, v1::UnitBlock>> BlockContaining(const KvState& kv,
                                                                     std::string_view registry,
                                                                     uint64_t serial) {
  auto found = BlockAtOrBefore(kv, registry, serial);
  if (!found.has_value() || found->second.last() < serial) return std::nullopt;
  return found;
}

std::vector<std::string> IndexEntries(const v1::UnitBlock& block, std::string_view suffix) {
  std::vector<std::string> out;
  out.push_back(HolderPrefix(block.holder().registry_id(), block.holder().account_id()) +
                std::string(suffix));
  if (block.state() == v1::UNIT_STATE_AUTHORIZED) {
    out.push_back(AuthIndexPrefix(block.authorization_id()) + std::string(suffix));
    if (block.quarantined()) {
      out.push_back(QuarantineIndexPrefix(block.authorization_id()) + std::string(suffix));
    }
  }
  return out;
}

void PutBlock(KvState* kv, const v1::UnitBlock& block, const v1::UnitBlock* previous) {
  ITMO_CHECK(block.first() <= block.last());
  ITMO_CHECK(previous == nullptr || previous->first() == block.first());
  std::string key = UnitKey(block.originating_registry(), block.first());
  std::string suffix = key.substr(2);
  if (previous != nullptr) {
    kv->Delete(
        Table::kIndex,
        HolderPrefix(previous->holder().registry_id(), previous->holder().account_id()) + suffix);
    // `previous` may be the revoked view of a block stored AUTHORIZED: drop its entries anyway.
    if (!previous->authorization_id().empty()) {
      kv->Delete(Table::kIndex, AuthIndexPrefix(previous->authorization_id()) + suffix);
      kv->Delete(Table::kIndex, QuarantineIndexPrefix(previous->authorization_id()) + suffix);
    }
  }
  for (std::string& entry : IndexEntries(block, suffix)) kv->Put(Table::kIndex, entry, "");
  kv->Put(Table::kState, key, Serialize(block));
}

BlockExecutor::BlockExecutor(KvState* kv, const LedgerConfig* config, const BlockContext& ctx,
                             storage::WriteBatch* batch)
    : kv_(kv), config_(config), ctx_(ctx), year_(YearOfTimestamp(ctx.timestamp_ms)), batch_(batch) {
  ITMO_CHECK(kv_->open());
  ITMO_CHECK(batch_ != nullptr);
}

std::optional<crypto::PublicKey> BlockExecutor::SubmitterKeyOf(
    const v1::TransactionBody& body) const {
  switch (body.submitter_kind()) {
    case v1::SUBMITTER_REGISTRY: {
      auto registry = ReadProto<v1::Registry>(*kv_, Table::kState, RegistryKey(body.submitter()));
      if (!registry) return std::nullopt;
      auto key = crypto::PublicKeyFromBytes(ToStd(registry->registry_key()));
      ITMO_CHECK(key.ok());
      return *key;
    }
    case v1::SUBMITTER_PARTY: {
      auto party = ReadProto<v1::Party>(*kv_, Table::kState, PartyKey(body.submitter()));
      if (!party) return std::nullopt;
      auto key = crypto::PublicKeyFromBytes(ToStd(party->authority_key()));
      ITMO_CHECK(key.ok());
      return *key;
    }
    case v1::SUBMITTER_SECRETARIAT:
      if (body.submitter() != ToAbsl(kSecretariat)) return std::nullopt;
      return config_->secretariat_key;
    default:
      return std::nullopt;
  }
}

absl::StatusOr<v1::TransactionOutcome> BlockExecutor::Execute(const v1::SignedTransaction& tx,
                                                              uint32_t index,
                                                              bool signatures_verified) {
  v1::TransactionOutcome outcome;
  TxState state;
  state.id = crypto::Blake2b256(ToStd(tx.body()));
  state.id_hex = crypto::ToHex(state.id);
  state.index = index;
  outcome.set_tx_id(std::string(crypto::AsStringView(state.id)));
  outcome.set_height(ctx_.height);
  outcome.set_index(index);
  outcome.set_status(v1::TX_REJECTED);
  Envelope envelope =
      OpenEnvelope(tx, config_->chain_id, signatures_verified ? nullptr : config_->verifier);
  if (envelope.code != v1::REASON_OK) {
    outcome.set_code(envelope.code);
    outcome.set_message(envelope.message);
    return outcome;  // Not recorded: the submitter's signature is not established.
  }
  const v1::TransactionBody& body = envelope.body;
  state.body = &body;
  state.signers = std::move(envelope.signers);
  outcome.set_submitter(body.submitter());
  outcome.set_client_tx_id(body.client_tx_id());
  std::optional<crypto::PublicKey> submitter_key = SubmitterKeyOf(body);
  if (!submitter_key) {
    outcome.set_code(v1::REASON_UNKNOWN_SUBMITTER);
    outcome.set_message(absl::StrCat("unknown submitter '", body.submitter(), "'"));
    return outcome;
  }
  if (!Contains(state.signers, *submitter_key)) {
    outcome.set_code(v1::REASON_MISSING_SIGNATURE);
    outcome.set_message(absl::StrCat("submitter '", body.submitter(), "' did not sign"));
    return outcome;
  }
  const std::string& client_id = body.client_tx_id();
  if (client_id.empty() || client_id.size() > kClientTxIdBytesMax ||
      absl::StrContains(client_id, absl::string_view("\0", 1))) {
    outcome.set_code(v1::REASON_INVALID_CLIENT_TX_ID);
    outcome.set_message(
        absl::StrCat("client_tx_id must be 1..", kClientTxIdBytesMax, " bytes, no NUL"));
    return outcome;
  }
  std::string record_key = OutcomeKey(body.submitter(), client_id);
  bool used = block_records_.contains(record_key);
  if (!used) {
    absl::StatusOr<std::optional<std::string>> stored =
        config_->store->Get(config_->outcomes_family, record_key);
    if (!stored.ok()) return stored.status();
    used = stored->has_value();
  }
  if (used) {
    outcome.set_code(v1::REASON_DUPLICATE_TRANSACTION);
    outcome.set_message(
        absl::StrCat("client_tx_id '", client_id, "' of '", body.submitter(), "' already used"));
    return outcome;  // R12: the first outcome stays the stored one.
  }
  KvState::Savepoint savepoint = kv_->MakeSavepoint();
  Check result = CheckRoles(state);
  if (!result) result = Dispatch(state);
  if (result) {
    kv_->RollbackTo(savepoint);
    outcome.set_code(result->code);
    outcome.set_message(std::move(result->message));
  } else {
    outcome.set_status(v1::TX_ACCEPTED);
    outcome.set_code(v1::REASON_OK);
    outcome.set_first_transfer(state.first_transfer);
    for (v1::UnitRange& range : state.affected) *outcome.add_affected() = std::move(range);
  }
  Record(state, &outcome);
  return outcome;
}

void BlockExecutor::Record(const TxState& tx, v1::TransactionOutcome* outcome) {
  ITMO_CHECK(tx.body != nullptr);
  ITMO_CHECK(outcome->status() != v1::TX_STATUS_UNSPECIFIED);
  std::string key = OutcomeKey(tx.body->submitter(), tx.body->client_tx_id());
  batch_->Put(config_->outcomes_family, key, Serialize(*outcome));
  block_records_.insert(std::move(key));
  if (outcome->status() != v1::TX_ACCEPTED) return;
  uint32_t seq = 0;
  for (const v1::UnitHistoryEntry& entry : tx.history) {
    auto block = BlockContaining(*kv_, entry.range().originating_registry(), entry.range().first());
    ITMO_CHECK(block.has_value());
    std::string key =
        HistoryPrefix(entry.range().originating_registry(), block->second.issued_first());
    AppendBe64(key, ctx_.height);
    AppendBe32(key, tx.index);
    AppendBe32(key, seq++);
    batch_->Put(config_->history_family, key, Serialize(entry));
  }
}

Check BlockExecutor::Dispatch(TxState& tx) {
  const v1::TransactionBody& body = *tx.body;
  switch (body.action_case()) {
    case v1::TransactionBody::kRegisterApproach:
      return RegisterApproach(tx, body.register_approach());
    case v1::TransactionBody::kOpenAccount:
      return OpenAccount(tx, body.open_account());
    case v1::TransactionBody::kIssue:
      return Issue(tx, body.issue());
    case v1::TransactionBody::kAuthorize:
      return Authorize(tx, body.authorize());
    case v1::TransactionBody::kChangeAuthorization:
      return ChangeAuthorization(tx, body.change_authorization());
    case v1::TransactionBody::kTransfer:
      return Transfer(tx, body.transfer());
    case v1::TransactionBody::kUse:
      return Use(tx, body.use());
    case v1::TransactionBody::kCancel:
      return Cancel(tx, body.cancel());
    case v1::TransactionBody::kSetQuarantine:
      return SetQuarantine(tx, body.set_quarantine());
    default:
      break;
  }
  ITMO_CHECK(false && "OpenEnvelope rejects a body without action");
  return std::nullopt;
}

}  // namespace itmo::ledger::internal

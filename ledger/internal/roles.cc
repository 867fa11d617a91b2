// Who must sign which action (DOMAIN.md table) and which submitter owns it.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/strings.h"
#include "crypto/digest.h"
#include "ledger/internal/executor.h"
#include "ledger/internal/keys.h"
#include "ledger/limits.h"

namespace itmo::ledger::internal {
namespace {

std::string_view KindName(v1::SubmitterKind kind) {
  switch (kind) {
    case v1::SUBMITTER_REGISTRY:
      return "a registry";
    case v1::SUBMITTER_PARTY:
      return "a Party";
    case v1::SUBMITTER_SECRETARIAT:
      return "the secretariat";
    default:
      return "nobody";
  }
}

Check NeedKind(const v1::TransactionBody& body, v1::SubmitterKind kind) {
  if (body.submitter_kind() == kind) return std::nullopt;
  return Reject(v1::REASON_SUBMITTER_MISMATCH,
                absl::StrCat("this action is submitted by ", ToAbsl(KindName(kind)), ", not by '",
                             body.submitter(), "'"));
}

Check NeedOwner(const v1::TransactionBody& body, const std::string& owner, std::string_view what) {
  if (body.submitter() == owner) return std::nullopt;
  return Reject(
      v1::REASON_SUBMITTER_MISMATCH,
      absl::StrCat(ToAbsl(what), " '", owner, "' is not the submitter '", body.submitter(), "'"));
}

// Every required key signed, and nobody else did.
Check MatchSigners(const std::vector<crypto::PublicKey>& required,
                   const std::vector<crypto::PublicKey>& signers) {
  ITMO_CHECK(!required.empty());
  ITMO_CHECK(signers.size() <= kSignaturesMax);
  for (const crypto::PublicKey& key : required) {
    if (std::find(signers.begin(), signers.end(), key) == signers.end()) {
      return Reject(
          v1::REASON_MISSING_SIGNATURE,
          absl::StrCat("required signer ", crypto::ToHex(key).substr(0, 16), " did not sign"));
    }
  }
  for (const crypto::PublicKey& key : signers) {
    if (std::find(required.begin(), required.end(), key) == required.end()) {
      return Reject(v1::REASON_UNAUTHORIZED_SIGNER,
                    absl::StrCat("signer ", crypto::ToHex(key).substr(0, 16),
                                 " has no right to this action"));
    }
  }
  return std::nullopt;
}

// Whether `key` is the authority key of some Party (scan bounded by kGenesisEntriesMax Parties).
bool IsPartyAuthority(const KvState& kv, const crypto::PublicKey& key) {
  const KvState::Map& m = kv.map(Table::kState);
  const std::string prefix = PartyKey("");
  for (auto it = m.lower_bound(prefix);
       it != m.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    v1::Party party;
    bool parsed = party.ParseFromString(it->second);
    ITMO_CHECK(parsed);
    if (party.authority_key() == crypto::AsStringView(key)) return true;
  }
  return false;
}

}  // namespace

Check BlockExecutor::CheckHostSignatures(const TxState& tx,
                                         const FirstTransfers& first_transfers) const {
  std::optional<crypto::PublicKey> submitter_key = SubmitterKeyOf(*tx.body);
  ITMO_CHECK(submitter_key.has_value());
  std::vector<crypto::PublicKey> hosts;
  for (const auto& [id, demand] : first_transfers.demand) {
    ITMO_CHECK(demand > 0);
    auto party = ReadProto<v1::Party>(*kv_, Table::kState,
                                      PartyKey(first_transfers.authorizations.at(id).party()));
    ITMO_CHECK(party.has_value());
    auto key = crypto::PublicKeyFromBytes(ToStd(party->authority_key()));
    ITMO_CHECK(key.ok());
    if (std::find(tx.signers.begin(), tx.signers.end(), *key) == tx.signers.end()) {
      return Reject(v1::REASON_MISSING_SIGNATURE,
                    absl::StrCat("this first transfer books ", party->code(),
                                 "'s addition: its authority must sign"));
    }
    hosts.push_back(*key);
  }
  for (const crypto::PublicKey& key : tx.signers) {
    if (key == *submitter_key) continue;
    if (std::find(hosts.begin(), hosts.end(), key) == hosts.end()) {
      return Reject(v1::REASON_UNAUTHORIZED_SIGNER,
                    absl::StrCat("signer ", crypto::ToHex(key).substr(0, 16),
                                 " books no first transfer in this transaction"));
    }
  }
  return std::nullopt;
}

Check BlockExecutor::ApproachSigners(const v1::TransactionBody& body,
                                     std::vector<crypto::PublicKey>* required_out) const {
  ITMO_CHECK(body.action_case() == v1::TransactionBody::kRegisterApproach);
  std::vector<crypto::PublicKey>& required = *required_out;
  LEDGER_RETURN_IF_REJECTED(NeedKind(body, v1::SUBMITTER_PARTY));
  const auto& parties = body.register_approach().approach().parties();
  if (static_cast<size_t>(parties.size()) > kApproachPartiesMax) {
    return Reject(v1::REASON_FIELD_TOO_LONG,
                  absl::StrCat(parties.size(), " parties, limit ", kApproachPartiesMax));
  }
  if (std::find(parties.begin(), parties.end(), body.submitter()) == parties.end()) {
    return Reject(v1::REASON_SUBMITTER_MISMATCH,
                  absl::StrCat("submitter '", body.submitter(), "' is not a participating Party"));
  }
  required.clear();
  for (const std::string& code : parties) {
    auto party = ReadProto<v1::Party>(*kv_, Table::kState, PartyKey(code));
    if (!party) {
      return Reject(v1::REASON_UNKNOWN_PARTY, absl::StrCat("unknown Party '", code, "'"));
    }
    auto key = crypto::PublicKeyFromBytes(ToStd(party->authority_key()));
    ITMO_CHECK(key.ok());
    if (std::find(required.begin(), required.end(), *key) == required.end()) {
      required.push_back(*key);
    }
  }
  ITMO_CHECK(!required.empty());
  return std::nullopt;
}

Check BlockExecutor::CheckRoles(const TxState& tx) const {
  const v1::TransactionBody& body = *tx.body;
  std::optional<crypto::PublicKey> submitter_key = SubmitterKeyOf(body);
  ITMO_CHECK(submitter_key.has_value());
  std::vector<crypto::PublicKey> required = {*submitter_key};
  // An OIMP use or a cancellation may be a first transfer, which the host Party's authority
  // co-signs; CheckHostSignatures then checks those signers exactly against the units.
  bool may_cosign_host = false;
  switch (body.action_case()) {
    case v1::TransactionBody::kRegisterApproach:
      LEDGER_RETURN_IF_REJECTED(ApproachSigners(body, &required));
      break;
    case v1::TransactionBody::kOpenAccount:
      LEDGER_RETURN_IF_REJECTED(NeedKind(body, v1::SUBMITTER_REGISTRY));
      LEDGER_RETURN_IF_REJECTED(
          NeedOwner(body, body.open_account().account().ref().registry_id(), "registry"));
      break;
    case v1::TransactionBody::kIssue:
      LEDGER_RETURN_IF_REJECTED(NeedKind(body, v1::SUBMITTER_REGISTRY));
      break;
    case v1::TransactionBody::kAuthorize:
      LEDGER_RETURN_IF_REJECTED(NeedKind(body, v1::SUBMITTER_PARTY));
      LEDGER_RETURN_IF_REJECTED(NeedOwner(body, body.authorize().authorization().party(), "Party"));
      break;
    case v1::TransactionBody::kChangeAuthorization:
      LEDGER_RETURN_IF_REJECTED(NeedKind(body, v1::SUBMITTER_PARTY));
      break;
    case v1::TransactionBody::kTransfer:
      LEDGER_RETURN_IF_REJECTED(NeedKind(body, v1::SUBMITTER_REGISTRY));
      LEDGER_RETURN_IF_REJECTED(NeedOwner(body, body.transfer().from().registry_id(), "registry"));
      break;
    case v1::TransactionBody::kUse:
      if (body.use().purpose() == v1::PURPOSE_NDC) {
        LEDGER_RETURN_IF_REJECTED(NeedKind(body, v1::SUBMITTER_PARTY));
        LEDGER_RETURN_IF_REJECTED(NeedOwner(body, body.use().using_party(), "using Party"));
      } else if (body.use().purpose() == v1::PURPOSE_OIMP) {
        LEDGER_RETURN_IF_REJECTED(NeedKind(body, v1::SUBMITTER_REGISTRY));
        LEDGER_RETURN_IF_REJECTED(NeedOwner(body, body.use().from().registry_id(), "registry"));
        may_cosign_host = true;
      } else {
        return Reject(v1::REASON_INVALID_FIELD, "use purpose must be NDC or OIMP");
      }
      break;
    case v1::TransactionBody::kCancel:
      LEDGER_RETURN_IF_REJECTED(NeedKind(body, v1::SUBMITTER_REGISTRY));
      LEDGER_RETURN_IF_REJECTED(NeedOwner(body, body.cancel().from().registry_id(), "registry"));
      may_cosign_host = true;
      break;
    case v1::TransactionBody::kSetQuarantine:
      LEDGER_RETURN_IF_REJECTED(NeedKind(body, v1::SUBMITTER_SECRETARIAT));
      break;
    default:
      ITMO_CHECK(false && "no action");
  }
  if (may_cosign_host) {
    for (const crypto::PublicKey& key : tx.signers) {
      bool listed = std::find(required.begin(), required.end(), key) != required.end();
      if (!listed && IsPartyAuthority(*kv_, key)) required.push_back(key);
    }
  }
  return MatchSigners(required, tx.signers);
}

}  // namespace itmo::ledger::internal

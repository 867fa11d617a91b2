#include "node/ctl_tx.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "crypto/digest.h"
#include "node/ctl_util.h"

namespace itmo::node::ctl {
namespace {

using google::protobuf::FieldDescriptor;

absl::Status ParseAction(std::string_view json, const std::string& action,
                         v1::TransactionBody* body) {
  const FieldDescriptor* field = v1::TransactionBody::descriptor()->FindFieldByName(action);
  if (field == nullptr || field->containing_oneof() == nullptr) {
    std::string names;
    const google::protobuf::OneofDescriptor* oneof =
        v1::TransactionBody::descriptor()->FindOneofByName("action");
    for (int i = 0; i < oneof->field_count(); ++i) {
      absl::StrAppend(&names, i == 0 ? "" : ", ", oneof->field(i)->name());
    }
    return absl::InvalidArgumentError(
        absl::StrCat("unknown action '", action, "'; one of: ", names));
  }
  google::protobuf::Message* message = body->GetReflection()->MutableMessage(body, field);
  return FromJson(json, message);
}

}  // namespace

absl::StatusOr<v1::TransactionBody> BuildTransactionBody(std::string_view json,
                                                         const TxOptions& options) {
  if (json.size() > kTxJsonBytesMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("transaction JSON has ", json.size(), " bytes; at most ", kTxJsonBytesMax));
  }
  v1::TransactionBody body;
  if (options.action.empty()) {
    ITMO_RETURN_IF_ERROR(FromJson(json, &body));
  } else {
    ITMO_RETURN_IF_ERROR(ParseAction(json, options.action, &body));
  }
  if (body.action_case() == v1::TransactionBody::ACTION_NOT_SET) {
    return absl::InvalidArgumentError(
        "the transaction has no action: give a whole TransactionBody (e.g. "
        "{\"transfer\": {...}}) "
        "or the action's JSON with --action NAME");
  }
  if (!options.chain_id.empty()) body.set_chain_id(options.chain_id);
  if (body.chain_id().empty()) {
    return absl::InvalidArgumentError("no chain id: set chain_id or pass --chain-id/--genesis");
  }
  if (!options.submitter.empty()) body.set_submitter(options.submitter);
  if (options.submitter_kind != v1::SUBMITTER_KIND_UNSPECIFIED) {
    body.set_submitter_kind(options.submitter_kind);
  }
  if (body.submitter().empty()) ITMO_RETURN_IF_ERROR(InferSubmitter(&body));
  if (!options.client_tx_id.empty()) body.set_client_tx_id(options.client_tx_id);
  if (body.client_tx_id().empty()) body.set_client_tx_id(NewClientTxId("ctl"));
  if (body.valid_until_ms() == 0) body.set_valid_until_ms(ValidUntilMs(options.lifetime_ms));
  return body;
}

absl::Status InferSubmitter(v1::TransactionBody* body) {
  ITMO_CHECK(body != nullptr);
  ITMO_CHECK(body->submitter().empty());
  auto registry = [&](const std::string& id) {
    body->set_submitter_kind(v1::SUBMITTER_REGISTRY);
    body->set_submitter(id);
  };
  auto party = [&](const std::string& code) {
    body->set_submitter_kind(v1::SUBMITTER_PARTY);
    body->set_submitter(code);
  };
  switch (body->action_case()) {
    case v1::TransactionBody::kRegisterApproach:
      if (body->register_approach().approach().parties().empty()) break;
      party(body->register_approach().approach().parties(0));
      break;
    case v1::TransactionBody::kOpenAccount:
      registry(body->open_account().account().ref().registry_id());
      break;
    case v1::TransactionBody::kIssue:
      registry(body->issue().to().registry_id());
      break;
    case v1::TransactionBody::kAuthorize:
      party(body->authorize().authorization().party());
      break;
    case v1::TransactionBody::kTransfer:
      registry(body->transfer().from().registry_id());
      break;
    case v1::TransactionBody::kUse:
      if (body->use().purpose() == v1::PURPOSE_NDC) {
        party(body->use().using_party());
      } else {
        registry(body->use().from().registry_id());
      }
      break;
    case v1::TransactionBody::kCancel:
      registry(body->cancel().from().registry_id());
      break;
    case v1::TransactionBody::kSetQuarantine:
      body->set_submitter_kind(v1::SUBMITTER_SECRETARIAT);
      body->set_submitter("SECRETARIAT");
      break;
    default:
      break;
  }
  if (body->submitter().empty()) {
    return absl::InvalidArgumentError(
        "cannot infer the submitter of this action: pass --submitter and "
        "--submitter-kind");
  }
  return absl::OkStatus();
}

v1::SignedTransaction SignTransaction(const v1::TransactionBody& body,
                                      std::span<const crypto::KeyPair> keys) {
  ITMO_CHECK(!keys.empty());
  ITMO_CHECK(keys.size() <= kTxSignaturesMax);
  v1::SignedTransaction tx;
  tx.set_body(body.SerializeAsString());
  for (const crypto::KeyPair& key : keys) {
    crypto::Signature signature = key.Sign(crypto::kContextTransaction, body.chain_id(), tx.body());
    v1::Signature* out = tx.add_signatures();
    out->set_public_key(std::string(crypto::AsStringView(key.public_key())));
    out->set_signature(std::string(crypto::AsStringView(signature)));
  }
  return tx;
}

std::string TransactionIdOf(const v1::SignedTransaction& tx) {
  return std::string(crypto::AsStringView(crypto::Blake2b256(tx.body())));
}

std::string NewClientTxId(std::string_view prefix) {
  thread_local std::mt19937_64 random(std::random_device{}());
  return absl::StrFormat("%s-%d-%08x", ToAbsl(prefix), NowMs(),
                         static_cast<uint32_t>(random() & 0xffffffffu));
}

absl::StatusOr<v1::SubmitterKind> ParseSubmitterKind(std::string_view name) {
  if (name == "registry") return v1::SUBMITTER_REGISTRY;
  if (name == "party") return v1::SUBMITTER_PARTY;
  if (name == "secretariat") return v1::SUBMITTER_SECRETARIAT;
  return absl::InvalidArgumentError(absl::StrCat(
      "submitter kind must be registry, party or secretariat, got '", ToAbsl(name), "'"));
}

std::string ReasonCodeText(int code) {
  if (v1::ReasonCode_IsValid(code)) {
    return absl::StrCat(v1::ReasonCode_Name(static_cast<v1::ReasonCode>(code)), " (", code, ")");
  }
  return absl::StrCat("reason ", code);
}

}  // namespace itmo::node::ctl

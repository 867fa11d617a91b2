// File: node/ctl_tx.h
// Building and signing transactions for itmoctl, itmo-bench, the demo and
// tests: a TransactionBody from protobuf JSON (of a whole body, or of one
// action plus its name), the submitter inferred from the action when not given,
// and signatures over crypto::SigningBytes(kContextTransaction, chain id, exact
// body bytes). Thread-safe: free functions.
//
// Example:
//   ITMO_ASSIGN_OR_RETURN(v1::TransactionBody body,
//       BuildTransactionBody(R"({"from": {...}, "to": {...}, "ranges":
//       [...]})",
//                            {.chain_id = "itmo-localnet", .action =
//                            "transfer"}));
//   v1::SignedTransaction tx = SignTransaction(body, {registry_key});
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/keys.h"
#include "itmo/v1/tx.pb.h"
#include "node/ctl_util.h"

namespace itmo::node::ctl {

inline constexpr size_t kTxSignaturesMax = 16;
inline constexpr size_t kTxJsonBytesMax = 1 << 20;

struct TxOptions {
  std::string chain_id;   // Overrides the body's when not empty; required if the
                          // body has none.
  std::string submitter;  // Overrides the body's; inferred from the action when
                          // both are empty.
  v1::SubmitterKind submitter_kind = v1::SUBMITTER_KIND_UNSPECIFIED;
  std::string client_tx_id;  // Overrides the body's; generated ("ctl-...") when
                             // both are empty.
  std::string action;        // Set when the JSON is one action: "transfer", "issue",
                             // "use", ...
  // valid_until_ms = now + lifetime_ms unless the body sets valid_until_ms.
  int64_t lifetime_ms = kTxLifetimeMsDefault;
};

// Errors: kInvalidArgument naming the JSON problem, an unknown action name, a
// body without an action, a missing chain id, or a submitter that cannot be
// inferred (change_authorization).
absl::StatusOr<v1::TransactionBody> BuildTransactionBody(std::string_view json,
                                                         const TxOptions& options);

// Sets submitter and submitter_kind from the action when the submitter is
// empty: the registry of the moved units for issue, transfer, cancel, OIMP use
// and open_account; the Party for register_approach (the first Party),
// authorize and NDC use; "SECRETARIAT" for set_quarantine.
absl::Status InferSubmitter(v1::TransactionBody* body);

// Serializes `body` once and signs those exact bytes with every key under
// body.chain_id(). REQUIRES: 1 <= keys.size() <= kTxSignaturesMax.
v1::SignedTransaction SignTransaction(const v1::TransactionBody& body,
                                      std::span<const crypto::KeyPair> keys);

// BLAKE2b-256 of tx.body(): the transaction id (32 raw bytes).
std::string TransactionIdOf(const v1::SignedTransaction& tx);

// A fresh, practically unique client transaction id: prefix + "-" + ms + "-" +
// 8 random hex digits.
std::string NewClientTxId(std::string_view prefix);

// "registry", "party" or "secretariat". Errors: kInvalidArgument.
absl::StatusOr<v1::SubmitterKind> ParseSubmitterKind(std::string_view name);

// "REASON_UNITS_TERMINAL (4004)" for 4004.
std::string ReasonCodeText(int code);

}  // namespace itmo::node::ctl

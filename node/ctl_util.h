// File: node/ctl_util.h
// Helpers shared by itmoctl, itmo-bench and their tests: whole-file I/O with
// limits, protobuf JSON in and out, and hex/base64 of ids. Thread-safe: free
// functions without shared state.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message.h"

namespace itmo::node::ctl {

inline constexpr size_t kCtlFileBytesMax = 16 << 20;

// Errors: kNotFound, kInvalidArgument when larger than `bytes_max`, kInternal
// on I/O errors.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path,
                                          size_t bytes_max = kCtlFileBytesMax);
// Writes to `path`.tmp, sets `mode`, then renames: never leaves a half-written
// file.
absl::Status WriteWholeFile(const std::string& path, std::string_view contents, unsigned mode);

// Protobuf JSON with the proto field names, indented when `pretty`.
std::string ToJson(const google::protobuf::Message& message, bool pretty = true);
// Errors: kInvalidArgument with protobuf's description of what did not parse.
absl::Status FromJson(std::string_view json, google::protobuf::Message* message);

// `text` escaped for a JSON string literal (without the quotes).
std::string JsonEscape(std::string_view text);

// Milliseconds since the Unix epoch (wall clock: tools only, never ledger or
// consensus code).
int64_t NowMs();

// Lifetime a client gives a transaction (TransactionBody.valid_until_ms = now + this) unless told
// otherwise; nodes admit at most 10 minutes (Mempool kTxLifetimeMsMax).
inline constexpr int64_t kTxLifetimeMsDefault = 2 * 60 * 1000;
// now + lifetime_ms, the deadline of a new transaction.
uint64_t ValidUntilMs(int64_t lifetime_ms = kTxLifetimeMsDefault);

}  // namespace itmo::node::ctl

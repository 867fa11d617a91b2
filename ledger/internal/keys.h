// File: ledger/internal/keys.h
// Key encodings of the ledger's state and index tables, and canonical protobuf serialization. Ids
// never contain '\0' (validated), so '\0' separates key parts; integers are big-endian so keys sort
// by value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/message_lite.h"

namespace itmo::ledger::internal {

inline void AppendBe64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void AppendBe32(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline std::string Join2(std::string_view prefix, std::string_view a) {
  std::string k(prefix);
  k.append(a);
  return k;
}
inline std::string Join3(std::string_view prefix, std::string_view a, std::string_view b) {
  std::string k(prefix);
  k.append(a);
  k.push_back('\0');
  k.append(b);
  return k;
}

// Meta column family: committed height (big-endian u64) and the serialized LtHash after it.
inline constexpr std::string_view kMetaHeight = "height";
inline constexpr std::string_view kMetaHash = "state_hash";

// State table.
inline constexpr std::string_view kChainIdKey = "m/chain_id";
inline constexpr std::string_view kSecretariatKey = "m/secretariat_key";
inline std::string PartyKey(std::string_view code) { return Join2("p/", code); }
inline std::string RegistryKey(std::string_view id) { return Join2("g/", id); }
inline std::string AccountKey(std::string_view registry, std::string_view account) {
  return Join3("a/", registry, account);
}
inline std::string ApproachKey(std::string_view id) { return Join2("c/", id); }
inline std::string AuthorizationKey(std::string_view id) { return Join2("z/", id); }
// Immutable versions of an authorization (AuthorizationVersion), in version order. In the state
// table, so the state root covers them.
inline std::string AuthorizationVersionPrefix(std::string_view id) {
  std::string k = Join2("y/", id);
  k.push_back('\0');
  return k;
}
inline std::string AuthorizationVersionKey(std::string_view id, uint32_t version) {
  std::string k = AuthorizationVersionPrefix(id);
  AppendBe32(k, version);
  return k;
}
inline std::string UnitPrefix(std::string_view registry) {
  std::string k = Join2("u/", registry);
  k.push_back('\0');
  return k;
}
inline std::string UnitKey(std::string_view registry, uint64_t first) {
  std::string k = UnitPrefix(registry);
  AppendBe64(k, first);
  return k;
}
inline std::string AdjustmentKey(std::string_view party, uint32_t year) {
  std::string k = Join2("j/", party);
  k.push_back('\0');
  AppendBe32(k, year);
  return k;
}

// Index table (derived from the unit blocks): holder -> unit key, authorization -> AUTHORIZED unit
// key.
inline std::string HolderPrefix(std::string_view registry, std::string_view account) {
  std::string k = Join3("h/", registry, account);
  k.push_back('\0');
  return k;
}
inline std::string AuthIndexPrefix(std::string_view authorization_id) {
  std::string k = Join2("v/", authorization_id);
  k.push_back('\0');
  return k;
}

// Index table: authorization -> key of an AUTHORIZED unit block that is quarantined (R10: a
// revocation must not change it).
inline std::string QuarantineIndexPrefix(std::string_view authorization_id) {
  std::string k = Join2("q/", authorization_id);
  k.push_back('\0');
  return k;
}

// Outcomes column family: (submitter, client_tx_id) -> TransactionOutcome.
inline std::string OutcomeKey(std::string_view submitter, std::string_view client_tx_id) {
  std::string k(submitter);
  k.push_back('\0');
  k.append(client_tx_id);
  return k;
}
// History column family: (registry, issued_first) prefix, then (height, index, seq).
inline std::string HistoryPrefix(std::string_view registry, uint64_t issued_first) {
  std::string k(registry);
  k.push_back('\0');
  AppendBe64(k, issued_first);
  return k;
}

// Deterministic serialization (values we produce ourselves; STYLE.md 12).
inline std::string Serialize(const google::protobuf::MessageLite& message) {
  std::string out;
  message.ByteSizeLong();  // Caches the sizes SerializeWithCachedSizes needs.
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeWithCachedSizes(&coded);
  }
  return out;
}

}  // namespace itmo::ledger::internal

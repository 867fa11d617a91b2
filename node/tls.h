// File: node/tls.h
// TLS identities of nodes: a self-signed ECDSA P-256 certificate plus its private key, both PEM.
// Every node's certificate is pinned in genesis; peers authenticate each other with mutual TLS
// against the set of pinned certificates (see node/peer_transport.h). The certificate has CN=<node
// name>, SAN DNS:<node name>, DNS:localhost, IP:127.0.0.1, basicConstraints CA:TRUE (so it can
// serve as its own trust root) and is valid for 10 years.
//
// Thread-safe: the functions share no state.
//
// Example:
//   ITMO_ASSIGN_OR_RETURN(TlsIdentity id, GenerateTlsIdentity("validator-0"));
//   ITMO_RETURN_IF_ERROR(SaveTlsIdentity(id, dir + "/tls.key", dir + "/tls.crt"));
//   ITMO_ASSIGN_OR_RETURN(TlsIdentity loaded, LoadTlsIdentity(dir + "/tls.key", dir + "/tls.crt"));
#pragma once

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace itmo::node {

// Upper bounds on what we read from disk or accept from genesis.
inline constexpr size_t kTlsPemBytesMax = 64 * 1024;
inline constexpr size_t kNodeNameBytesMax = 64;

struct TlsIdentity {
  std::string key_pem;   // PKCS#8 "-----BEGIN PRIVATE KEY-----".
  std::string cert_pem;  // "-----BEGIN CERTIFICATE-----".
};

// Generates a fresh key pair and self-signed certificate for `node_name`.
// Errors: kInvalidArgument if the name is empty, longer than kNodeNameBytesMax or has characters
// other than [A-Za-z0-9._-]; kInternal if OpenSSL fails.
absl::StatusOr<TlsIdentity> GenerateTlsIdentity(const std::string& node_name);

// Writes the key (mode 0600, created or truncated) and the certificate (mode 0644).
// Errors: kInvalidArgument on an empty PEM; kInternal/kPermissionDenied/kNotFound on I/O failure.
absl::Status SaveTlsIdentity(const TlsIdentity& identity, const std::string& key_path,
                             const std::string& cert_path);

// Reads and validates both files: the key must parse as a private key, the certificate as X.509,
// and the key must match the certificate's public key. Errors: kNotFound if a file is missing;
// kPermissionDenied if the key file is group- or world-readable (or writable); kInvalidArgument if
// a file is too large or does not parse or the key does not match the certificate.
absl::StatusOr<TlsIdentity> LoadTlsIdentity(const std::string& key_path,
                                            const std::string& cert_path);

// Returns the common name (CN) of the first certificate in `cert_pem`.
// Errors: kInvalidArgument if it does not parse or has no CN.
absl::StatusOr<std::string> CertificateCommonName(const std::string& cert_pem);

// Returns `cert_pem` re-encoded canonically (the DER of its first certificate, as PEM), so two PEM
// texts of the same certificate compare equal. Errors: kInvalidArgument if it does not parse.
absl::StatusOr<std::string> CanonicalCertificatePem(const std::string& cert_pem);

}  // namespace itmo::node

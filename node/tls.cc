// File: node/tls.cc
#include "node/tls.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status_macros.h"

namespace itmo::node {
namespace {

constexpr long kValiditySeconds = 10L * 366 * 24 * 60 * 60;  // 10 years (leap-day generous).

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct ExtFree {
  void operator()(X509_EXTENSION* e) const { X509_EXTENSION_free(e); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, ExtFree>;

// Drains OpenSSL's thread-local error queue into a message.
std::string OpenSslErrors() {
  std::string out;
  for (int i = 0; i < 16; ++i) {
    const unsigned long e = ERR_get_error();
    if (e == 0) break;
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    absl::StrAppend(&out, out.empty() ? "" : "; ", buf);
  }
  ERR_clear_error();
  return out.empty() ? "unknown OpenSSL error" : out;
}

absl::Status SslError(const char* what) {
  return absl::InternalError(absl::StrCat(what, ": ", OpenSslErrors()));
}

bool ValidNodeName(const std::string& name) {
  if (name.empty() || name.size() > kNodeNameBytesMax) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

absl::StatusOr<std::string> BioToString(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  if (n <= 0 || data == nullptr) return absl::InternalError("empty PEM output");
  return std::string(data, static_cast<size_t>(n));
}

absl::Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
  if (ext == nullptr) return SslError("X509V3_EXT_conf_nid");
  if (X509_add_ext(cert, ext.get(), -1) != 1) return SslError("X509_add_ext");
  return absl::OkStatus();
}

absl::Status FillCertificate(X509* cert, EVP_PKEY* key, const std::string& name) {
  ITMO_CHECK(cert != nullptr);
  ITMO_CHECK(key != nullptr);
  if (X509_set_version(cert, 2) != 1) return SslError("X509_set_version");
  // A random 64-bit positive serial, so regenerated certificates of the same name differ.
  unsigned char serial_bytes[8];
  if (RAND_bytes(serial_bytes, sizeof(serial_bytes)) != 1) return SslError("RAND_bytes");
  serial_bytes[0] &= 0x7f;
  uint64_t serial = 0;
  for (const unsigned char b : serial_bytes) serial = (serial << 8) | b;
  if (ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert), serial) != 1) {
    return SslError("ASN1_INTEGER_set_uint64");
  }
  if (X509_gmtime_adj(X509_getm_notBefore(cert), -60) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert), kValiditySeconds) == nullptr) {
    return SslError("X509_gmtime_adj");
  }
  if (X509_set_pubkey(cert, key) != 1) return SslError("X509_set_pubkey");
  X509_NAME* subject = X509_get_subject_name(cert);
  if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1,
                                 0) != 1) {
    return SslError("X509_NAME_add_entry_by_txt");
  }
  if (X509_set_issuer_name(cert, subject) != 1) return SslError("X509_set_issuer_name");
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  ITMO_RETURN_IF_ERROR(AddExtension(cert, &ctx, NID_basic_constraints, "critical,CA:TRUE"));
  ITMO_RETURN_IF_ERROR(
      AddExtension(cert, &ctx, NID_key_usage, "critical,digitalSignature,keyCertSign"));
  ITMO_RETURN_IF_ERROR(AddExtension(cert, &ctx, NID_ext_key_usage, "serverAuth,clientAuth"));
  ITMO_RETURN_IF_ERROR(AddExtension(cert, &ctx, NID_subject_key_identifier, "hash"));
  ITMO_RETURN_IF_ERROR(AddExtension(cert, &ctx, NID_subject_alt_name,
                                    absl::StrCat("DNS:", name, ",DNS:localhost,IP:127.0.0.1")));
  if (X509_sign(cert, key, EVP_sha256()) <= 0) return SslError("X509_sign");
  return absl::OkStatus();
}

absl::StatusOr<X509Ptr> ParseCertificate(const std::string& cert_pem) {
  if (cert_pem.empty() || cert_pem.size() > kTlsPemBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("certificate PEM size ", cert_pem.size(),
                                                   " not in [1, ", kTlsPemBytesMax, "]"));
  }
  BioPtr bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  if (bio == nullptr) return SslError("BIO_new_mem_buf");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate does not parse: ", OpenSslErrors()));
  }
  return cert;
}

absl::StatusOr<PkeyPtr> ParsePrivateKey(const std::string& key_pem) {
  if (key_pem.empty() || key_pem.size() > kTlsPemBytesMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("key PEM size ", key_pem.size(), " not in [1, ", kTlsPemBytesMax, "]"));
  }
  BioPtr bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  if (bio == nullptr) return SslError("BIO_new_mem_buf");
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("private key does not parse: ", OpenSslErrors()));
  }
  return key;
}

absl::Status ErrnoStatus(int err, const std::string& what) {
  const std::string message = absl::StrCat(what, ": ", std::strerror(err));
  if (err == ENOENT) return absl::NotFoundError(message);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(message);
  return absl::InternalError(message);
}

absl::Status WriteFile(const std::string& path, const std::string& data, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("cannot create ", path));
  // The file may have existed with looser permissions: open() does not change them.
  if (::fchmod(fd, mode) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoStatus(err, absl::StrCat("cannot chmod ", path));
  }
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      return ErrnoStatus(err, absl::StrCat("cannot write ", path));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return ErrnoStatus(errno, absl::StrCat("cannot sync ", path));
  }
  return absl::OkStatus();
}

// Reads a file of at most kTlsPemBytesMax bytes; `private_mode` refuses group/world access bits.
absl::StatusOr<std::string> ReadPemFile(const std::string& path, bool private_mode) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("cannot open ", path));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoStatus(err, absl::StrCat("cannot stat ", path));
  }
  if (private_mode && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    ::close(fd);
    return absl::PermissionDeniedError(
        absl::StrCat("key file ", path, " is accessible by group or others (mode ",
                     absl::Hex(st.st_mode & 0777), "); run chmod 600"));
  }
  if (st.st_size <= 0 || static_cast<uint64_t>(st.st_size) > kTlsPemBytesMax) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat("file ", path, " has size ", st.st_size,
                                                   ", not in [1, ", kTlsPemBytesMax, "]"));
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::read(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  data.resize(done);
  return data;
}

}  // namespace

absl::StatusOr<TlsIdentity> GenerateTlsIdentity(const std::string& node_name) {
  if (!ValidNodeName(node_name)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid node name '", node_name, "': want 1..",
                                                   kNodeNameBytesMax, " of [A-Za-z0-9._-]"));
  }
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (key == nullptr) return SslError("EVP_EC_gen(P-256)");
  X509Ptr cert(X509_new());
  if (cert == nullptr) return SslError("X509_new");
  ITMO_RETURN_IF_ERROR(FillCertificate(cert.get(), key.get(), node_name));

  BioPtr key_bio(BIO_new(BIO_s_mem()));
  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  if (key_bio == nullptr || cert_bio == nullptr) return SslError("BIO_new");
  if (PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
      1) {
    return SslError("PEM_write_bio_PrivateKey");
  }
  if (PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1) return SslError("PEM_write_bio_X509");
  TlsIdentity identity;
  ITMO_ASSIGN_OR_RETURN(identity.key_pem, BioToString(key_bio.get()));
  ITMO_ASSIGN_OR_RETURN(identity.cert_pem, BioToString(cert_bio.get()));
  return identity;
}

absl::Status SaveTlsIdentity(const TlsIdentity& identity, const std::string& key_path,
                             const std::string& cert_path) {
  if (identity.key_pem.empty() || identity.cert_pem.empty()) {
    return absl::InvalidArgumentError("TLS identity has an empty key or certificate");
  }
  ITMO_RETURN_IF_ERROR(WriteFile(key_path, identity.key_pem, 0600));
  return WriteFile(cert_path, identity.cert_pem, 0644);
}

absl::StatusOr<TlsIdentity> LoadTlsIdentity(const std::string& key_path,
                                            const std::string& cert_path) {
  TlsIdentity identity;
  ITMO_ASSIGN_OR_RETURN(identity.key_pem, ReadPemFile(key_path, /*private_mode=*/true));
  ITMO_ASSIGN_OR_RETURN(identity.cert_pem, ReadPemFile(cert_path, /*private_mode=*/false));
  ITMO_ASSIGN_OR_RETURN(PkeyPtr key, ParsePrivateKey(identity.key_pem));
  ITMO_ASSIGN_OR_RETURN(X509Ptr cert, ParseCertificate(identity.cert_pem));
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("key ", key_path, " does not match certificate ", cert_path));
  }
  return identity;
}

absl::StatusOr<std::string> CertificateCommonName(const std::string& cert_pem) {
  ITMO_ASSIGN_OR_RETURN(X509Ptr cert, ParseCertificate(cert_pem));
  char buf[kNodeNameBytesMax + 2];
  const int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, buf,
                                          sizeof(buf));
  if (n <= 0 || static_cast<size_t>(n) > kNodeNameBytesMax) {
    ERR_clear_error();
    return absl::InvalidArgumentError("certificate has no usable common name");
  }
  return std::string(buf, static_cast<size_t>(n));
}

absl::StatusOr<std::string> CanonicalCertificatePem(const std::string& cert_pem) {
  ITMO_ASSIGN_OR_RETURN(X509Ptr cert, ParseCertificate(cert_pem));
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr) return SslError("BIO_new");
  if (PEM_write_bio_X509(bio.get(), cert.get()) != 1) return SslError("PEM_write_bio_X509");
  return BioToString(bio.get());
}

}  // namespace itmo::node

#include "crypto/keys.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/check.h"
#include "base/strings.h"
#include "crypto/digest.h"

namespace itmo::crypto {
namespace {

static_assert(crypto_sign_PUBLICKEYBYTES == kPublicKeyBytes);
static_assert(crypto_sign_SECRETKEYBYTES == 64);
static_assert(crypto_sign_SEEDBYTES == kSeedBytes);
static_assert(crypto_sign_BYTES == kSignatureBytes);

constexpr std::string_view kKeyFileMagic = "itmo-ed25519-v1";
constexpr size_t kKeyFileBytesMax = 4096;

void EnsureSodium() {
  static const bool initialized = [] { return sodium_init() >= 0; }();
  ITMO_CHECK(initialized);
}

void AppendU64(std::string& out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(value >> (8 * i)));
}

absl::StatusOr<std::string> ReadSmallFile(const std::string& path, struct stat* st) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("key file not found: ", path));
    return absl::PermissionDeniedError(
        absl::StrCat("cannot open key file ", path, ": ", std::strerror(errno)));
  }
  if (::fstat(fd, st) != 0) {
    ::close(fd);
    return absl::InternalError(absl::StrCat("cannot stat ", path, ": ", std::strerror(errno)));
  }
  if ((st->st_mode & 077) != 0) {
    ::close(fd);
    return absl::PermissionDeniedError(absl::StrFormat(
        "key file %s has mode %04o: a secret key must not be readable by group or others "
        "(chmod 600 %s)",
        path, st->st_mode & 0777, path));
  }
  std::string data(kKeyFileBytesMax + 1, '\0');
  size_t got = 0;
  while (got < data.size()) {
    const ssize_t n = ::read(fd, data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got > kKeyFileBytesMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("key file ", path, " is larger than ", kKeyFileBytesMax, " bytes"));
  }
  data.resize(got);
  return data;
}

absl::StatusOr<std::string> ParseHexField(const std::string& path, int line_number,
                                          absl::string_view line, absl::string_view name,
                                          size_t bytes) {
  if (!absl::ConsumePrefix(&line, name) || !absl::ConsumePrefix(&line, " ")) {
    return absl::InvalidArgumentError(
        absl::StrCat("key file ", path, " line ", line_number, ": expected '", name, " <hex>'"));
  }
  auto raw = FromHex(ToStd(absl::StripAsciiWhitespace(line)));
  if (!raw.ok() || raw->size() != bytes) {
    return absl::InvalidArgumentError(absl::StrCat("key file ", path, " line ", line_number, ": ",
                                                   name, " must be ", bytes, " bytes of hex"));
  }
  return *std::move(raw);
}

}  // namespace

std::string SigningBytes(std::string_view context, std::string_view chain_id,
                         std::string_view message) {
  std::string out;
  out.reserve(12 + 16 + context.size() + chain_id.size() + message.size());
  out.append("itmo-ledger", 11);
  out.push_back('\0');
  AppendU64(out, context.size());
  out.append(context);
  AppendU64(out, chain_id.size());
  out.append(chain_id);
  out.append(message);
  return out;
}

KeyPair KeyPair::Generate() {
  EnsureSodium();
  KeyPair key;
  const int rc = crypto_sign_keypair(key.public_key_.data(), key.secret_key_.data());
  ITMO_CHECK(rc == 0);
  return key;
}

absl::StatusOr<KeyPair> KeyPair::FromSeed(std::string_view seed) {
  if (seed.size() != kSeedBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("Ed25519 seed must be ", kSeedBytes, " bytes, got ", seed.size()));
  }
  EnsureSodium();
  KeyPair key;
  const int rc = crypto_sign_seed_keypair(key.public_key_.data(), key.secret_key_.data(),
                                          reinterpret_cast<const unsigned char*>(seed.data()));
  ITMO_CHECK(rc == 0);
  return key;
}

KeyPair::KeyPair(const KeyPair& other) = default;
KeyPair& KeyPair::operator=(const KeyPair& other) = default;

KeyPair::~KeyPair() { sodium_memzero(secret_key_.data(), secret_key_.size()); }

Signature KeyPair::Sign(std::string_view context, std::string_view chain_id,
                        std::string_view message) const {
  const std::string bytes = SigningBytes(context, chain_id, message);
  Signature signature;
  const int rc = crypto_sign_detached(signature.data(), nullptr,
                                      reinterpret_cast<const unsigned char*>(bytes.data()),
                                      bytes.size(), secret_key_.data());
  ITMO_CHECK(rc == 0);
  return signature;
}

std::string KeyPair::SecretSeed() const {
  std::string seed(kSeedBytes, '\0');
  crypto_sign_ed25519_sk_to_seed(reinterpret_cast<unsigned char*>(seed.data()), secret_key_.data());
  return seed;
}

bool Verify(const PublicKey& public_key, std::string_view context, std::string_view chain_id,
            std::string_view message, const Signature& signature) {
  EnsureSodium();
  const std::string bytes = SigningBytes(context, chain_id, message);
  return crypto_sign_verify_detached(signature.data(),
                                     reinterpret_cast<const unsigned char*>(bytes.data()),
                                     bytes.size(), public_key.data()) == 0;
}

absl::StatusOr<PublicKey> PublicKeyFromBytes(std::string_view bytes) {
  if (bytes.size() != kPublicKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("public key must be ", kPublicKeyBytes, " bytes, got ", bytes.size()));
  }
  PublicKey key;
  std::memcpy(key.data(), bytes.data(), kPublicKeyBytes);
  return key;
}

absl::StatusOr<Signature> SignatureFromBytes(std::string_view bytes) {
  if (bytes.size() != kSignatureBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("signature must be ", kSignatureBytes, " bytes, got ", bytes.size()));
  }
  Signature signature;
  std::memcpy(signature.data(), bytes.data(), kSignatureBytes);
  return signature;
}

std::string_view AsStringView(const Signature& signature) {
  return std::string_view(reinterpret_cast<const char*>(signature.data()), signature.size());
}

absl::Status SaveKeyPair(const KeyPair& key, const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    return absl::AlreadyExistsError(absl::StrCat("refusing to overwrite key file ", path));
  }
  std::string seed = key.SecretSeed();
  std::string text =
      absl::StrCat(ToAbsl(kKeyFileMagic), "\npublic ", ToHex(AsStringView(key.public_key())),
                   "\nsecret ", ToHex(seed), "\n");
  sodium_memzero(seed.data(), seed.size());
  const std::string tmp = absl::StrCat(path, ".tmp");
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    sodium_memzero(text.data(), text.size());
    return absl::InternalError(absl::StrCat("cannot create ", tmp, ": ", std::strerror(errno)));
  }
  ::fchmod(fd, 0600);  // The umask may not narrow it further than 0600; make sure it is not wider.
  const ssize_t written = ::write(fd, text.data(), text.size());
  sodium_memzero(text.data(), text.size());
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (written != static_cast<ssize_t>(text.size()) || !synced) {
    ::unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat("cannot write key file ", tmp));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return absl::InternalError(
        absl::StrCat("cannot rename ", tmp, " to ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<KeyPair> LoadKeyPair(const std::string& path) {
  struct stat st;
  auto data = ReadSmallFile(path, &st);
  if (!data.ok()) return data.status();
  std::vector<absl::string_view> lines = absl::StrSplit(*data, '\n', absl::SkipEmpty());
  absl::StatusOr<KeyPair> result = absl::InvalidArgumentError(
      absl::StrCat("key file ", path, " line 1: expected '", ToAbsl(kKeyFileMagic), "'"));
  if (lines.size() == 3 && absl::StripAsciiWhitespace(lines[0]) == ToAbsl(kKeyFileMagic)) {
    auto public_raw = ParseHexField(path, 2, lines[1], "public", kPublicKeyBytes);
    auto seed = ParseHexField(path, 3, lines[2], "secret", kSeedBytes);
    if (!public_raw.ok()) {
      result = public_raw.status();
    } else if (!seed.ok()) {
      result = seed.status();
    } else {
      result = KeyPair::FromSeed(*seed);
      sodium_memzero(seed->data(), seed->size());
      if (result.ok() && AsStringView(result->public_key()) != *public_raw) {
        result = absl::InvalidArgumentError(
            absl::StrCat("key file ", path, ": public key does not match the secret key"));
      }
    }
  } else if (lines.size() != 3 && !lines.empty() &&
             absl::StripAsciiWhitespace(lines[0]) == ToAbsl(kKeyFileMagic)) {
    result = absl::InvalidArgumentError(
        absl::StrCat("key file ", path, ": expected 3 lines, got ", lines.size()));
  }
  sodium_memzero(data->data(), data->size());
  return result;
}

absl::StatusOr<PublicKey> LoadPublicKey(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("public key file not found: ", path));
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view view = absl::StripAsciiWhitespace(line);
    if (view == ToAbsl(kKeyFileMagic) || view.empty()) continue;
    // As LoadKeyPair's ParseHexField: whitespace may follow "public " (found by fuzz_key_file).
    if (absl::ConsumePrefix(&view, "public ")) view = absl::StripLeadingAsciiWhitespace(view);
    auto raw = FromHex(ToStd(view));
    if (!raw.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("public key file ", path, ": not hex"));
    }
    return PublicKeyFromBytes(*raw);
  }
  return absl::InvalidArgumentError(absl::StrCat("public key file ", path, " holds no key"));
}

}  // namespace itmo::crypto

// File: tests/fuzz/fuzz_key_file.cc
// Fuzz target: crypto::LoadKeyPair and crypto::LoadPublicKey on arbitrary file contents return a
// Status and never crash. The input is written to a scratch file (mode 0600) in a private
// temporary directory. Properties:
//  - a loaded key pair is consistent: its seed rederives the same public key, it signs and
//    verifies, and LoadPublicKey on the same file reads the same public key;
//  - the same contents with mode 0640 are refused with kPermissionDenied, never parsed.
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/check.h"
#include "crypto/keys.h"

namespace itmo::fuzz {
namespace {

constexpr size_t kInputBytesMax = 8 * 1024;
// crypto/keys.cc reads at most this much and refuses a larger file (kInvalidArgument) before it
// looks at the mode, so the mode property only holds up to this size.
constexpr size_t kKeyFileBytesMax = 4096;

const std::string& ScratchPath() {
  static const std::string* path = [] {
    // TMPDIR if set, else /dev/shm (memory: the target writes a file per input), else /tmp.
    const char* tmp = std::getenv("TMPDIR");
    std::string base = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
    if ((tmp == nullptr || *tmp == '\0') && ::access("/dev/shm", W_OK) == 0) base = "/dev/shm";
    std::string dir_template = base + "/itmo-fuzz-key-XXXXXX";
    ITMO_CHECK(::mkdtemp(dir_template.data()) != nullptr);
    auto* p = new std::string(dir_template + "/key");
    static const std::string dir = dir_template;
    std::atexit([] {
      ::unlink((dir + "/key").c_str());
      ::rmdir(dir.c_str());
    });
    return p;
  }();
  return *path;
}

void WriteScratch(const std::string& path, const uint8_t* data, size_t size, mode_t mode) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  ITMO_CHECK(f != nullptr);
  ITMO_CHECK(size == 0 || std::fwrite(data, 1, size, f) == size);
  ITMO_CHECK(std::fclose(f) == 0);
  ITMO_CHECK(::chmod(path.c_str(), mode) == 0);
}

void CheckLoaded(const crypto::KeyPair& key, const std::string& path) {
  absl::StatusOr<crypto::KeyPair> again = crypto::KeyPair::FromSeed(key.SecretSeed());
  ITMO_CHECK(again.ok());
  ITMO_CHECK(again->public_key() == key.public_key());
  const crypto::Signature sig = key.Sign(crypto::kContextTransaction, "fuzz", "message");
  ITMO_CHECK(crypto::Verify(key.public_key(), crypto::kContextTransaction, "fuzz", "message", sig));
  absl::StatusOr<crypto::PublicKey> public_key = crypto::LoadPublicKey(path);
  ITMO_CHECK(public_key.ok());
  ITMO_CHECK(*public_key == key.public_key());
}

}  // namespace
}  // namespace itmo::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace itmo;        // NOLINT(google-build-using-namespace): a tiny entry point.
  using namespace itmo::fuzz;  // NOLINT(google-build-using-namespace)
  if (size > kInputBytesMax) return 0;
  const std::string& path = ScratchPath();
  WriteScratch(path, data, size, 0600);
  absl::StatusOr<crypto::KeyPair> key = crypto::LoadKeyPair(path);
  if (key.ok()) {
    CheckLoaded(*key, path);
  } else {
    ITMO_CHECK(absl::IsInvalidArgument(key.status()));  // The file exists and is private.
  }
  (void)crypto::LoadPublicKey(path);
  ITMO_CHECK(::chmod(path.c_str(), 0640) == 0);
  const absl::Status shared = crypto::LoadKeyPair(path).status();
  ITMO_CHECK(size > kKeyFileBytesMax ? absl::IsInvalidArgument(shared)
                                     : absl::IsPermissionDenied(shared));
  return 0;
}

#include "crypto/keys.h"

#include <sys/stat.h>

#include <fstream>

#include "crypto/digest.h"
#include "crypto/verifier.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace itmo::crypto {
namespace {

using ::itmo::testing::StatusIs;

TEST(KeysTest, SignVerifyRoundTrip) {
  KeyPair key = KeyPair::Generate();
  Signature sig = key.Sign(kContextTransaction, "chain-a", "hello");
  EXPECT_TRUE(Verify(key.public_key(), kContextTransaction, "chain-a", "hello", sig));
  EXPECT_FALSE(Verify(key.public_key(), kContextTransaction, "chain-a", "hellp", sig));
}

TEST(KeysTest, SignatureIsDomainSeparated) {
  KeyPair key = KeyPair::Generate();
  Signature sig = key.Sign(kContextVote, "chain-a", "m");
  EXPECT_FALSE(Verify(key.public_key(), kContextTimeout, "chain-a", "m", sig));
  EXPECT_FALSE(Verify(key.public_key(), kContextVote, "chain-b", "m", sig));
  // Shifting bytes between chain id and message must not produce the same signing bytes.
  EXPECT_NE(SigningBytes(kContextVote, "ab", "c"), SigningBytes(kContextVote, "a", "bc"));
}

TEST(KeysTest, OtherKeyDoesNotVerify) {
  KeyPair a = KeyPair::Generate();
  KeyPair b = KeyPair::Generate();
  Signature sig = a.Sign(kContextTransaction, "c", "m");
  EXPECT_FALSE(Verify(b.public_key(), kContextTransaction, "c", "m", sig));
}

TEST(KeysTest, FromSeedIsDeterministicAndChecksLength) {
  std::string seed(32, '\x07');
  auto a = KeyPair::FromSeed(seed);
  auto b = KeyPair::FromSeed(seed);
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_EQ(a->public_key(), b->public_key());
  EXPECT_EQ(a->SecretSeed(), seed);
  EXPECT_THAT(KeyPair::FromSeed("short"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(KeysTest, SaveWritesMode0600AndLoadRoundTrips) {
  testing::TempDir dir;
  KeyPair key = KeyPair::Generate();
  const std::string path = dir.File("k.key");
  ASSERT_OK(SaveKeyPair(key, path));
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_OK_AND_ASSIGN(KeyPair loaded, LoadKeyPair(path));
  EXPECT_EQ(loaded.public_key(), key.public_key());
  ASSERT_OK_AND_ASSIGN(PublicKey pub, LoadPublicKey(path));
  EXPECT_EQ(pub, key.public_key());
  EXPECT_THAT(SaveKeyPair(key, path), StatusIs(absl::StatusCode::kAlreadyExists));
}

// Found by fuzz_key_file (tests/fuzz/corpus/key_file/crash-8c1d7fd6c4ac57dc): LoadKeyPair allows
// whitespace between "public" and the hex, LoadPublicKey refused the same file as "not hex".
TEST(KeysTest, LoadPublicKeyReadsEveryFileLoadKeyPairAccepts) {
  testing::TempDir dir;
  KeyPair key = KeyPair::FromSeed(std::string(32, '\x2a')).value();
  const std::string path = dir.File("k.key");
  {
    std::ofstream out(path, std::ios::binary);
    out << "\n\t\fitmo-ed25519-v1\r\npublic \t\f" << ToHex(AsStringView(key.public_key()))
        << "\r\nsecret " << ToHex(key.SecretSeed()) << "\r\n";
  }
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  ASSERT_OK_AND_ASSIGN(KeyPair loaded, LoadKeyPair(path));
  EXPECT_EQ(loaded.public_key(), key.public_key());
  ASSERT_OK_AND_ASSIGN(PublicKey pub, LoadPublicKey(path));
  EXPECT_EQ(pub, key.public_key());
}

TEST(KeysTest, LoadRefusesGroupOrWorldReadableSecret) {
  testing::TempDir dir;
  const std::string path = dir.File("k.key");
  ASSERT_OK(SaveKeyPair(KeyPair::Generate(), path));
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  EXPECT_THAT(LoadKeyPair(path), StatusIs(absl::StatusCode::kPermissionDenied));
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  EXPECT_THAT(LoadKeyPair(path), StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST(KeysTest, LoadRejectsMalformedFiles) {
  testing::TempDir dir;
  auto write = [&](const std::string& name, const std::string& text) {
    const std::string path = dir.File(name);
    std::ofstream(path) << text;
    ::chmod(path.c_str(), 0600);
    return path;
  };
  EXPECT_THAT(LoadKeyPair(dir.File("missing")), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(LoadKeyPair(write("a", "garbage\n")), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(LoadKeyPair(write("b", "itmo-ed25519-v1\npublic zz\nsecret 00\n")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // A public key that does not belong to the secret.
  KeyPair key = KeyPair::Generate();
  KeyPair other = KeyPair::Generate();
  std::string text = "itmo-ed25519-v1\npublic " + ToHex(AsStringView(other.public_key())) +
                     "\nsecret " + ToHex(key.SecretSeed()) + "\n";
  EXPECT_THAT(LoadKeyPair(write("c", text)), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(KeysTest, Ed25519SignerAndVerifierAgree) {
  Ed25519Signer signer(KeyPair::Generate());
  Ed25519Verifier verifier;
  Signature sig = signer.Sign(kContextProposal, "c", "block");
  EXPECT_TRUE(verifier.Verify(signer.public_key(), kContextProposal, "c", "block", sig));
  sig[0] ^= 1;
  EXPECT_FALSE(verifier.Verify(signer.public_key(), kContextProposal, "c", "block", sig));
}

}  // namespace
}  // namespace itmo::crypto

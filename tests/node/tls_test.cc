// Tests for node/tls.h: generated identities have the contracted properties, and loading enforces
// file permissions and key/certificate consistency.
#include "node/tls.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace itmo::node {
namespace {

using ::itmo::testing::IsOk;
using ::itmo::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

std::unique_ptr<X509, X509Free> ParseCert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return std::unique_ptr<X509, X509Free>(cert);
}

std::unique_ptr<EVP_PKEY, PkeyFree> ParseKey(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return std::unique_ptr<EVP_PKEY, PkeyFree>(key);
}

mode_t FileMode(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return 07777;
  return st.st_mode & 0777;
}

TEST(TlsTest, GeneratedCertificateHasContractedProperties) {
  ASSERT_OK_AND_ASSIGN(TlsIdentity id, GenerateTlsIdentity("validator-0"));
  EXPECT_THAT(id.cert_pem, StartsWith("-----BEGIN CERTIFICATE-----"));
  EXPECT_THAT(id.key_pem, StartsWith("-----BEGIN PRIVATE KEY-----"));
  auto cert = ParseCert(id.cert_pem);
  ASSERT_NE(cert, nullptr);
  auto key = ParseKey(id.key_pem);
  ASSERT_NE(key, nullptr);

  // ECDSA P-256 key that matches the certificate, which is self-signed.
  EXPECT_TRUE(EVP_PKEY_is_a(key.get(), "EC"));
  EXPECT_EQ(EVP_PKEY_get_bits(key.get()), 256);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  EXPECT_EQ(X509_verify(cert.get(), key.get()), 1);
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert.get()), X509_get_issuer_name(cert.get())), 0);

  // CN and SANs.
  ASSERT_OK_AND_ASSIGN(std::string cn, CertificateCommonName(id.cert_pem));
  EXPECT_EQ(cn, "validator-0");
  EXPECT_EQ(
      X509_check_host(cert.get(), "validator-0", 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, nullptr),
      1);
  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
  EXPECT_NE(X509_check_host(cert.get(), "validator-1", 0, 0, nullptr), 1);

  // basicConstraints CA:TRUE.
  EXPECT_GT(X509_check_ca(cert.get()), 0);

  // Valid now and for about 10 years.
  int days = 0;
  int seconds = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(cert.get()),
                           X509_get0_notAfter(cert.get())),
            1);
  EXPECT_GE(days, 3650);
  EXPECT_LE(days, 3662);
  EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(cert.get())), 0);
  EXPECT_GT(X509_cmp_current_time(X509_get0_notAfter(cert.get())), 0);
}

TEST(TlsTest, EachGenerationIsFresh) {
  ASSERT_OK_AND_ASSIGN(TlsIdentity a, GenerateTlsIdentity("node-a"));
  ASSERT_OK_AND_ASSIGN(TlsIdentity b, GenerateTlsIdentity("node-a"));
  EXPECT_NE(a.key_pem, b.key_pem);
  EXPECT_NE(a.cert_pem, b.cert_pem);
}

TEST(TlsTest, RejectsInvalidNodeNames) {
  EXPECT_THAT(GenerateTlsIdentity(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(GenerateTlsIdentity("a,DNS:evil"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(GenerateTlsIdentity("with space"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(GenerateTlsIdentity(std::string(kNodeNameBytesMax + 1, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(GenerateTlsIdentity(std::string(kNodeNameBytesMax, 'a')), IsOk());
}

TEST(TlsTest, SaveThenLoadRoundTripsWithPrivateKeyMode) {
  itmo::testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(TlsIdentity id, GenerateTlsIdentity("observer-0"));
  ASSERT_OK(SaveTlsIdentity(id, dir.File("tls.key"), dir.File("tls.crt")));
  EXPECT_EQ(FileMode(dir.File("tls.key")), 0600u);
  EXPECT_EQ(FileMode(dir.File("tls.crt")), 0644u);
  ASSERT_OK_AND_ASSIGN(TlsIdentity loaded,
                       LoadTlsIdentity(dir.File("tls.key"), dir.File("tls.crt")));
  EXPECT_EQ(loaded.key_pem, id.key_pem);
  EXPECT_EQ(loaded.cert_pem, id.cert_pem);
}

TEST(TlsTest, SaveTightensAnExistingLooseKeyFile) {
  itmo::testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(TlsIdentity id, GenerateTlsIdentity("v"));
  ASSERT_OK(SaveTlsIdentity(id, dir.File("k"), dir.File("c")));
  ASSERT_EQ(::chmod(dir.File("k").c_str(), 0644), 0);
  ASSERT_OK(SaveTlsIdentity(id, dir.File("k"), dir.File("c")));
  EXPECT_EQ(FileMode(dir.File("k")), 0600u);
}

TEST(TlsTest, LoadRefusesGroupOrWorldAccessibleKey) {
  itmo::testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(TlsIdentity id, GenerateTlsIdentity("v"));
  ASSERT_OK(SaveTlsIdentity(id, dir.File("k"), dir.File("c")));
  for (const mode_t mode : {0640, 0604, 0620, 0660, 0644}) {
    ASSERT_EQ(::chmod(dir.File("k").c_str(), mode), 0);
    EXPECT_THAT(LoadTlsIdentity(dir.File("k"), dir.File("c")),
                StatusIs(absl::StatusCode::kPermissionDenied))
        << "mode " << std::oct << mode;
  }
  ASSERT_EQ(::chmod(dir.File("k").c_str(), 0400), 0);
  EXPECT_THAT(LoadTlsIdentity(dir.File("k"), dir.File("c")), IsOk());
}

TEST(TlsTest, LoadReportsMissingFiles) {
  itmo::testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(TlsIdentity id, GenerateTlsIdentity("v"));
  ASSERT_OK(SaveTlsIdentity(id, dir.File("k"), dir.File("c")));
  EXPECT_THAT(LoadTlsIdentity(dir.File("missing"), dir.File("c")),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(LoadTlsIdentity(dir.File("k"), dir.File("missing")),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(TlsTest, LoadRejectsMismatchedKeyAndGarbage) {
  itmo::testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(TlsIdentity a, GenerateTlsIdentity("a"));
  ASSERT_OK_AND_ASSIGN(TlsIdentity b, GenerateTlsIdentity("b"));
  ASSERT_OK(SaveTlsIdentity(TlsIdentity{a.key_pem, b.cert_pem}, dir.File("k"), dir.File("c")));
  auto mismatched = LoadTlsIdentity(dir.File("k"), dir.File("c"));
  EXPECT_THAT(mismatched, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(mismatched.status().message(), HasSubstr("does not match"));

  ASSERT_OK(
      SaveTlsIdentity(TlsIdentity{a.key_pem, "not a certificate"}, dir.File("k"), dir.File("c")));
  EXPECT_THAT(LoadTlsIdentity(dir.File("k"), dir.File("c")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK(SaveTlsIdentity(TlsIdentity{"not a key", a.cert_pem}, dir.File("k"), dir.File("c")));
  EXPECT_THAT(LoadTlsIdentity(dir.File("k"), dir.File("c")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SaveTlsIdentity(TlsIdentity{"", a.cert_pem}, dir.File("k"), dir.File("c")),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(TlsTest, CanonicalPemIgnoresSurroundingText) {
  ASSERT_OK_AND_ASSIGN(TlsIdentity id, GenerateTlsIdentity("v"));
  ASSERT_OK_AND_ASSIGN(std::string canonical, CanonicalCertificatePem("comment\n" + id.cert_pem));
  EXPECT_EQ(canonical, id.cert_pem);
  EXPECT_THAT(CanonicalCertificatePem("garbage"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CertificateCommonName("garbage"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace itmo::node

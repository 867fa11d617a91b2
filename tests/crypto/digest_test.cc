#include "crypto/digest.h"

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace itmo::crypto {
namespace {

TEST(DigestTest, Blake2b256KnownAnswer) {
  // BLAKE2b-256 of the empty string (RFC 7693 parameters, 32-byte output).
  EXPECT_EQ(ToHex(AsStringView(Blake2b256(""))),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
}

TEST(DigestTest, HasherMatchesOneShot) {
  Hasher h;
  h.Update("hello ");
  h.Update("world");
  EXPECT_EQ(h.Finish(), Blake2b256("hello world"));
}

TEST(DigestTest, HexRoundTripAndErrors) {
  ASSERT_OK_AND_ASSIGN(std::string raw, FromHex("00ff10"));
  EXPECT_EQ(raw, std::string("\x00\xff\x10", 3));
  EXPECT_EQ(ToHex(raw), "00ff10");
  EXPECT_THAT(FromHex("abc"), testing::StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FromHex("zz"), testing::StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DigestFromBytes("short"), testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(DigestTest, FieldEncodingIsUnambiguous) {
  Hasher a;
  a.UpdateField("ab");
  a.UpdateField("c");
  Hasher b;
  b.UpdateField("a");
  b.UpdateField("bc");
  EXPECT_NE(a.Finish(), b.Finish());
}

}  // namespace
}  // namespace itmo::crypto

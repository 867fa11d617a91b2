#include "crypto/merkle.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace itmo::crypto {
namespace {

std::vector<Digest> Leaves(int n) {
  std::vector<Digest> leaves;
  for (int i = 0; i < n; ++i) leaves.push_back(LeafHash(absl::StrCat("leaf-", i)));
  return leaves;
}

// RFC 6962's recursive definition, as an independent reference.
Digest ReferenceRoot(std::span<const Digest> leaves) {
  if (leaves.empty()) return Blake2b256("");
  if (leaves.size() == 1) return leaves[0];
  size_t k = 1;
  while (k * 2 < leaves.size()) k *= 2;
  return NodeHash(ReferenceRoot(leaves.subspan(0, k)), ReferenceRoot(leaves.subspan(k)));
}

TEST(MerkleTest, EmptyTreeRootIsHashOfEmptyString) {
  EXPECT_EQ(MerkleRoot({}), Blake2b256(""));
  EXPECT_THAT(InclusionProof({}, 0), testing::StatusIs(absl::StatusCode::kOutOfRange));
}

TEST(MerkleTest, OneLeafRootIsTheLeafAndProofIsEmpty) {
  auto leaves = Leaves(1);
  EXPECT_EQ(MerkleRoot(leaves), leaves[0]);
  ASSERT_OK_AND_ASSIGN(auto path, InclusionProof(leaves, 0));
  EXPECT_TRUE(path.empty());
  EXPECT_TRUE(VerifyInclusion(leaves[0], 0, 1, path, leaves[0]));
}

TEST(MerkleTest, LeafAndNodeHashesAreSeparated) {
  Digest a = LeafHash("x");
  Digest b = LeafHash("y");
  std::string concatenated = std::string(AsStringView(a)) + std::string(AsStringView(b));
  EXPECT_NE(LeafHash(concatenated), NodeHash(a, b));
}

TEST(MerkleTest, RootsMatchRfc6962AndEveryProofVerifies) {
  for (int n = 1; n <= 33; ++n) {
    auto leaves = Leaves(n);
    Digest root = MerkleRoot(leaves);
    ASSERT_EQ(root, ReferenceRoot(leaves)) << "n=" << n;
    for (int i = 0; i < n; ++i) {
      ASSERT_OK_AND_ASSIGN(auto path, InclusionProof(leaves, i));
      EXPECT_TRUE(VerifyInclusion(leaves[i], i, n, path, root)) << "n=" << n << " i=" << i;
      // A proof never verifies another leaf or index.
      Digest other = LeafHash("other");
      EXPECT_FALSE(VerifyInclusion(other, i, n, path, root));
      if (n > 1) {
        EXPECT_FALSE(VerifyInclusion(leaves[i], (i + 1) % n, n, path, root));
      }
    }
  }
}

TEST(MerkleTest, TamperedPathFails) {
  auto leaves = Leaves(7);
  Digest root = MerkleRoot(leaves);
  ASSERT_OK_AND_ASSIGN(auto path, InclusionProof(leaves, 5));
  ASSERT_FALSE(path.empty());
  path[0][3] ^= 1;
  EXPECT_FALSE(VerifyInclusion(leaves[5], 5, 7, path, root));
  EXPECT_FALSE(VerifyInclusion(leaves[5], 9, 7, path, root));
}

}  // namespace
}  // namespace itmo::crypto

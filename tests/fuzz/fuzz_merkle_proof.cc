// File: tests/fuzz/fuzz_merkle_proof.cc
// Fuzz target: crypto::VerifyInclusion never accepts a forged leaf. The input picks a tree (size
// 1..512, fixed leaves), a leaf index, and an attack: a fully random (leaf, index, path); a bit
// flip in an honest proof; an honest proof under another index; a truncated, extended or reordered
// path; another leaf's path. The tree size is the trusted one (a block header carries it).
//
// Properties: the honest proof of the chosen leaf always verifies; a claim that verifies must be
// the honest one: index < size, leaf == leaves[index] and path == InclusionProof(leaves, index).
// A claim under a random tree size must not crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "crypto/digest.h"
#include "crypto/merkle.h"
#include "tests/fuzz/fuzz_input.h"

namespace itmo::fuzz {
namespace {

constexpr uint64_t kTreeSizeMax = 512;
constexpr size_t kPathMax = 70;  // Longer than any honest path (64): tests the length checks.

const std::vector<crypto::Digest>& Leaves() {
  static const auto* leaves = [] {
    auto* out = new std::vector<crypto::Digest>();
    for (uint64_t i = 0; i < kTreeSizeMax; ++i) {
      out->push_back(crypto::LeafHash(absl::StrCat("fuzz-leaf-", i)));
    }
    return out;
  }();
  return *leaves;
}

struct Claim {
  crypto::Digest leaf{};
  uint64_t index = 0;
  std::vector<crypto::Digest> path;
};

std::vector<crypto::Digest> ProofOf(std::span<const crypto::Digest> leaves, uint64_t index) {
  absl::StatusOr<std::vector<crypto::Digest>> proof = crypto::InclusionProof(leaves, index);
  ITMO_CHECK(proof.ok());
  return *std::move(proof);
}

Claim MakeClaim(FuzzInput& in, std::span<const crypto::Digest> leaves, uint64_t index,
                const std::vector<crypto::Digest>& honest) {
  Claim claim{leaves[index], index, honest};
  switch (in.Byte() % 6) {
    case 0: {  // Everything random.
      claim.leaf = in.Digest();
      claim.index = in.Byte() < 32 ? in.U64() : in.U16() % (leaves.size() + 2);
      claim.path.clear();
      const size_t length = in.Byte() % (kPathMax + 1);
      for (size_t i = 0; i < length && in.remaining() > 0; ++i) claim.path.push_back(in.Digest());
      break;
    }
    case 1: {  // Flip one bit of the leaf or of a path entry.
      const size_t entry = in.Byte() % (claim.path.size() + 1);
      crypto::Digest& d = entry == 0 ? claim.leaf : claim.path[entry - 1];
      d[in.Byte() % crypto::kDigestBytes] ^= static_cast<uint8_t>(1u << (in.Byte() % 8));
      break;
    }
    case 2:  // The honest proof under another index.
      claim.index = in.U16() % (leaves.size() + 2);
      break;
    case 3: {  // Truncate, extend or swap the path.
      const uint8_t op = in.Byte() % 3;
      if (op == 0 && !claim.path.empty()) {
        claim.path.resize(in.Byte() % claim.path.size());
      } else if (op == 1) {
        claim.path.insert(claim.path.begin() + in.Byte() % (claim.path.size() + 1), in.Digest());
      } else if (claim.path.size() >= 2) {
        std::swap(claim.path[in.Byte() % claim.path.size()],
                  claim.path[in.Byte() % claim.path.size()]);
      }
      break;
    }
    case 4: {  // Another leaf's honest path for this leaf, or this path for another leaf.
      const uint64_t other = in.U16() % leaves.size();
      if (in.Byte() % 2 == 0) {
        claim.path = ProofOf(leaves, other);
      } else {
        claim.leaf = leaves[other];
      }
      break;
    }
    default:  // An interior node presented as a leaf, at a random index.
      if (!claim.path.empty()) {
        claim.leaf = crypto::NodeHash(claim.leaf, claim.path[0]);
        claim.path.erase(claim.path.begin());
      }
      claim.index = in.U16() % leaves.size();
      break;
  }
  return claim;
}

}  // namespace
}  // namespace itmo::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace itmo;        // NOLINT(google-build-using-namespace): a tiny entry point.
  using namespace itmo::fuzz;  // NOLINT(google-build-using-namespace)
  FuzzInput in(data, size);
  const uint64_t tree_size = 1 + in.U16() % kTreeSizeMax;
  const std::span<const crypto::Digest> leaves(Leaves().data(), tree_size);
  const crypto::Digest root = crypto::MerkleRoot(leaves);
  const uint64_t index = in.U16() % tree_size;
  const std::vector<crypto::Digest> honest = ProofOf(leaves, index);
  ITMO_CHECK(crypto::VerifyInclusion(leaves[index], index, tree_size, honest, root));

  const Claim claim = MakeClaim(in, leaves, index, honest);
  if (crypto::VerifyInclusion(claim.leaf, claim.index, tree_size, claim.path, root)) {
    ITMO_CHECK(claim.index < tree_size);
    ITMO_CHECK(claim.leaf == leaves[claim.index]);
    ITMO_CHECK(claim.path == ProofOf(leaves, claim.index));
  }
  // Under an untrusted tree size there is no oracle, only robustness.
  (void)crypto::VerifyInclusion(claim.leaf, claim.index, in.U64(), claim.path, root);
  return 0;
}

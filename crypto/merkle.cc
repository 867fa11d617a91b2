#include "crypto/merkle.h"

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace itmo::crypto {
namespace {

// Replaces one tree level by the next: neighbours paired, an odd last node carried up unchanged.
void LevelUp(std::vector<Digest>& level) {
  ITMO_CHECK(level.size() > 1);
  const size_t pairs = level.size() / 2;
  for (size_t i = 0; i < pairs; ++i) level[i] = NodeHash(level[2 * i], level[2 * i + 1]);
  if (level.size() % 2 == 1) level[pairs] = level.back();
  level.resize(pairs + level.size() % 2);
  ITMO_CHECK(!level.empty());
}

}  // namespace

Digest LeafHash(std::string_view data) {
  Hasher hasher;
  const uint8_t prefix = 0x00;
  hasher.Update(std::span<const uint8_t>(&prefix, 1));
  hasher.Update(data);
  return hasher.Finish();
}

Digest NodeHash(const Digest& left, const Digest& right) {
  Hasher hasher;
  const uint8_t prefix = 0x01;
  hasher.Update(std::span<const uint8_t>(&prefix, 1));
  hasher.Update(left);
  hasher.Update(right);
  return hasher.Finish();
}

// Level by level: pair neighbours, carry an odd last node up unchanged. This yields exactly RFC
// 6962's MTH (split at the largest power of two below n) without recursion.
Digest MerkleRoot(std::span<const Digest> leaf_hashes) {
  if (leaf_hashes.empty()) return Blake2b256("");
  std::vector<Digest> level(leaf_hashes.begin(), leaf_hashes.end());
  while (level.size() > 1) {
    LevelUp(level);
  }
  ITMO_CHECK(level.size() == 1);
  return level[0];
}

absl::StatusOr<std::vector<Digest>> InclusionProof(std::span<const Digest> leaf_hashes,
                                                   uint64_t index) {
  if (index >= leaf_hashes.size()) {
    return absl::OutOfRangeError(
        absl::StrCat("leaf index ", index, " >= tree size ", leaf_hashes.size()));
  }
  std::vector<Digest> path;
  std::vector<Digest> level(leaf_hashes.begin(), leaf_hashes.end());
  uint64_t position = index;
  while (level.size() > 1) {
    const uint64_t sibling = position ^ 1;
    if (sibling < level.size()) path.push_back(level[sibling]);
    LevelUp(level);
    position /= 2;
  }
  ITMO_CHECK(position == 0);
  ITMO_CHECK(path.size() <= 64);
  return path;
}

// RFC 9162 section 2.1.3.2.
bool VerifyInclusion(const Digest& leaf_hash, uint64_t index, uint64_t tree_size,
                     std::span<const Digest> path, const Digest& root) {
  if (index >= tree_size) return false;
  uint64_t fn = index;
  uint64_t sn = tree_size - 1;
  Digest r = leaf_hash;
  for (const Digest& p : path) {
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      r = NodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

}  // namespace itmo::crypto

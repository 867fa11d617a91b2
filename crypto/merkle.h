// File: crypto/merkle.h
// Merkle trees as in RFC 6962 / RFC 9162: leaf hash H(0x00 | data), node hash H(0x01 | left | right),
// the empty tree's root H(""). Inclusion proofs and their verification. Iterative (no recursion).
// Thread-safe: free functions.
//
// Example:
//   std::vector<Digest> leaves = {LeafHash(tx0), LeafHash(tx1), LeafHash(tx2)};
//   Digest root = MerkleRoot(leaves);
//   ITMO_ASSIGN_OR_RETURN(std::vector<Digest> path, InclusionProof(leaves, 2));
//   bool ok = VerifyInclusion(leaves[2], 2, leaves.size(), path, root);
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/digest.h"

namespace itmo::crypto {

Digest LeafHash(std::string_view data);
Digest NodeHash(const Digest& left, const Digest& right);
Digest MerkleRoot(std::span<const Digest> leaf_hashes);
// The audit path of leaf `index`, bottom-up. Errors: kOutOfRange if index >= leaf_hashes.size().
absl::StatusOr<std::vector<Digest>> InclusionProof(std::span<const Digest> leaf_hashes,
                                                   uint64_t index);
bool VerifyInclusion(const Digest& leaf_hash, uint64_t index, uint64_t tree_size,
                     std::span<const Digest> path, const Digest& root);

}  // namespace itmo::crypto
